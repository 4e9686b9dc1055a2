//! `/pgroles verify all` over a fleet (issue 16): 10 targets, each an application database of
//! 10,000 tables (the first built as the owner, the other nine copied from it as templates and
//! the model applied to each), served by one bot. Measured end to end through the fake Slack:
//! from the signed slash command to the ephemeral answer. Per round, interleaved: each target's
//! own `/pgroles verify <target>`, then `/pgroles verify all` (4 targets at a time, one summary
//! message). Goal: verify all <= 2x the slowest single target (median over rounds).
//!
//! All targets share one PostgreSQL server and the bot's 2 cores here; on Aurora each target is
//! its own cluster, so the servers' share of the work runs apart.
//!
//! Env: `PGROLES_BENCH_TARGETS` (10), `PGROLES_BENCH_TABLES` (10000), `PGROLES_BENCH_ROUNDS`
//! (5). Run: `eval "$(scripts/test-services | tail -1)" && cargo bench --bench fleet_verify`.
//! Prints markdown; asserts nothing about time.

#![recursion_limit = "256"]

#[path = "../tests/support/mod.rs"]
mod support;

use pgroles::config::TargetConfig;
use pgroles::model::Names;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::bot::{Options, Running, Tweak, World, APPROVER1, AUDIT};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let (targets, tables, rounds) = (
        env_or("PGROLES_BENCH_TARGETS", 10),
        env_or("PGROLES_BENCH_TABLES", 10_000),
        env_or("PGROLES_BENCH_ROUNDS", 5),
    );
    let world = World::start(15, "benchfleet").await;
    let result = bench(&world, targets, tables, rounds).await;
    world.cleanup().await;
    result
}

/// The application database of target `i` (target 0 is the world's own).
fn database(names: &Names, i: usize) -> String {
    if i == 0 {
        names.database.clone()
    } else {
        format!("{}-t{i}", names.database)
    }
}

async fn bench(world: &World, targets: usize, tables: usize, rounds: usize) -> anyhow::Result<()> {
    let names = world.model.names.clone();
    let started = Instant::now();
    let su = world.model.superuser().await;
    su.batch_execute(&format!("SET ROLE {}", support::pg::ident(&names.owner())))
        .await
        .map_err(|e| db("becoming the owner", &e))?;
    // Alone in its statement: the loop commits every 1,000 tables.
    su.batch_execute(&format!(
        "DO $$ BEGIN FOR i IN 1..{tables} LOOP \
           EXECUTE format('CREATE TABLE %I.%I (id int)', '{schema}', 't' || i); \
           IF i % 1000 = 0 THEN COMMIT; END IF; \
         END LOOP; END $$",
        schema = names.schema.replace('\'', "''"),
    ))
    .await
    .map_err(|e| db("creating the tables", &e))?;
    su.batch_execute("RESET ROLE; ANALYZE pg_catalog.pg_class")
        .await
        .map_err(|e| db("analyze", &e))?;
    drop(su);
    let postgres = support::pg::superuser(&world.model.pg, "postgres").await;
    for i in 1..targets {
        let copy = database(&names, i);
        postgres
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 \
                 AND pid <> pg_backend_pid()",
                &[&names.database],
            )
            .await
            .map_err(|e| db("ending sessions", &e))?;
        postgres
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE {} OWNER {}",
                support::pg::ident(&copy),
                support::pg::ident(&names.database),
                support::pg::ident(&names.owner())
            ))
            .await
            .map_err(|e| db("copying the database", &e))?;
        let mut model_names = names.clone();
        model_names.database = copy;
        let copy_model = support::model::Model {
            pg: world.model.pg.clone(),
            prefix: world.model.prefix.clone(),
            names: model_names,
            bootstrap_url: world.model.bootstrap_url.clone(),
        };
        copy_model.apply().await;
    }
    eprintln!(
        "{targets} databases of {tables} tables ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let base = world.model.broker_db_config(&world.broker_password);
    let db_names = names.clone();
    let tweak: Tweak = Arc::new(move |cfg, _| {
        for i in 0..targets {
            let mut database = base.clone();
            database.dbname = Some(database_name(&db_names, i));
            cfg.targets.insert(format!("t{i:02}"), TargetConfig { database, ..Default::default() });
        }
    });
    let opts = Options { tweak: Some(tweak), capture_logs: false, ..Options::default() };
    let prefix = world.prefix("benchfleet");
    let bot = world.launch(&opts, &support::redis::url(), &prefix).await?;

    // Warm: every target's pool opened once.
    verify(world, &bot, "verify all", "pgroles verify all").await?;
    let (mut singles, mut alls) = (vec![Vec::new(); targets], Vec::new());
    for _ in 0..rounds {
        for (i, single) in singles.iter_mut().enumerate() {
            let t = format!("t{i:02}");
            single.push(verify(world, &bot, &format!("verify {t}"), &format!("on `{t}`")).await?);
        }
        alls.push(verify(world, &bot, "verify all", "pgroles verify all").await?);
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    let singles: Vec<f64> = singles.into_iter().map(median).collect();
    let slowest = singles.iter().copied().fold(0.0, f64::max);
    let fastest = singles.iter().copied().fold(f64::MAX, f64::min);
    let all = median(alls);
    let sum: f64 = singles.iter().sum();
    println!(
        "{targets} targets x {tables} tables on one PostgreSQL 15; end to end through the fake \
         Slack; median of {rounds} rounds, ms.\n"
    );
    println!("| measure | ms | x slowest single |");
    println!("|---|---:|---:|");
    println!("| single target, fastest | {fastest:.1} | {:.2} |", fastest / slowest);
    println!("| single target, slowest (baseline) | {slowest:.1} | 1.00 |");
    println!("| sum of the singles (one after the other) | {sum:.1} | {:.2} |", sum / slowest);
    println!("| **verify all** | {all:.1} | **{:.2}** |", all / slowest);
    let verdict = if all <= 2.0 * slowest { "met" } else { "NOT met" };
    println!(
        "\nGoal: verify all <= 2x the slowest single target: {:.2}x ({verdict}).",
        all / slowest
    );
    Ok(())
}

fn db(what: &str, e: &tokio_postgres::Error) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", support::model::db_message(e))
}

fn database_name(names: &Names, i: usize) -> String {
    database(names, i)
}

/// Sends `/pgroles <text>` as APPROVER1 and waits for the new ephemeral answer holding
/// `needle`; returns the time from sending to the answer.
async fn verify(
    world: &World,
    bot: &Running,
    text: &str,
    needle: &str,
) -> anyhow::Result<Duration> {
    let before = world.fake.ephemerals(APPROVER1).len();
    let cmd = world.fake.slash_command("/pgroles", text, APPROVER1, AUDIT);
    let t = Instant::now();
    bot.sender.send_command(&cmd).await?;
    let needle = needle.to_owned();
    world
        .fake
        .wait_for(
            |ws| {
                ws.ephemerals(APPROVER1)
                    .into_iter()
                    .skip(before)
                    .find(|e| e.text.as_deref().unwrap_or_default().contains(&needle))
            },
            Duration::from_secs(60),
        )
        .await
        .map_err(|_| anyhow::anyhow!("no answer to /pgroles {text}"))?;
    Ok(t.elapsed())
}
