//! The Redis timer queue, document store and idempotency keys against a real Redis
//! (`PGROLES_TEST_REDIS`, default 127.0.0.1:6379). Each test uses its own key prefix and deletes
//! its keys when it ends; nothing is flushed. Queue and worker tests are here; documents,
//! idempotency and Redis outages in `timers/store.rs`; the Slack outbox in `timers/outbox.rs`.

mod claims;
mod commit;
mod outbox;
mod store;
#[path = "../support/mod.rs"]
mod support;

use chrono::{DateTime, TimeZone, Utc};
use pgroles::config::RedisConfig;
use pgroles::timers::{
    self, keys, run_worker, Timer, TimerKey, TimerKind, TimerPayload, TimerQueue, WorkerConfig,
};
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A fixed instant, so due times and leases are exact.
const T0: i64 = 1_700_000_000_000;

/// A Redis key prefix for one test; its keys are deleted on drop, also when the test fails.
struct Space {
    url: String,
    prefix: String,
}

impl Space {
    fn new(tag: &str) -> Space {
        Space { url: support::redis::url(), prefix: support::redis::prefix(tag) }
    }

    fn config(&self) -> RedisConfig {
        RedisConfig {
            url: self.url.clone(),
            key_prefix: self.prefix.clone(),
            ..RedisConfig::default()
        }
    }

    async fn conn(&self) -> ConnectionManager {
        timers::connect(&self.config()).await.expect("connect to the test Redis")
    }

    async fn queue(&self) -> TimerQueue {
        TimerQueue::new(self.conn().await, &self.prefix)
    }
}

impl Drop for Space {
    fn drop(&mut self) {
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().expect("valid instant")
}

fn expire_timer(id: &str, due_ms: i64, role: &str) -> Timer {
    let payload = TimerPayload {
        role: Some(role.into()),
        level: Some("ro".into()),
        grant_id: Some(format!("g-{id}")),
        incident: Some("INC-42".into()),
        ..TimerPayload::default()
    };
    Timer::new(id, TimerKind::Expire, at(due_ms), payload)
}

fn ids(claimed: &[timers::Claimed]) -> Vec<&str> {
    claimed.iter().map(|c| c.timer.id.as_str()).collect()
}

#[tokio::test]
async fn claim_returns_only_due_timers_in_due_order() {
    let space = Space::new("tdue");
    let q = space.queue().await;
    q.schedule(&expire_timer("late", T0 + 5_000, "r")).await.unwrap();
    q.schedule(&expire_timer("second", T0 - 1_000, "r")).await.unwrap();
    q.schedule(&expire_timer("first", T0 - 2_000, "r")).await.unwrap();
    q.schedule(&expire_timer("now", T0, "r")).await.unwrap();

    let claimed = q.claim(T0, 30_000, 10).await.unwrap();
    assert_eq!(ids(&claimed), ["first", "second", "now"]);
    assert!(claimed.iter().all(|c| c.attempt() == 1));
    assert_eq!(claimed[0].timer, expire_timer("first", T0 - 2_000, "r"));
    assert!(q.claim(T0 + 4_999, 30_000, 10).await.unwrap().is_empty());
    assert_eq!(ids(&q.claim(T0 + 5_000, 30_000, 10).await.unwrap()), ["late"]);
}

#[tokio::test]
async fn a_claim_by_kind_leaves_other_kinds_for_a_worker_that_handles_them() {
    let space = Space::new("tkind");
    let q = space.queue().await;
    // An approval timeout falls due first, then an expiry.
    let approval =
        Timer::new("approval", TimerKind::ApprovalTimeout, at(T0 - 2_000), TimerPayload::default());
    q.schedule(&approval).await.unwrap();
    q.schedule(&expire_timer("expire", T0 - 1_000, "r")).await.unwrap();

    let grants_only = [TimerKind::Expire, TimerKind::Reminder];
    let claimed = q.claim_kinds(T0, 30_000, 1, Some(&grants_only)).await.unwrap();
    assert_eq!(ids(&claimed), ["expire"], "the approval timeout is not taken");
    assert!(q.claim_kinds(T0, 30_000, 10, Some(&grants_only)).await.unwrap().is_empty());
    // A worker for every kind still gets it, at once.
    assert_eq!(ids(&q.claim(T0, 30_000, 10).await.unwrap()), ["approval"]);
}

#[tokio::test]
async fn claim_hands_out_at_most_max_timers_per_call() {
    let space = Space::new("tmax");
    let q = space.queue().await;
    let timers: Vec<Timer> = (0..5).map(|i| expire_timer(&format!("t{i}"), T0 + i, "r")).collect();
    q.schedule_many(&timers).await.unwrap();
    assert_eq!(ids(&q.claim(T0 + 10, 1_000, 2).await.unwrap()), ["t0", "t1"]);
    assert_eq!(ids(&q.claim(T0 + 10, 1_000, 2).await.unwrap()), ["t2", "t3"]);
    assert_eq!(ids(&q.claim(T0 + 10, 1_000, 2).await.unwrap()), ["t4"]);
}

#[tokio::test]
async fn rescheduling_an_id_moves_its_due_time_without_duplicating_it() {
    let space = Space::new("tresched");
    let q = space.queue().await;
    q.schedule(&expire_timer("x", T0, "r")).await.unwrap();
    q.schedule(&expire_timer("x", T0 + 60_000, "r")).await.unwrap();

    assert!(q.claim(T0, 1_000, 10).await.unwrap().is_empty(), "old due time still fires");
    let pending = q.pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].due_at, at(T0 + 60_000));
    assert_eq!(ids(&q.claim(T0 + 60_000, 1_000, 10).await.unwrap()), ["x"]);
}

