//! Expiry latency of a grant: from the Expire timer's deadline until the password is expired
//! (`rolvaliduntil` in the past) and all 50 open sessions of the firefighter are gone, through
//! the real path (Redis timer queue -> `grants::run` worker with default settings, i.e. a 250 ms
//! poll -> broker -> `db_admin` functions on PostgreSQL 15). 20 iterations; prints p50/p99/max.
//!
//! Needs the test services (`PGROLES_TEST_PG` with a `15=` entry, Redis on
//! `PGROLES_TEST_REDIS` or 127.0.0.1:6379). Run:
//! `eval "$(scripts/test-services | tail -1)" && cargo bench --bench expiry --profile dev` (dev profile on a shared box; the
//! work is PostgreSQL/Redis-bound). Goal: p99 <= 1 s.

// The benchmark is one long async main; its future nests deeper than the default.
#![recursion_limit = "256"]

#[path = "../tests/support/mod.rs"]
mod support;

use support::capture::{percentile, Capture};

use chrono::Utc;
use futures::StreamExt;
use pgroles::access::{IncidentId, SlackUserId};
use pgroles::broker::Broker;
use pgroles::config::{AwsConfig, DatabaseConfig, DbAuth, RedisConfig, SslMode};
use pgroles::grants::{run, GrantService, GrantSettings, IssueRequest};
use pgroles::model::Level;
use pgroles::timers::{self, DocStore, SystemClock, Timer, TimerKind, TimerQueue};
use secrecy::SecretString;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ITERATIONS: usize = 20;
const SESSIONS: usize = 50;

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name:<40} p50 {:>6.0} ms   p99 {:>6.0} ms   max {:>6.0} ms   (n = {})",
        percentile(&v, 50.0).as_secs_f64() * 1e3,
        percentile(&v, 99.0).as_secs_f64() * 1e3,
        v.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        v.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let server = support::pg::version(15).ok_or_else(|| anyhow::anyhow!("no PG15 cluster"))?;
    let model = support::model::Model::new(&server, "benchexp");
    let prefix = support::redis::prefix("benchexp");
    let result = bench(&model, &prefix).await;
    // Cleanup also after a failure: the model's roles and database, the prefix's keys.
    if let Ok(mut c) = redis::Client::open(support::redis::url()).and_then(|c| c.get_connection()) {
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut c).unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query(&mut c);
        }
    }
    model.drop().await;
    result
}

async fn bench(model: &support::model::Model, prefix: &str) -> anyhow::Result<()> {
    let server = model.pg.clone();
    model.apply().await;
    let names = model.names.clone();
    let broker_pw = support::random_alnum(32);
    support::pg::superuser(&server, "postgres")
        .await
        .batch_execute(&format!(
            // The model limits firefighter ro to 5 connections; the benchmark needs 50.
            "ALTER ROLE {} PASSWORD '{broker_pw}'; ALTER ROLE {} CONNECTION LIMIT {}",
            support::pg::ident(&names.broker()),
            support::pg::ident(&names.firefighter(Level::Ro)),
            SESSIONS + 5
        ))
        .await?;
    let db = DatabaseConfig {
        host: server.host.clone(),
        port: server.port,
        sslmode: SslMode::Disable,
        auth: DbAuth::Password,
        password: Some(SecretString::from(broker_pw)),
        pool_size: 2,
        ..DatabaseConfig::default()
    };
    let broker = Broker::from_config(&db, &AwsConfig::default(), &names).await?;
    let redis = RedisConfig {
        url: support::redis::url(),
        key_prefix: prefix.to_owned(),
        ..Default::default()
    };
    let conn = timers::connect(&redis).await?;
    let queue = TimerQueue::new(conn.clone(), prefix);
    let capture = Arc::new(Capture::default());
    let settings = GrantSettings {
        reminder_before: Duration::ZERO,
        identity: pgroles::access::settings::Identity::Shared,
        ..GrantSettings::default()
    };
    let service = Arc::new(GrantService::new(
        broker,
        queue.clone(),
        DocStore::new(conn, prefix),
        capture.clone(),
        Arc::new(SystemClock),
        settings,
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run(
        service.clone(),
        queue.clone(),
        async move {
            let _ = stopped.await;
        },
        None,
    ));
    let watcher = support::pg::superuser(&server, &names.database).await;
    let role = names.firefighter(Level::Ro);

    let (mut to_expired, mut to_done) = (Vec::new(), Vec::new());
    for i in 0..ITERATIONS {
        let req = IssueRequest {
            level: Level::Ro,
            holder: SlackUserId::parse("U0BENCH").map_err(|e| anyhow::anyhow!("{e}"))?,
            incident: IncidentId::try_from("INC-1".to_owned())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            approvers: vec![],
            request_id: None,
            duration: Duration::from_secs(3600),
            context: serde_json::Value::Null,
            takeover: false,
            break_glass: false,
        };
        let rec = service.issue(req).await?;
        let password = capture.password.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
        let password = password.ok_or_else(|| anyhow::anyhow!("no password delivered"))?;
        let sessions: Vec<_> = futures::stream::iter(0..SESSIONS)
            .map(|_| support::pg::login(&server, &names.database, &role, &password))
            .buffer_unordered(10)
            .collect()
            .await;
        let sessions = sessions.into_iter().collect::<Result<Vec<_>, _>>()?;
        // The deadline: the grant's Expire timer moved to 200 ms from now.
        let due = Utc::now() + chrono::Duration::milliseconds(200);
        queue
            .schedule(&Timer::new(rec.expire_timer_id(), TimerKind::Expire, due, rec.payload()))
            .await?;
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut expired_at = None;
        let done_at = loop {
            let row = watcher
                .query_one(
                    "SELECT (SELECT rolvaliduntil < now() FROM pg_roles WHERE rolname = $1), \
                     (SELECT count(*) FROM pg_stat_activity WHERE usename = $1)",
                    &[&role],
                )
                .await?;
            let (expired, open): (bool, i64) = (row.get(0), row.get(1));
            if expired && expired_at.is_none() {
                expired_at = Some(Instant::now());
            }
            if expired && open == 0 {
                break Instant::now();
            }
            if deadline.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("iteration {i}: not expired after 30 s ({open} sessions open)");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let expired_at = expired_at.unwrap_or(done_at);
        to_expired.push(expired_at.saturating_duration_since(deadline));
        to_done.push(done_at.saturating_duration_since(deadline));
        for s in &sessions {
            anyhow::ensure!(s.query_one("SELECT 1", &[]).await.is_err(), "a session survived");
        }
        let refused = support::pg::login(&server, &names.database, &role, &password).await;
        anyhow::ensure!(refused.is_err(), "the password still logs in");
        // The Expired notification marks the level free for the next iteration.
        while capture.expired.load(Ordering::SeqCst) <= i {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        while service.active(Level::Ro).await?.is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let _ = stop.send(());
    let _ = worker.await;
    println!(
        "grant expiry on PostgreSQL {} ({SESSIONS} open sessions, 250 ms poll):",
        server.version
    );
    summary("deadline -> password expired", to_expired);
    summary("deadline -> expired and sessions gone", to_done);
    Ok(())
}
