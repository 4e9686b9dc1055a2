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
use pgroles::timers::{DocStore, Idempotency};
use pgroles::workflow::store::RequestStore;
use std::time::Duration;

const WINDOW: Duration = Duration::from_secs(120);

fn request(id: &str) -> Request {
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

async fn store(space: &Space) -> RequestStore {
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