#[tokio::test]
async fn rescheduling_a_claimed_timer_voids_the_claim() {
    let space = Space::new("tvoid");
    let q = space.queue().await;
    q.schedule(&expire_timer("x", T0, "r")).await.unwrap();
    let claimed = q.claim(T0, 60_000, 10).await.unwrap();
    q.schedule(&expire_timer("x", T0 + 1_000, "r")).await.unwrap();

    assert!(!q.ack(&claimed[0]).await.unwrap(), "ack of a voided claim accepted");
    assert_eq!(ids(&q.claim(T0 + 1_000, 60_000, 10).await.unwrap()), ["x"]);
}

#[tokio::test]
async fn a_killed_worker_s_timer_is_reclaimed_after_its_lease_and_its_late_ack_is_rejected() {
    let space = Space::new("tkill");
    let worker_a = space.queue().await;
    let worker_b = space.queue().await;
    worker_a.schedule(&expire_timer("grant-1", T0, "ff_ro")).await.unwrap();

    // Worker A claims, then "dies" before acking.
    let a = worker_a.claim(T0, 1_000, 10).await.unwrap();
    assert_eq!(ids(&a), ["grant-1"]);
    // While A's lease runs, nobody else gets the timer.
    assert!(worker_b.claim(T0 + 999, 1_000, 10).await.unwrap().is_empty());
    // After the lease, worker B re-claims it with a new token.
    let b = worker_b.claim(T0 + 1_000, 1_000, 10).await.unwrap();
    assert_eq!(ids(&b), ["grant-1"]);
    assert_eq!(b[0].attempt(), 2);
    assert_ne!(a[0].token(), b[0].token());

    // A comes back and acks late: rejected, the timer stays B's.
    assert!(!worker_a.ack(&a[0]).await.unwrap());
    assert_eq!(worker_a.pending().await.unwrap().len(), 1);
    assert!(!worker_a.extend(&a[0], T0 + 1_500, 1_000).await.unwrap());
    assert!(worker_b.ack(&b[0]).await.unwrap());
    assert!(worker_b.pending().await.unwrap().is_empty());
    assert!(!worker_b.ack(&b[0]).await.unwrap(), "second ack accepted");
}

