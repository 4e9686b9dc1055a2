//! Ending a grant with sessions on a writer and 2 readers (issue 16): a PostgreSQL 15 primary
//! with 2 streaming replicas (`pg_basebackup -R`) stands in for an Aurora writer and its
//! readers. Per round: a shared `ro` grant through the grant service, 5 sessions on the writer
//! and 5 on each replica, then `GrantService::revoke` (the same `end_grant` as the Expire
//! timer: the writer's end, then every reader in parallel); measured from the call until no
//! session of the role is left on any of the three servers. Baseline in the same run,
//! interleaved by round: the same with a service that knows no readers and sessions on the
//! writer only. Goal: p99 <= 1 s.
//!
//! Needs PostgreSQL 15 binaries (as the tests: `support::cluster::installed`) and Redis. Run:
//! `eval "$(scripts/test-services | tail -1)" && cargo bench --bench instance_expiry`
//! (`PGROLES_BENCH_ROUNDS`, default 20).

#![recursion_limit = "256"]

#[path = "../tests/support/mod.rs"]
mod support;

use futures::StreamExt;
use pgroles::access::{IncidentId, SlackUserId};
use pgroles::broker::instances::instance_config;
use pgroles::broker::{Broker, CredentialSource, DbCredential, Instance, Instances};
use pgroles::config::{AwsConfig, DatabaseConfig, DbAuth, RedisConfig, SslMode};
use pgroles::grants::{GrantService, GrantSettings, IssueRequest};
use pgroles::model::Level;
use pgroles::timers::{self, DocStore, SystemClock, TimerQueue};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::capture::{table_row as row, Capture};
use support::pg::PgServer;
use tokio_postgres::Client;

const SESSIONS: usize = 5;

fn rounds() -> usize {
    std::env::var("PGROLES_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let bin = support::cluster::installed()
        .await
        .into_iter()
        .find(|(v, _)| *v == 15)
        .map(|(_, b)| b)
        .ok_or_else(|| anyhow::anyhow!("no PostgreSQL 15 binaries"))?;
    let set = support::replicas::ReplicaSet::start(15, &bin, 2);
    let model = support::model::Model::new(&set.primary, "benchinst");
    let prefix = support::redis::prefix("benchinst");
    let result = bench(&set, &model, &prefix).await;
    if let Ok(mut c) = redis::Client::open(support::redis::url()).and_then(|c| c.get_connection()) {
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut c).unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query(&mut c);
        }
    }
    result
}

async fn service(
    db: &DatabaseConfig,
    model: &support::model::Model,
    prefix: &str,
    instances: Instances,
    capture: Arc<Capture>,
) -> anyhow::Result<GrantService> {
    let broker = Broker::from_config(db, &AwsConfig::default(), &model.names).await?;
    let redis = RedisConfig {
        url: support::redis::url(),
        key_prefix: prefix.to_owned(),
        ..Default::default()
    };
    let conn = timers::connect(&redis).await?;
    let settings = GrantSettings {
        identity: pgroles::access::settings::Identity::Shared,
        ..GrantSettings::default()
    };
    Ok(GrantService::new(
        broker,
        TimerQueue::new(conn.clone(), prefix),
        DocStore::new(conn, prefix),
        capture,
        Arc::new(SystemClock),
        settings,
    )
    .with_instances(instances))
}

fn request() -> anyhow::Result<IssueRequest> {
    Ok(IssueRequest {
        level: Level::Ro,
        holder: SlackUserId::parse("U0BENCH").map_err(|e| anyhow::anyhow!("{e}"))?,
        incident: IncidentId::try_from("INC-16".to_owned()).map_err(|e| anyhow::anyhow!("{e}"))?,
        approvers: vec![],
        request_id: None,
        duration: Duration::from_secs(3600),
        context: serde_json::Value::Null,
        takeover: false,
        break_glass: false,
    })
}

