//! A broker connection that stops answering (not closed: stalled, like a half-dead NAT entry or
//! a frozen server process) must not stop other grants from expiring on time. The stall comes
//! from [`StallProxy`]: connections open at the freeze stop forwarding bytes but stay open.

use crate::fixture::{eventually, spawn_worker, test_settings, Fixture};
use crate::support::pg;
use crate::support::stall::StallProxy;
use pgroles::broker::Broker;
use pgroles::config::AwsConfig;
use pgroles::grants::{GrantService, GrantSettings};
use pgroles::model::Level;
use pgroles::timers::{self, DocStore, SystemClock, TimerQueue};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When the Expired event of `grant_id` was first seen, polling every 20 ms up to `until`.
async fn expired_at(fx: &Fixture, grant_id: &str, until: Instant) -> Option<Instant> {
    loop {
        if fx.recorder.of("expired").iter().any(|s| s.grant_id.as_deref() == Some(grant_id)) {
            return Some(Instant::now());
        }
        if Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_stalled_broker_connection_delays_no_other_grants_expiry() {
    let server = pg::versions().into_iter().next().expect("a test cluster");
    let fx = Fixture::new(&server, "grantstall").await;
    let target: SocketAddr = format!("127.0.0.1:{}", server.port).parse().expect("address");
    let proxy = StallProxy::start(target).await;
    let db = pgroles::config::DatabaseConfig {
        port: proxy.port,
        pool_size: 2,
        statement_timeout_ms: 2000,
        ..fx.static_db()
    };
    let broker =
        Broker::from_config(&db, &AwsConfig::default(), &fx.model.names).await.expect("broker");
    let service = fx.service_with(broker, Arc::new(SystemClock)).await;

    // The worker's first reconcile pass is done before anything is frozen.
    let worker = spawn_worker(service.clone());
    let reconciled = || async { service.watch().reconcile_passes() >= 1 };
    assert!(eventually(Duration::from_secs(10), reconciled).await);
    // The reconcile may have opened two connections; close them, so that exactly one (the one
    // issuing leaves idle) is frozen below.
    pgroles::broker::connect::close_idle(service.broker().pool(), Duration::ZERO);

    // Two grants: ro ends first, rw one second later, while ro's call is still stalled (its
    // deadline is 3 s: without independent expiries rw would wait at least 2 s). Issuing
    // leaves one idle pooled connection.
    let t0 = Instant::now();
    let ro = service.issue(fx.request(Level::Ro, "U0RO", Duration::from_secs(2))).await.unwrap();
    let rw = service.issue(fx.request(Level::Rw, "U0RW", Duration::from_secs(3))).await.unwrap();
    let rw_due = t0 + Duration::from_secs(3);
    // The idle connection now swallows whatever is sent on it: ro's expiry will take it.
    assert!(proxy.freeze_open() >= 1, "a pooled connection to freeze");

    let rw_done = expired_at(&fx, &rw.id, rw_due + Duration::from_secs(20)).await;
    let ro_done = expired_at(&fx, &ro.id, t0 + Duration::from_secs(20)).await;
    let stats = tokio::time::timeout(Duration::from_secs(10), worker.stop())
        .await
        .expect("the worker stops within 10 s despite the stalled connection");

    let rw_done = rw_done.unwrap_or_else(|| panic!("rw never expired; worker {stats:?}"));
    let rw_lag = rw_done.saturating_duration_since(rw_due);
    assert!(rw_lag < Duration::from_millis(1500), "rw expired {rw_lag:?} late behind the stall");
    // The stalled call gave up at its deadline and the retry ended ro on a fresh connection.
    assert!(ro_done.is_some(), "ro never expired after the stall; worker {stats:?}");
    assert!(fx.valid_until(Level::Ro).await.expect("VALID UNTIL") < ro.granted_at);
    assert!(fx.valid_until(Level::Rw).await.expect("VALID UNTIL") < rw.granted_at);
    drop(proxy);
    fx.cleanup().await;
}

/// A replica stopping while its expiry call is stalled releases the timer when the call gives
/// up, so another replica expires the grant at once instead of after the back-off (30 s here).
#[tokio::test]
async fn a_stopping_replica_releases_a_failed_timer_to_another_at_once() {
    let server = pg::versions().into_iter().next().expect("a test cluster");
    let fx = Fixture::new(&server, "grantrel").await;
    let target: SocketAddr = format!("127.0.0.1:{}", server.port).parse().expect("address");
    let proxy = StallProxy::start(target).await;
    let db = pgroles::config::DatabaseConfig {
        port: proxy.port,
        pool_size: 1,
        statement_timeout_ms: 1000,
        ..fx.static_db()
    };
    let settings = GrantSettings {
        lease: Duration::from_secs(30),
        retry_base: Duration::from_secs(30),
        retry_max: Duration::from_secs(60),
        ..test_settings()
    };
    let conn = timers::connect(&fx.redis_config()).await.expect("Redis");
    let replica_a = Arc::new(GrantService::new(
        Broker::from_config(&db, &AwsConfig::default(), &fx.model.names).await.expect("broker"),
        TimerQueue::new(conn.clone(), &fx.prefix),
        DocStore::new(conn, &fx.prefix),
        fx.recorder.clone(),
        Arc::new(SystemClock),
        settings,
    ));
    let worker_a = spawn_worker(replica_a.clone());
    let reconciled = || async { replica_a.watch().reconcile_passes() >= 1 };
    assert!(eventually(Duration::from_secs(10), reconciled).await);
    // Replica A's only connection stops answering.
    assert!(proxy.freeze_open() >= 1);

    let rec = fx.service.issue(fx.request(Level::Ro, "U0HOLDER", Duration::from_secs(1))).await;
    let rec = rec.expect("issue");
    // A claims the Expire timer (the reminder is due at once and done) and stalls on it.
    let queue = fx.service.queue();
    let claimed = eventually(Duration::from_secs(10), || async {
        matches!(queue.counts().await, Ok((0, 1)))
    })
    .await;
    assert!(claimed, "replica A never claimed the expiry");
    // SIGTERM for A: its call gives up at the deadline, during shutdown.
    let stats_a = tokio::time::timeout(Duration::from_secs(10), worker_a.stop()).await;
    let stats_a = stats_a.expect("replica A stops");
    let stopped = Instant::now();
    assert_eq!(stats_a.failed, 1, "{stats_a:?}");

    let worker_b = spawn_worker(fx.service.clone());
    let done = expired_at(&fx, &rec.id, stopped + Duration::from_secs(5)).await;
    worker_b.stop().await;
    let taken = done.expect("replica B never expired the grant").duration_since(stopped);
    assert!(taken < Duration::from_secs(1), "replica B took {taken:?}");
    assert!(fx.valid_until(Level::Ro).await.expect("VALID UNTIL") < rec.granted_at);
    drop(proxy);
    fx.cleanup().await;
}