#[tokio::test]
async fn extending_a_lease_keeps_the_timer_from_being_reclaimed() {
    let space = Space::new("text");
    let q = space.queue().await;
    q.schedule(&expire_timer("x", T0, "r")).await.unwrap();
    let c = q.claim(T0, 1_000, 10).await.unwrap();
    assert!(q.extend(&c[0], T0 + 900, 5_000).await.unwrap());
    assert!(q.claim(T0 + 2_000, 1_000, 10).await.unwrap().is_empty());
    assert_eq!(ids(&q.claim(T0 + 5_900, 1_000, 10).await.unwrap()), ["x"]);
}

#[tokio::test]
async fn cancel_removes_a_timer_wherever_it_is() {
    let space = Space::new("tcancel");
    let q = space.queue().await;
    q.schedule(&expire_timer("waiting", T0, "r")).await.unwrap();
    q.schedule(&expire_timer("claimed", T0, "r")).await.unwrap();
    let c = q.claim(T0, 1_000, 1).await.unwrap();
    assert_eq!(ids(&c), ["claimed"]);

    assert!(q.cancel("waiting").await.unwrap());
    assert!(q.cancel("claimed").await.unwrap());
    assert!(!q.cancel("never").await.unwrap());
    assert!(!q.ack(&c[0]).await.unwrap());
    assert!(q.claim(T0 + 10_000, 1_000, 10).await.unwrap().is_empty());
    assert_eq!(q.counts().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn a_timer_without_a_body_is_dropped_and_an_unreadable_one_is_kept_for_retry() {
    let space = Space::new("tbody");
    let q = space.queue().await;
    q.schedule(&expire_timer("gone", T0, "r")).await.unwrap();
    q.schedule(&expire_timer("garbled", T0, "r")).await.unwrap();
    let body_key = format!("{}{}", space.prefix, keys::TIMERS_BODY);
    let mut conn = space.conn().await;
    let _: i64 =
        redis::cmd("HDEL").arg(&body_key).arg("gone").query_async(&mut conn).await.unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg(&body_key)
        .arg("garbled")
        .arg("{")
        .query_async(&mut conn)
        .await
        .unwrap();

    assert!(q.claim(T0, 1_000, 10).await.unwrap().is_empty());
    assert_eq!(q.counts().await.unwrap(), (0, 1), "garbled stays claimed, gone is dropped");
    assert!(q.pending().await.unwrap().is_empty(), "unreadable bodies are skipped");
    q.schedule(&expire_timer("garbled", T0, "r")).await.unwrap();
    assert_eq!(ids(&q.claim(T0, 1_000, 10).await.unwrap()), ["garbled"]);
}

#[tokio::test]
async fn pending_for_finds_the_expire_timer_of_a_role() {
    let space = Space::new("tpend");
    let q = space.queue().await;
    q.schedule(&expire_timer("e1", T0 + 10, "ff_ro")).await.unwrap();
    let reminder = Timer::new(
        "r1",
        TimerKind::Reminder,
        at(T0),
        TimerPayload { role: Some("ff_rw".into()), ..TimerPayload::default() },
    );
    q.schedule(&reminder).await.unwrap();

    assert_eq!(ids_of(&q.pending().await.unwrap()), ["r1", "e1"]);
    assert!(q.has_pending_expire("ff_ro").await.unwrap());
    assert!(!q.has_pending_expire("ff_rw").await.unwrap(), "a reminder is not an expiry");
    let by_grant = q.pending_for(TimerKind::Expire, TimerKey::Grant("g-e1")).await.unwrap();
    assert_eq!(ids_of(&by_grant), ["e1"]);
    // A claimed timer is still pending until acked.
    q.claim(T0 + 10, 1_000, 10).await.unwrap();
    assert!(q.has_pending_expire("ff_ro").await.unwrap());
}

fn ids_of(timers: &[Timer]) -> Vec<&str> {
    timers.iter().map(|t| t.id.as_str()).collect()
}

#[tokio::test]
async fn a_failing_handler_leaves_the_timer_to_be_retried_after_its_lease() {
    let space = Space::new("tretry");
    let q = space.queue().await;
    q.schedule(&expire_timer("x", T0, "r")).await.unwrap();
    let now = Arc::new(AtomicI64::new(T0));
    let attempts = Arc::new(Mutex::new(Vec::new()));

    let handler = {
        let attempts = attempts.clone();
        move |t: Timer| {
            let attempts = attempts.clone();
            async move {
                let mut seen = attempts.lock().unwrap();
                seen.push(t.id);
                anyhow::ensure!(seen.len() > 1, "database unreachable");
                Ok(())
            }
        }
    };
    let clock = {
        let now = now.clone();
        move || at(now.load(Ordering::SeqCst))
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        poll_interval: Duration::from_millis(10),
        lease: Duration::from_secs(30),
        ..WorkerConfig::default()
    };
    let worker = tokio::spawn(run_worker(q.clone(), handler, clock, wait_true(stopped), config));

    wait_until(|| attempts.lock().unwrap().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(attempts.lock().unwrap().len(), 1, "retried before the lease ran out");
    now.store(T0 + 30_000, Ordering::SeqCst);
    wait_until(|| attempts.lock().unwrap().len() == 2).await;
    wait_until_empty(&q).await;
    stop.send(true).unwrap();
    let stats = worker.await.unwrap();
    assert_eq!((stats.acked, stats.failed, stats.lost), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_handle_ten_thousand_due_timers_exactly_once() {
    const N: usize = 10_000;
    let space = Space::new("t10k");
    let q = space.queue().await;
    let timers: Vec<Timer> =
        (0..N).map(|i| expire_timer(&format!("t{i:05}"), T0 + (i % 7) as i64, "r")).collect();
    q.schedule_many(&timers).await.unwrap();

    let calls: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        poll_interval: Duration::from_millis(5),
        lease: Duration::from_secs(60),
        batch_size: 100,
        concurrency: 16,
        ..WorkerConfig::default()
    };
    let mut workers = Vec::new();
    for _ in 0..2 {
        // Each worker has its own connection, as two bot replicas would.
        let queue = space.queue().await;
        let calls = calls.clone();
        let handler = move |t: Timer| {
            let calls = calls.clone();
            async move {
                *calls.lock().unwrap().entry(t.id).or_default() += 1;
                tokio::task::yield_now().await;
                Ok(())
            }
        };
        let clock = || at(T0 + 1_000);
        let shutdown = wait_true(stopped.clone());
        workers.push(tokio::spawn(run_worker(queue, handler, clock, shutdown, config)));
    }

    let started = Instant::now();
    wait_until_empty(&q).await;
    stop.send(true).unwrap();
    let mut acked = 0;
    for w in workers {
        let stats = w.await.unwrap();
        assert_eq!((stats.failed, stats.lost, stats.redis_errors), (0, 0, 0), "{stats:?}");
        assert!(stats.acked > 0, "one worker did all the work: {stats:?}");
        acked += stats.acked;
    }
    let calls = calls.lock().unwrap();
    assert_eq!(acked, N as u64, "acks");
    assert_eq!(calls.len(), N, "distinct timers handled");
    let twice: Vec<_> = calls.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    eprintln!("10,000 timers, 2 workers: {:?}", started.elapsed());
}

/// Resolves once the watch value is true (a shutdown signal for `run_worker`).
async fn wait_true(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until no timer is due or claimed.
async fn wait_until_empty(q: &TimerQueue) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if q.counts().await.unwrap() == (0, 0) {
            return;
        }
        assert!(Instant::now() < deadline, "queue not drained in 60 s: {:?}", q.counts().await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
