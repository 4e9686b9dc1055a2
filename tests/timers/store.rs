//! Documents (compare-and-swap), pointers, indexes, idempotency keys, and what callers see when
//! Redis is unreachable. Part of the `timers` test binary (shares its `Space` helper).

use super::{at, Space, T0};
use pgroles::config::RedisConfig;
use pgroles::timers::{self, keys, DocStore, Idempotency, TimerError, TimerQueue};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Doc {
    state: String,
    approvers: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cas_on_one_document_has_exactly_one_winner() {
    let space = Space::new("tcas");
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(DocStore::new(space.conn().await, &space.prefix));
    }
    let key = keys::request("r1");
    let ttl = Duration::from_secs(60);
    let doc = Doc { state: "pending".into(), approvers: vec![] };
    assert!(stores[0].put_new(&key, &doc, ttl).await.unwrap());
    let (read, version) = stores[0].get::<Doc>(&key).await.unwrap().unwrap();
    assert_eq!((read, version), (doc, 1));

    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = stores[i % 4].clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let doc = Doc { state: "approved".into(), approvers: vec![format!("U{i}")] };
            store.cas(&key, 1, &doc, ttl).await.unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
    let (doc, version) = stores[0].get::<Doc>(&key).await.unwrap().unwrap();
    assert_eq!((doc.state.as_str(), doc.approvers.len(), version), ("approved", 1, 2));
}

#[tokio::test]
async fn documents_are_created_once_swapped_by_version_and_deleted_by_version() {
    let space = Space::new("tdoc");
    let store = DocStore::new(space.conn().await, &space.prefix);
    let key = keys::grant("rw");
    let ttl = Duration::from_secs(60);
    let doc = Doc { state: "active".into(), approvers: vec!["U1".into()] };
    assert!(store.put_new(&key, &doc, ttl).await.unwrap());
    assert!(!store.put_new(&key, &doc, ttl).await.unwrap(), "second create accepted");
    assert!(!store.cas(&key, 2, &doc, ttl).await.unwrap(), "future version accepted");
    assert!(store.cas(&key, 1, &doc, ttl).await.unwrap());
    assert!(!store.delete_if(&key, 1).await.unwrap(), "stale delete accepted");
    assert!(store.delete_if(&key, 2).await.unwrap());
    assert!(store.get::<Doc>(&key).await.unwrap().is_none());
    assert!(!store.cas(&key, 2, &doc, ttl).await.unwrap(), "cas on a missing document");
}

#[tokio::test]
async fn a_document_that_is_not_versioned_json_is_reported_as_bad_data() {
    let space = Space::new("tbad");
    let conn = space.conn().await;
    let store = DocStore::new(conn.clone(), &space.prefix);
    let full = format!("{}{}", space.prefix, keys::request("r9"));
    let _: () = redis::cmd("SET")
        .arg(&full)
        .arg("not a document")
        .query_async(&mut conn.clone())
        .await
        .unwrap();
    let err = store.get::<Doc>(&keys::request("r9")).await.unwrap_err();
    assert!(matches!(err, TimerError::BadData { .. }), "{err:?}");
    let err = store
        .cas(
            &keys::request("r9"),
            1,
            &Doc { state: "x".into(), approvers: vec![] },
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TimerError::BadData { .. }), "{err:?}");
}

#[tokio::test]
async fn pointers_and_indexes_map_messages_to_open_requests() {
    let space = Space::new("tidx");
    let store = DocStore::new(space.conn().await, &space.prefix);
    let ptr = keys::request_by_message("C1", "1700000000.000100");
    assert!(store.put_pointer(&ptr, "r1", Duration::from_secs(60)).await.unwrap());
    assert!(!store.put_pointer(&ptr, "r2", Duration::from_secs(60)).await.unwrap());
    assert_eq!(store.get_pointer(&ptr).await.unwrap().as_deref(), Some("r1"));

    store.index_add(keys::ACTIVE_REQUESTS, "old", at(T0)).await.unwrap();
    store.index_add(keys::ACTIVE_REQUESTS, "open", at(T0 + 900_000)).await.unwrap();
    let members = store.index_members(keys::ACTIVE_REQUESTS, at(T0 + 1)).await.unwrap();
    assert_eq!(members, ["open"]);
    assert!(store.index_remove(keys::ACTIVE_REQUESTS, "open").await.unwrap());
    assert!(store.index_members(keys::ACTIVE_REQUESTS, at(T0)).await.unwrap().is_empty());
}

#[tokio::test]
async fn claim_once_is_true_for_the_first_caller_only() {
    let space = Space::new("tidem");
    let replica_a = Idempotency::new(space.conn().await, &space.prefix);
    let replica_b = Idempotency::new(space.conn().await, &space.prefix);
    let key = keys::slack_event("Ev0123");
    let ttl = Duration::from_secs(600);
    assert!(replica_a.claim_once(&key, ttl).await.unwrap());
    assert!(!replica_b.claim_once(&key, ttl).await.unwrap());
    assert!(!replica_a.claim_once(&key, ttl).await.unwrap());
    // Released after a failure before any effect: Slack's retry is handled again.
    assert!(replica_a.release(&key).await.unwrap());
    assert!(replica_b.claim_once(&key, ttl).await.unwrap());
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_unavailable_error() {
    let cfg = RedisConfig { url: "redis://127.0.0.1:1".into(), ..RedisConfig::default() };
    let started = Instant::now();
    let err = timers::connect(&cfg).await.expect_err("connected to a closed port");
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().starts_with("Redis is unavailable"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_redis_that_dies_after_connecting_gives_unavailable_not_a_hang() {
    let mut own = crate::support::redis::OwnRedis::spawn();
    let cfg = RedisConfig { url: own.url(), key_prefix: "t:".into(), ..RedisConfig::default() };
    let q = TimerQueue::new(timers::connect(&cfg).await.unwrap(), "t:");
    q.schedule(&super::expire_timer("x", T0, "r")).await.unwrap();
    own.stop();

    let started = Instant::now();
    let err = q.claim(T0, 1_000, 10).await.expect_err("claimed from a dead Redis");
    assert!(err.is_unavailable(), "{err:?}");
    let err = timers::connect(&cfg).await.expect_err("reconnected to a dead Redis");
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
}
