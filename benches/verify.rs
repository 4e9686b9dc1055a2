//! `pgroles verify` at scale: a fresh model on one cluster, its application schema grown to
//! 1,000, 10,000 and 50,000 tables (created as the owner, so default privileges apply), and at
//! each size, in the same run, interleaved, warm, median of 5:
//!
//! - floor: `SELECT count(*) FROM pg_class WHERE relnamespace = <schema oid>`;
//! - verify: the full `pgroles::verify::run` (every check), as the password broker, on one
//!   connection;
//! - verify, 2 connections: `pgroles::verify::run_with_helpers` with one more warm broker
//!   connection, so that the object scan is split over two server processes (as
//!   `pgroles verify --jobs 2` does);
//! - information_schema: the design's `role_table_grants` query, as the superuser (it shows
//!   only one's own grants to anyone else, so the broker would see nothing).
//!
//! Every query is sent with inline parameter types, as verify does (no prepare round trip).
//!
//! Env: `PGROLES_BENCH_PG` (superuser URL, default `postgres://postgres@127.0.0.1:5415/postgres`),
//! `PGROLES_BENCH_SIZES` (default `1000,10000,50000`), `PGROLES_BENCH_SHAPE`: `bare` tables
//! `(id int)`, one `pg_class` row each (default), or `realistic` ones with an identity primary
//! key and a text column (table, index, sequence, TOAST table and its index: five rows).
//! Everything lives under a unique prefix and is dropped at the end. Run through `scripts/bench-verify`, which records the table in
//! BENCHMARKS.md. Prints markdown; asserts nothing about time.

use chrono::Utc;
use pgroles::config::AuroraMode;
use pgroles::model::{apply, Names, RenderOptions};
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls};

const FLOOR: &str = "SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = $1::oid";
const INFORMATION_SCHEMA: &str = "SELECT grantee, table_schema, table_name, privilege_type \
     FROM information_schema.role_table_grants \
     WHERE table_schema = $1::text AND grantee IN ($2::text, $3::text, $4::text) \
     ORDER BY grantee, table_name, privilege_type";
const RUNS: usize = 5;

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn connect(cfg: &Config) -> anyhow::Result<Client> {
    let (client, conn) = cfg.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

struct Row {
    n: i64,
    floor: f64,
    verify: f64,
    split: f64,
    info: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("PGROLES_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5415/postgres".into());
    let sizes: Vec<i64> = std::env::var("PGROLES_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000,50000".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let shape = std::env::var("PGROLES_BENCH_SHAPE").unwrap_or_else(|_| "bare".into());
    let table = match shape.as_str() {
        "bare" => "(id int)",
        "realistic" => "(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)",
        other => anyhow::bail!("PGROLES_BENCH_SHAPE={other}: bare or realistic"),
    };
    let prefix = format!("bench_verify_{}", std::process::id());
    let names = Names::with_prefix(&prefix);
    let bootstrap = Config::from_str(&url)?;
    let result = bench(&bootstrap, &names, &sizes, table).await;
    cleanup(&bootstrap, &names, &prefix).await;
    let rows = result?;

    let su = connect(&bootstrap).await?;
    let version: String = su.query_one("SHOW server_version", &[]).await?.get(0);
    println!("PostgreSQL {version}; tables `{table}` ({shape}); warm runs, median of {RUNS}, milliseconds; verify as the broker, information_schema as the superuser.\n");
    println!("| tables | floor: count(*) | verify, 1 connection (x floor) | verify, 2 connections (x floor) | information_schema | information_schema / verify |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.1} ({:.2}x) | {:.1} ({:.2}x) | {:.1} | {:.1}x |",
            r.n,
            r.floor,
            r.verify,
            r.verify / r.floor,
            r.split,
            r.split / r.floor,
            r.info,
            r.info / r.verify
        );
    }
    if let Some(r) = rows.iter().max_by_key(|r| r.n) {
        let (one, two, speedup) = (r.verify / r.floor, r.split / r.floor, r.info / r.verify);
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "\nGoals at {} tables: verify <= 1.3x the floor: {:.2}x on 2 connections ({}), {:.2}x \
             on 1 ({}); information_schema {:.1}x slower than verify on 1 connection (goal >= \
             10x: {}).",
            r.n,
            two,
            verdict(two <= 1.3),
            one,
            verdict(one <= 1.3),
            speedup,
            verdict(speedup >= 10.0)
        );
    }
    Ok(())
}

