//! The connection budget under load: two replicas with pools of 2 on a broker role limited to
//! 2 x 2 + 1 = 5 connections, hammered by readiness-style probes (50 concurrent session reads
//! per replica, in waves) while they issue, revoke and expire grants, and a third login (the
//! `pgroles revoke` CLI's reserved slot) expires a level, and by a verify storm (each wave, ten
//! `/pgroles verify` runs per replica on its shared pool, one at a time per process as the bot
//! runs them, the rest told to retry): nothing fails for lack of a connection, and the role
//! never holds more than its limit.

use crate::fixture::{eventually, spawn_worker, Fixture};
use crate::support::pg;
use pgroles::broker::{connect, ActionAudit, Broker, IssueAudit};
use pgroles::config::AwsConfig;
use pgroles::model::Level;
use pgroles::timers::SystemClock;
use pgroles::verify;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn two_replicas_on_the_connection_limit_under_a_probe_storm_never_run_out() {
    let server = pg::versions().into_iter().next().expect("a test cluster");
    let fx = Fixture::new(&server, "grantbudget").await;
    let broker_role = fx.model.names.broker();
    pg::superuser(&server, "postgres")
        .await
        .batch_execute(&format!("ALTER ROLE {} CONNECTION LIMIT 5", pg::ident(&broker_role)))
        .await
        .expect("set the limit");
    let db = pgroles::config::DatabaseConfig { pool_size: 2, max_replicas: 2, ..fx.static_db() };
    let names = &fx.model.names;
    let broker = || async { Broker::from_config(&db, &AwsConfig::default(), names).await };
    let a = fx.service_with(broker().await.expect("broker"), Arc::new(SystemClock)).await;
    let b = fx.service_with(broker().await.expect("broker"), Arc::new(SystemClock)).await;
    let worker_b = spawn_worker(b.clone());

    // The storm: waves of 50 concurrent probes per replica until the work is done; the peak
    // number of broker backends is sampled meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let failed_probes = Arc::new(AtomicI64::new(0));
    let (verified, failed_verifies) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
    let mut storm = Vec::new();
    for svc in [a.clone(), b.clone()] {
        let (stop, failed) = (stop.clone(), failed_probes.clone());
        let (verified, failed_verifies) = (verified.clone(), failed_verifies.clone());
        let names = names.clone();
        // The bot's verify slot: one run per process, the others are told to retry.
        let slot = Arc::new(tokio::sync::Semaphore::new(1));
        storm.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let probes = futures::future::join_all((0..50).map(|_| svc.broker().sessions()));
                let verifies = futures::future::join_all((0..10).map(|_| async {
                    let Ok(_held) = slot.clone().try_acquire_owned() else {
                        return None; // "Another verification is running right now"
                    };
                    let run = async {
                        let conn = connect::get(svc.broker().pool()).await?;
                        anyhow::Ok(verify::run(&conn, &names, chrono::Utc::now()).await?)
                    };
                    Some(run.await)
                }));
                let (probes, verifies) = futures::future::join(probes, verifies).await;
                for r in probes {
                    if r.is_err() {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                for r in verifies.into_iter().flatten() {
                    match r {
                        Ok(_) => verified.fetch_add(1, Ordering::SeqCst),
                        Err(e) => {
                            eprintln!("verify under the storm: {e:#}");
                            failed_verifies.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                }
            }
        }));
    }
    let peak = Arc::new(AtomicI64::new(0));
    let sampler = {
        let (stop, peak, server, role) =
            (stop.clone(), peak.clone(), server.clone(), broker_role.clone());
        tokio::spawn(async move {
            let su = pg::superuser(&server, "postgres").await;
            while !stop.load(Ordering::SeqCst) {
                if let Ok(row) = su
                    .query_one("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", &[&role])
                    .await
                {
                    peak.fetch_max(row.get::<_, i64>(0), Ordering::SeqCst);
                }
                tokio::task::yield_now().await;
            }
        })
    };

    // Issue on A, revoke on B; issue a short rw grant on A and let B's worker expire it.
    let ro = a.issue(fx.request(Level::Ro, "U0RO", Duration::from_secs(3600))).await;
    assert!(ro.is_ok(), "issue under the storm: {ro:?}");
    let revoked = b.revoke(Level::Ro, "U0ADMIN").await;
    assert!(revoked.is_ok(), "revoke under the storm: {revoked:?}");
    let rw = a.issue(fx.request(Level::Rw, "U0RW", Duration::from_secs(1))).await;
    let rw = rw.unwrap_or_else(|e| panic!("issue rw under the storm: {e:?}"));
    let expired = eventually(Duration::from_secs(20), || async {
        fx.recorder.of("expired").iter().any(|s| s.grant_id.as_deref() == Some(rw.id.as_str()))
    })
    .await;
    assert!(expired, "the rw grant did not expire under the storm");
    // The kill switch's own login fits in the reserved slot.
    let cli = fx.service_with(broker().await.expect("broker"), Arc::new(SystemClock)).await;
    let killed = cli.expire_now(Level::Ro, "budget test").await;
    assert!(killed.is_ok(), "the reserved slot: {killed:?}");

    stop.store(true, Ordering::SeqCst);
    for t in storm {
        t.await.expect("storm task");
    }
    sampler.await.expect("sampler");
    let stats = worker_b.stop().await;
    assert_eq!(stats.failed, 0, "no expiry attempt failed: {stats:?}");
    assert_eq!(failed_probes.load(Ordering::SeqCst), 0, "probes failed");
    assert_eq!(failed_verifies.load(Ordering::SeqCst), 0, "verifies failed");
    assert!(verified.load(Ordering::SeqCst) >= 2, "the verify storm ran verifies");
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= 5, "the broker held {peak} connections, above its limit of 5");
    fx.cleanup().await;
}

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// SQLSTATE 53300 at login (the role's connection limit is taken) is waited out, not shown as a
/// failed issue: the issue is in its retry loop (seen in the log) when the slot frees up, and
/// then succeeds.
#[tokio::test]
async fn an_issue_that_meets_the_connection_limit_waits_for_a_slot_instead_of_failing() {
    let logs = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    // One thread (current-thread runtime): every task logs here.
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = pg::versions().into_iter().next().expect("a test cluster");
    let fx = Fixture::new(&server, "grantlimit").await;
    let (names, broker_role) = (&fx.model.names, fx.model.names.broker());
    pg::superuser(&server, "postgres")
        .await
        .batch_execute(&format!("ALTER ROLE {} CONNECTION LIMIT 1", pg::ident(&broker_role)))
        .await
        .expect("set the limit");
    // Another login of the broker holds the only slot.
    let hog = pg::login(&server, &names.database, &broker_role, &fx.broker_pw).await;
    let hog = hog.expect("the hog logs in");

    let service = fx.service.clone();
    let request = fx.request(Level::Ro, "U0HOLDER", Duration::from_secs(3600));
    let issue = tokio::spawn(async move { service.issue(request).await });
    let text = || String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    let retrying =
        eventually(Duration::from_secs(10), || async { text().contains("(53300)") }).await;
    assert!(retrying, "the issue never met the limit: {}", text());
    assert!(!issue.is_finished(), "the issue gave up at the limit");
    drop(hog);
    let rec = issue.await.expect("issue task");
    assert!(rec.is_ok(), "the issue failed instead of waiting for a slot: {rec:?}");
    fx.cleanup().await;
}