/// `SESSIONS` logins on `server` as `role`, retried until the password has replicated there.
async fn sessions_on(
    server: &PgServer,
    db: &str,
    role: &str,
    pw: &str,
) -> anyhow::Result<Vec<Client>> {
    let start = Instant::now();
    // The first login also waits for the password to replicate (the role allows 5 at once).
    let first = loop {
        match support::pg::login(server, db, role, pw).await {
            Ok(c) => break c,
            Err(_) if start.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => anyhow::bail!("no login on {}: {e}", server.port),
        }
    };
    let opened: Vec<_> = futures::stream::iter(1..SESSIONS)
        .map(|_| support::pg::login(server, db, role, pw))
        .buffer_unordered(SESSIONS)
        .collect()
        .await;
    let mut all = opened.into_iter().collect::<Result<Vec<_>, _>>()?;
    all.push(first);
    Ok(all)
}

/// Waits until `role` has no session on any of `watchers` (2 ms polls); errors after 30 s.
async fn until_gone(watchers: &[Client], role: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    for w in watchers {
        loop {
            let open: i64 = w
                .query_one("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", &[&role])
                .await?
                .get(0);
            if open == 0 {
                break;
            }
            anyhow::ensure!(start.elapsed() < Duration::from_secs(30), "{open} sessions left");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    Ok(())
}

/// One round: a grant, sessions on each of `servers`, the revoke; the time to all gone.
async fn one(
    svc: &GrantService,
    capture: &Capture,
    servers: &[PgServer],
    watchers: &[Client],
    db: &str,
    role: &str,
) -> anyhow::Result<Duration> {
    svc.issue(request()?).await?;
    let pw = capture.last_password()?;
    let mut open = Vec::new();
    for s in servers {
        open.extend(sessions_on(s, db, role, &pw).await?);
    }
    let start = Instant::now();
    let ended = svc.revoke(Level::Ro, "bench").await?;
    until_gone(watchers, role).await?;
    let took = start.elapsed();
    anyhow::ensure!(ended as usize == open.len(), "{ended} of {} sessions ended", open.len());
    Ok(took)
}

async fn bench(
    set: &support::replicas::ReplicaSet,
    model: &support::model::Model,
    prefix: &str,
) -> anyhow::Result<()> {
    model.apply().await;
    let names = &model.names;
    let broker_pw = model.set_password(&names.broker()).await;
    let db = DatabaseConfig {
        host: set.primary.host.clone(),
        port: set.primary.port,
        sslmode: SslMode::Disable,
        auth: DbAuth::Password,
        password: Some(SecretString::from(broker_pw.clone())),
        pool_size: 2,
        ..DatabaseConfig::default()
    };
    let mut list = Vec::new();
    for r in &set.replicas {
        let creds = CredentialSource::Static(DbCredential {
            user: names.broker(),
            password: SecretString::from(broker_pw.clone()),
        });
        list.push(Instance::new(&instance_config(&db, &r.host, r.port), names, creds)?);
    }
    let capture = Arc::new(Capture::default());
    let readers = Instances::from_list(list);
    let all = service(&db, model, &format!("{prefix}all:"), readers, capture.clone()).await?;
    let writer_only =
        service(&db, model, &format!("{prefix}one:"), Instances::default(), capture.clone())
            .await?;
    let everywhere: Vec<PgServer> =
        std::iter::once(set.primary.clone()).chain(set.replicas.iter().cloned()).collect();
    let mut watchers = Vec::new();
    for s in &everywhere {
        watchers.push(support::pg::superuser(s, &names.database).await);
    }
    let role = names.firefighter(Level::Ro);
    let (mut three, mut one_only) = (Vec::new(), Vec::new());
    for _ in 0..rounds() {
        three.push(one(&all, &capture, &everywhere, &watchers, &names.database, &role).await?);
        let writer = &everywhere[..1];
        let w = &watchers[..1];
        one_only.push(one(&writer_only, &capture, writer, w, &names.database, &role).await?);
    }
    println!("### Ending a grant with sessions on a writer and 2 readers (PostgreSQL 15)\n");
    println!("| path | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|");
    let (p99, line) = row(&format!("writer + 2 readers, {SESSIONS} sessions each"), three);
    println!("{line}");
    let (_, line) = row(&format!("baseline: writer only, {SESSIONS} sessions"), one_only);
    println!("{line}");
    let met = if p99 <= Duration::from_secs(1) { "met" } else { "NOT met" };
    println!("\nGoal p99 <= 1 s (writer + 2 readers): {met}\n");
    Ok(())
}