async fn bench(
    bootstrap: &Config,
    names: &Names,
    sizes: &[i64],
    table: &str,
) -> anyhow::Result<Vec<Row>> {
    let opts = RenderOptions { mode: AuroraMode::Vanilla, iam_roles: vec![] };
    apply::apply(bootstrap, NoTls, names, &opts).await?;
    let mut db = bootstrap.clone();
    db.dbname(&names.database);
    let su = connect(&db).await?;
    let password = format!("bench-{}", uuid::Uuid::new_v4().simple());
    su.batch_execute(&format!("ALTER ROLE {} PASSWORD '{password}'", ident(&names.broker())))
        .await?;
    let mut as_broker = db.clone();
    as_broker.user(names.broker()).password(password.as_bytes());
    let broker = connect(&as_broker).await?;
    let helper = connect(&as_broker).await?;
    let schema_oid: u32 = su
        .query_one("SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1", &[&names.schema])
        .await?
        .get(0);

    let (app, ro, rw) = (
        names.app(),
        names.firefighter(pgroles::model::Level::Ro),
        names.firefighter(pgroles::model::Level::Rw),
    );
    let mut rows = Vec::new();
    let mut have = 0i64;
    for &n in sizes {
        let started = Instant::now();
        su.batch_execute(&format!("SET ROLE {}", ident(&names.owner()))).await?;
        // One DO block, committing every 1,000 tables (one transaction would run out of locks).
        let schema = format!("'{}'", names.schema.replace('\'', "''"));
        su.batch_execute(&format!(
            "DO $$ BEGIN FOR i IN {from}..{n} LOOP \
               EXECUTE format('CREATE TABLE %I.%I {table}', {schema}, 't' || i); \
               IF i % 1000 = 0 THEN COMMIT; END IF; \
             END LOOP; END $$",
            from = have + 1,
        ))
        .await?;
        su.batch_execute("RESET ROLE; ANALYZE pg_catalog.pg_class").await?;
        eprintln!("created tables {}..{n} in {:.1}s", have + 1, started.elapsed().as_secs_f64());
        have = n;

        let (mut floor, mut verify, mut split, mut info) = (vec![], vec![], vec![], vec![]);
        for run in 0..=RUNS {
            let t = Instant::now();
            let count: i64 =
                broker.query_typed(FLOOR, &[(&schema_oid, Type::OID)]).await?[0].get(0);
            let d_floor = t.elapsed();
            let t = Instant::now();
            let report = pgroles::verify::run(&broker, names, Utc::now()).await?;
            let d_verify = t.elapsed();
            let t = Instant::now();
            let min_pages = pgroles::verify::snapshot::SPLIT_MIN_PAGES;
            let report2 = pgroles::verify::run_with_helpers(
                &broker,
                &[&helper],
                min_pages,
                names,
                Utc::now(),
            )
            .await?;
            let d_split = t.elapsed();
            let t = Instant::now();
            let grants = su
                .query_typed(
                    INFORMATION_SCHEMA,
                    &[
                        (&names.schema, Type::TEXT),
                        (&app, Type::TEXT),
                        (&ro, Type::TEXT),
                        (&rw, Type::TEXT),
                    ],
                )
                .await?;
            let d_info = t.elapsed();
            if run == 0 {
                // Warm-up, and a sanity check that every approach saw the same schema.
                eprintln!(
                    "N={n}: pg_class rows {count}, objects checked {}, findings {}, information_schema rows {}",
                    report.summary.objects_checked,
                    report.findings.len(),
                    grants.len()
                );
                anyhow::ensure!(report.findings.is_empty(), "the benchmark model drifted");
                anyhow::ensure!(report2.findings == report.findings, "the split scan disagrees");
                anyhow::ensure!(
                    grants.len() as i64 == 8 * n,
                    "information_schema saw {} rows",
                    grants.len()
                );
                continue;
            }
            floor.push(d_floor);
            verify.push(d_verify);
            split.push(d_split);
            info.push(d_info);
        }
        rows.push(Row {
            n,
            floor: median(floor),
            verify: median(verify),
            split: median(split),
            info: median(info),
        });
    }
    Ok(rows)
}

async fn cleanup(bootstrap: &Config, names: &Names, prefix: &str) {
    let Ok(su) = connect(bootstrap).await else { return };
    let drop_db = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(&names.database));
    if let Err(e) = su.batch_execute(&drop_db).await {
        eprintln!("cleanup: {drop_db}: {e}");
    }
    let roles: Vec<String> = su
        .query("SELECT rolname::text FROM pg_roles WHERE starts_with(rolname, $1)", &[&prefix])
        .await
        .map(|rows| rows.iter().map(|r| ident(r.get::<_, &str>(0))).collect())
        .unwrap_or_default();
    if !roles.is_empty() {
        let list = roles.join(", ");
        let sql = format!("DROP OWNED BY {list} CASCADE; DROP ROLE {list}");
        if let Err(e) = su.batch_execute(&sql).await {
            eprintln!("cleanup: {e}");
        }
    }
}
