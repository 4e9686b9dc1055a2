//! Expiry of per-person firefighter logins (issue 15): 20 live logins with 5 open sessions
//! each, ended one after the other through the broker (`Broker::end_person_login` ->
//! `db_admin.end_person_login`: its sessions terminated and waited for, the role dropped), on
//! PostgreSQL 15 (`PGROLES_BENCH_PG`: another major version). Per login: from the call until
//! the call returned and none of its sessions is left in `pg_stat_activity`; per round: the 20
//! in sequence. Baseline in the same run, interleaved by round: the shared role with 5 sessions
//! ended through the existing path (`Broker::expire` then `Broker::terminate_sessions`, until
//! its sessions are gone). Goal: p99 per login <= 1 s.
//!
//! Needs the test services (`PGROLES_TEST_PG`). Run:
//! `eval "$(scripts/test-services | tail -1)" && cargo bench --bench person_expiry`
//! (`PGROLES_BENCH_ROUNDS`, default 3: 60 logins and 60 baseline expiries).

#![recursion_limit = "256"]

#[path = "../tests/support/mod.rs"]
mod support;

use chrono::Utc;
use futures::StreamExt;
use pgroles::broker::{ActionAudit, Broker, IssueAudit};
use pgroles::config::AwsConfig;
use pgroles::model::Level;
use std::time::{Duration, Instant};
use support::capture::table_row as row;
use tokio_postgres::Client;

const LOGINS: usize = 20;
const SESSIONS: usize = 5;

async fn open_sessions(
    server: &support::pg::PgServer,
    db: &str,
    role: &str,
    password: &str,
) -> anyhow::Result<Vec<Client>> {
    let sessions: Vec<_> = futures::stream::iter(0..SESSIONS)
        .map(|_| support::pg::login(server, db, role, password))
        .buffer_unordered(SESSIONS)
        .collect()
        .await;
    Ok(sessions.into_iter().collect::<Result<Vec<_>, _>>()?)
}

/// Waits until `role` has no session left (2 ms polls); errors after 30 s.
async fn until_gone(watcher: &Client, role: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let open: i64 = watcher
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", &[&role])
            .await?
            .get(0);
        if open == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(30),
            "{open} sessions of {role} left"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let major: u32 =
        std::env::var("PGROLES_BENCH_PG").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let server = support::pg::version(major)
        .ok_or_else(|| anyhow::anyhow!("no PostgreSQL {major} in PGROLES_TEST_PG"))?;
    let model = support::model::Model::new(&server, "benchpexp");
    let result = bench(&model).await;
    model.drop().await;
    result
}

async fn bench(m: &support::model::Model) -> anyhow::Result<()> {
    let server = m.pg.clone();
    let rounds: usize =
        std::env::var("PGROLES_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    m.apply().await;
    let names = m.names.clone();
    let broker_pw = m.set_password(&names.broker()).await;
    let broker =
        Broker::from_config(&m.broker_db_config(&broker_pw), &AwsConfig::default(), &names).await?;
    let watcher = support::pg::superuser(&server, &names.database).await;
    let db = names.database.clone();
    let shared = names.firefighter(Level::Ro);
    let audit = |user: &str| IssueAudit {
        incident: "INC-123".into(),
        requester: user.into(),
        approvers: vec!["U0APPROVER1".into()],
    };
    let action = ActionAudit { incident: "INC-123".into(), actor: "timer".into() };

    let (mut per_login, mut per_round, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Baseline: the shared role, 5 sessions, expire + terminate, LOGINS times.
        for _ in 0..LOGINS {
            let ends = Utc::now() + chrono::Duration::minutes(30);
            let issued = broker.issue(Level::Ro, ends, &audit("U0BENCH")).await?;
            let sessions =
                open_sessions(&server, &db, &shared, issued.password.expose_for_delivery()).await?;
            let t0 = Instant::now();
            broker.expire(Level::Ro, &action).await?;
            broker.terminate_sessions(Level::Ro, &action).await?;
            until_gone(&watcher, &shared).await?;
            baseline.push(t0.elapsed());
            drop(sessions);
        }

        // 20 live per-person logins, 5 sessions each, all open at once.
        let mut live = Vec::new();
        for i in 0..LOGINS {
            let request = format!("{:08x}-0000-4000-8000-000000000000", round * 100 + i);
            let created = broker
                .create_person_login(Level::Ro, &request, 30, &audit(&format!("U0B{i:02}")))
                .await?;
            let sessions =
                open_sessions(&server, &db, &created.login, created.password.expose_for_delivery())
                    .await?;
            live.push((created.login, sessions));
        }
        let round_start = Instant::now();
        for (login, _sessions) in &live {
            let t0 = Instant::now();
            let end = broker.end_person_login(login, "timer").await?;
            until_gone(&watcher, login).await?;
            per_login.push(t0.elapsed());
            anyhow::ensure!(
                end.outcome == "dropped" && end.sessions_ended == SESSIONS as i32,
                "{login}: {end:?}"
            );
        }
        per_round.push(round_start.elapsed());
        for (login, sessions) in &live {
            for s in sessions {
                anyhow::ensure!(s.query_one("SELECT 1", &[]).await.is_err(), "{login}: survived");
            }
        }
    }
    let version: String = watcher.query_one("SELECT version()", &[]).await?.get::<_, String>(0);
    println!(
        "{}; {LOGINS} logins x {SESSIONS} sessions, {rounds} rounds; milliseconds\n",
        version.split(" on ").next().unwrap_or(&version)
    );
    println!("| measurement | n | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    let (base_p99, line) =
        row("baseline: shared role, expire + terminate, until its 5 sessions are gone", baseline);
    println!("{line}");
    let (p99, line) =
        row("per-person login: end_person_login, until its 5 sessions are gone", per_login);
    println!("{line}");
    let (_, line) =
        row(&format!("per-person: all {LOGINS} logins of a round, one after the other"), per_round);
    println!("{line}");
    println!(
        "\nGoal p99 per login <= 1 s: {} (p99 {:.1} ms; {:.2}x the baseline's p99)",
        if p99 <= Duration::from_secs(1) { "met" } else { "NOT met" },
        p99.as_secs_f64() * 1e3,
        p99.as_secs_f64() / base_p99.as_secs_f64().max(1e-9)
    );
    Ok(())
}