/// The pool keeps one connection for expiry and revoke: with a pool of two and both general
/// slots' worth of work stuck (two issues waiting behind a lock on the ro role's catalog row),
/// an expiry of rw still gets a connection at once, and a probe waits for a general slot
/// instead of taking the reserved connection.
#[tokio::test]
async fn an_expiry_gets_the_reserved_connection_while_issues_hold_the_rest() {
    let server = pg::versions().into_iter().next().expect("a test cluster");
    let fx = Fixture::new(&server, "grantreserve").await;
    let db = pgroles::config::DatabaseConfig { pool_size: 2, ..fx.static_db() };
    let names = &fx.model.names;
    let broker = Arc::new(Broker::from_config(&db, &AwsConfig::default(), names).await.unwrap());
    let ro = names.firefighter(Level::Ro);
    let broker_role = names.broker();

    // Hold the ro role's catalog row: an ro issue's ALTER ROLE waits behind this transaction.
    let mut blocker = fx.model.superuser().await;
    let tx = blocker.transaction().await.expect("begin");
    tx.batch_execute(&format!("ALTER ROLE {} CONNECTION LIMIT 7", pg::ident(&ro)))
        .await
        .expect("lock the ro row");
    let audit = IssueAudit {
        incident: "INC-77".into(),
        requester: "U0REQ".into(),
        approvers: vec!["U0APP".into()],
    };
    let issues: Vec<_> = (0..2)
        .map(|_| {
            let (broker, audit) = (broker.clone(), audit.clone());
            tokio::spawn(async move {
                broker
                    .issue(Level::Ro, chrono::Utc::now() + chrono::Duration::hours(1), &audit)
                    .await
            })
        })
        .collect();
    // Wait until one issue is blocked on the lock (it holds a connection and the general slot).
    let su = pg::superuser(&server, "postgres").await;
    let blocked = eventually(Duration::from_secs(10), || async {
        let row = su
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'",
                &[&broker_role],
            )
            .await
            .expect("pg_stat_activity");
        row.get::<_, i64>(0) >= 1
    })
    .await;
    assert!(blocked, "an issue waits on the ro row");

    // The reserved connection: an rw expiry completes at once.
    let action = ActionAudit { incident: "INC-77".into(), actor: "timer".into() };
    let expired =
        tokio::time::timeout(Duration::from_secs(3), broker.expire(Level::Rw, &action)).await;
    assert!(matches!(expired, Ok(Ok(()))), "expiry on the reserved connection: {expired:?}");
    // A probe is general work: it waits for a slot rather than taking the reserve.
    let probe = tokio::time::timeout(Duration::from_millis(500), broker.sessions()).await;
    assert!(probe.is_err(), "a probe must wait for a general slot: {probe:?}");

    tx.rollback().await.expect("release the row");
    for issue in issues {
        let issued = issue.await.expect("issue task");
        assert!(issued.is_ok(), "the issue completes once the row is free: {issued:?}");
    }
    fx.cleanup().await;
}
