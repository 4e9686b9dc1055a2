//! Expiry lag under load with one stalled broker connection, beside the same load without it,
//! in one run: 1,000 expiries due over 10 s (100/s), each a timer claimed by the real worker
//! (`grants::run`, default settings: 250 ms poll) whose handler makes two broker calls on
//! PostgreSQL 15 through a pool of 4: a catalog read and `terminate_firefighter_sessions`
//! (audit row, `pg_terminate_backend`). Lag = both calls done minus due time.
//! In the stalled run one pooled connection is frozen by a TCP proxy just before the timers
//! fall due: the call that takes it waits out its deadline (`statement_timeout_ms` + 1 s), is
//! retried on a fresh connection, and no other expiry waits for it.
//!
//! The grant model has one grant per level, so the 1,000 expiries are timers of the kind the
//! bot's extra handler takes. `expire_firefighter_password` is left out: 1,000 overlapping
//! `ALTER ROLE`s of one role fail with XX000 "tuple concurrently updated" (measured: ~9 % of
//! attempts, retried), which real expiries, one grant per level, do not do. The grant
//! bookkeeping in Redis (one document read and delete) is not part of this number either.
//!
//! Needs the test services (`PGROLES_TEST_PG` with a `15=` entry, Redis). Run:
//! `eval "$(scripts/test-services | tail -1)" && cargo bench --bench expiry_stall --profile dev`.

#![recursion_limit = "256"]

#[path = "../tests/support/mod.rs"]
mod support;

use chrono::Utc;
use pgroles::broker::{ActionAudit, Broker, TempPassword};
use pgroles::config::{AwsConfig, DatabaseConfig, DbAuth, RedisConfig, SslMode};
use pgroles::grants::GrantSettings;
use pgroles::grants::{run, ExtraTimerHandler, GrantEvent, GrantRecord, GrantService, Notifier};
use pgroles::model::Level;
use pgroles::timers::{self, DocStore, SystemClock, Timer, TimerKind, TimerPayload, TimerQueue};
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::capture::percentile;
use support::stall::StallProxy;

const EXPIRIES: usize = 1000;
const SPREAD_MS: i64 = 10_000;

struct Quiet;

#[async_trait::async_trait]
impl Notifier for Quiet {
    async fn deliver(&self, _g: &GrantRecord, _p: &TempPassword) -> anyhow::Result<()> {
        Ok(())
    }
    async fn notify(&self, _e: GrantEvent<'_>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Runs the expiry calls for each timer and records its lag.
struct ExpireCalls {
    broker: Broker,
    lags: Mutex<Vec<Duration>>,
    errors: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl ExtraTimerHandler for ExpireCalls {
    async fn handle(&self, timer: &Timer) -> anyhow::Result<()> {
        let audit = ActionAudit { incident: "INC-BENCH".into(), actor: "timer".into() };
        let calls = async {
            self.broker.role_valid_until(Level::Ro).await?;
            self.broker.terminate_sessions(Level::Ro, &audit).await
        };
        if let Err(e) = calls.await {
            let text = format!("{e:#}");
            self.errors.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(text.clone());
            anyhow::bail!(text);
        }
        let lag = (Utc::now() - timer.due_at).to_std().unwrap_or(Duration::ZERO);
        self.lags.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(lag);
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let server = support::pg::version(15).ok_or_else(|| anyhow::anyhow!("no PG15 cluster"))?;
    let model = support::model::Model::new(&server, "benchstall");
    let prefix = support::redis::prefix("benchstall");
    let result = bench(&model, &prefix).await;
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
    let broker_pw = model.set_password(&model.names.broker()).await;
    println!("| run | n | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    for stalled in [false, true] {
        let lags =
            one_run(model, &server, &broker_pw, &format!("{prefix}{stalled}:"), stalled).await?;
        let mut v = lags;
        v.sort();
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} |",
            if stalled { "one connection stalled" } else { "no stall (baseline)" },
            v.len(),
            ms(percentile(&v, 50.0)),
            ms(percentile(&v, 99.0)),
            v.last().copied().map_or(0.0, ms)
        );
    }
    Ok(())
}

async fn one_run(
    model: &support::model::Model,
    server: &support::pg::PgServer,
    broker_pw: &str,
    prefix: &str,
    stall: bool,
) -> anyhow::Result<Vec<Duration>> {
    let target = format!("{}:{}", server.host, server.port).parse()?;
    let proxy = StallProxy::start(target).await;
    let db = DatabaseConfig {
        host: server.host.clone(),
        port: proxy.port,
        sslmode: SslMode::Disable,
        auth: DbAuth::Password,
        password: Some(SecretString::from(broker_pw.to_owned())),
        pool_size: 4,
        ..DatabaseConfig::default()
    };
    let names = &model.names;
    let handler = Arc::new(ExpireCalls {
        broker: Broker::from_config(&db, &AwsConfig::default(), names).await?,
        lags: Mutex::new(Vec::with_capacity(EXPIRIES)),
        errors: Mutex::new(Vec::new()),
    });
    // One warm pooled connection: the one the stall freezes.
    handler.broker.sessions().await?;
    let redis =
        RedisConfig { url: support::redis::url(), key_prefix: prefix.into(), ..Default::default() };
    let conn = timers::connect(&redis).await?;
    let queue = TimerQueue::new(conn.clone(), prefix);
    let service = Arc::new(GrantService::new(
        Broker::from_config(&db, &AwsConfig::default(), names).await?,
        queue.clone(),
        DocStore::new(conn, prefix),
        Arc::new(Quiet),
        Arc::new(SystemClock),
        GrantSettings {
            identity: pgroles::access::settings::Identity::Shared,
            ..GrantSettings::default()
        },
    ));
    let start = Utc::now() + chrono::Duration::milliseconds(500);
    let timers: Vec<Timer> = (0..EXPIRIES)
        .map(|i| {
            let due =
                start + chrono::Duration::milliseconds(SPREAD_MS * i as i64 / EXPIRIES as i64);
            Timer::new(
                format!("bench:{i}"),
                TimerKind::ApprovalTimeout,
                due,
                TimerPayload::default(),
            )
        })
        .collect();
    queue.schedule_many(&timers).await?;
    if stall {
        proxy.freeze_open();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let extra: Arc<dyn ExtraTimerHandler> = handler.clone();
    let worker = tokio::spawn(run(service, queue, async move { drop(stopped.await) }, Some(extra)));
    let give_up = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let done = handler.lags.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.len();
        if done >= EXPIRIES {
            break;
        }
        anyhow::ensure!(std::time::Instant::now() < give_up, "only {done} of {EXPIRIES} done");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    let _ = worker.await;
    let lags = handler.lags.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    let errors = handler.errors.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    let mut kinds: Vec<&String> = errors.iter().collect();
    kinds.sort();
    kinds.dedup();
    eprintln!("stall={stall}: {} failed attempts (retried): {kinds:?}", errors.len());
    Ok(lags)
}
