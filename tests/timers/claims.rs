//! The per-level "one pending request" claim of [`RequestStore`]: only its holder may release
//! it. The interleaving is driven step by step (no sleeps): request A is approved and releases
//! its claim, request B claims the level, then A's issuing ends and closes A.

use super::Space;
use pgroles::access::{
    ApprovalPolicy, GrantDuration, IncidentId, IncidentPattern, NewRequest, Request, RequestId,
    SlackUserId,
};
use pgroles::config::AccessConfig;
use pgroles::model::Level;
use pgroles::timers::RequestStore;
use pgroles::timers::{DocStore, Idempotency, TimerError};
use std::time::Duration;

const WINDOW: Duration = Duration::from_secs(120);

pub(crate) fn request(id: &str) -> Request {
    let cfg = AccessConfig { approvers: vec!["U0APP00001".into()], ..AccessConfig::default() };
    let policy = ApprovalPolicy::from_config(&cfg, &[]).expect("policy");
    let pattern = IncidentPattern::new("INC-[0-9]+", "INC-1").expect("pattern");
    let new = NewRequest {
        id: RequestId::parse(id).expect("id"),
        level: Level::Ro,
        incident: IncidentId::parse("INC-1", &pattern).expect("incident"),
        requester: SlackUserId::parse("U0REQ00001").expect("user"),
        duration: GrantDuration::from_secs(600, Duration::from_secs(3600)).expect("duration"),
    };
    Request::open(new, &policy, chrono::Utc::now())
}

pub(crate) async fn store(space: &Space) -> RequestStore {
    let conn = space.conn().await;
    let docs = DocStore::new(conn.clone(), &space.prefix);
    RequestStore::new(docs, Idempotency::new(conn, &space.prefix), WINDOW)
}

#[tokio::test]
async fn closing_an_old_request_does_not_free_a_newer_requests_claim() {
    let space = Space::new("claimfence");
    let store = store(&space).await;
    let (a, b) = (request("req-a"), request("req-b"));
    assert!(store.claim_level(&a, WINDOW).await.unwrap(), "A claims ro");
    // A is approved: its claim is given back at once.
    store.release_level(&a).await.unwrap();
    assert!(store.claim_level(&b, WINDOW).await.unwrap(), "B claims the free level");
    // A's issuing ends (or its deadline settles it): A is closed.
    store.close(&a).await.unwrap();
    let c = request("req-c");
    assert!(!store.claim_level(&c, WINDOW).await.unwrap(), "B still holds ro: C must be refused");
    // B's own close frees it.
    store.close(&b).await.unwrap();
    assert!(store.claim_level(&c, WINDOW).await.unwrap(), "free after B closed");
}

#[tokio::test]
async fn a_compare_and_swap_that_keeps_losing_is_a_conflict_not_bad_data() {
    let space = Space::new("casloss");
    let store = store(&space).await;
    let req = request("req-d");
    assert!(store.create(&req).await.unwrap());
    let key = format!("{}{}", space.prefix, pgroles::timers::keys::request("req-d"));
    let other = redis::Client::open(space.url.as_str()).unwrap().get_connection().unwrap();
    let other = std::sync::Mutex::new(other);
    // Between every read and swap, "another replica" writes a new version: every swap loses.
    let outcome = store
        .update(&key_of(&req), |current| {
            let mut other = other.lock().unwrap();
            let other = &mut *other;
            let raw: String = redis::cmd("GET").arg(&key).query(other).unwrap();
            let (version, json) = raw.split_once(':').unwrap();
            let next = format!("{}:{json}", version.parse::<u64>().unwrap() + 1);
            let _: () = redis::cmd("SET").arg(&key).arg(next).arg("KEEPTTL").query(other).unwrap();
            Ok::<_, pgroles::access::Rejection>(
                current.on_timeout(chrono::Utc::now() + chrono::TimeDelta::hours(1)),
            )
        })
        .await;
    let err = outcome.expect_err("every swap lost");
    assert!(matches!(err, TimerError::Contended { .. }), "{err:?}");
    let as_grant = pgroles::grants::GrantError::from(err);
    assert!(matches!(as_grant, pgroles::grants::GrantError::Conflict), "{as_grant:?}");
    assert!(!as_grant.user_message().contains("went wrong"));
}

fn key_of(req: &Request) -> String {
    req.id().as_str().to_owned()
}

#[tokio::test]
async fn a_claim_whose_release_was_lost_is_freed_but_a_live_one_is_not() {
    let space = Space::new("orphan");
    let store = store(&space).await;
    let a = request("req-e");
    assert!(store.create(&a).await.unwrap());
    assert!(store.claim_level(&a, WINDOW).await.unwrap());
    // A is pending: its claim is live.
    assert!(!store.free_orphaned_claim(&a).await.unwrap());
    // A times out, but the release of its claim is lost (the Redis blip is this missing call).
    let later = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    store
        .update(&key_of(&a), |r| Ok::<_, pgroles::access::Rejection>(r.on_timeout(later)))
        .await
        .unwrap();
    let b = request("req-f");
    assert!(!store.claim_level(&b, WINDOW).await.unwrap(), "still blocked by the orphan");
    assert!(store.free_orphaned_claim(&b).await.unwrap(), "A is no longer pending");
    assert!(store.claim_level(&b, WINDOW).await.unwrap(), "B gets the level");
}
