//! The bot's latency and footprint, each next to a baseline from the same run:
//!
//! 1. slash-command ack latency under an open-loop load (default 200 req/s for 10 s) for
//!    `/firefighter help`, `status` and `ro INC-n`, against `GET /healthz` (no signature, no
//!    work) before and after; goal p99 <= 10 ms;
//! 2. approval reaction -> password DM received by Slack, over 30 grants with the shared role
//!    and 30 with per-person logins (`access.identity`), against the broker's `issue` and
//!    `create_person_login` alone and bare fake-Slack calls; goals p50 <= 25 ms, p99 <= 60 ms,
//!    per-person p99 <= 1.25 x the shared grant's;
//! 3. idle RSS of the `pgroles serve` process (the binary cargo built for this bench: the
//!    release one under `cargo bench`); goal <= 30 MB;
//! 4. that binary's size on disk; goal <= 30 MB (1 MB = 10^6 bytes here, the stricter reading).
//!
//! Needs the test services: PostgreSQL 15 from `PGROLES_TEST_PG` (default
//! `15=postgres://postgres@127.0.0.1:5415/postgres`) and Redis (`PGROLES_TEST_REDIS`, default
//! 127.0.0.1:6379). Knobs: `PGROLES_BENCH_RATE`, `PGROLES_BENCH_SECS`, `PGROLES_BENCH_GRANTS`,
//! `PGROLES_BENCH_BIN` (the binary for 3 and 4).
//! Run: `cargo bench --bench bot` (or `scripts/bench`). Everything runs in this process except
//! the `serve` child; the bot gets a 2-worker runtime, like `#[tokio::main]` on 2 cores.

// The benchmark is one long async main; its future nests deeper than the default.
#![recursion_limit = "256"]

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "bot/ack.rs"]
mod ack;
#[path = "bot/approval.rs"]
mod approval;
#[path = "bot/process.rs"]
mod process;
#[path = "bot/report.rs"]
mod report;
#[path = "bot/setup.rs"]
mod setup;
#[path = "bot/stats.rs"]
mod stats;

use pgroles::config::Identity;
use report::Report;
use std::path::PathBuf;
use std::time::Duration;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("PGROLES_TEST_PG").is_none() {
        // Before any thread exists.
        std::env::set_var("PGROLES_TEST_PG", "15=postgres://postgres@127.0.0.1:5415/postgres");
    }
    pgroles::broker::tls::install_crypto_provider();
    // Log like production (JSON at info), into a sink: the formatting cost is part of the bot.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let world = setup::start().await;
        let mut report = Report::start();
        let result = run(&world, &mut report).await;
        world.cleanup().await;
        report.print();
        result
    })
}

async fn run(f: &support::bot::World, report: &mut Report) -> anyhow::Result<()> {
    let rate = knob("PGROLES_BENCH_RATE", 200) as f64;
    let n = (rate * knob("PGROLES_BENCH_SECS", 10) as f64) as usize;
    let grants = knob("PGROLES_BENCH_GRANTS", 30) as usize;

    eprintln!("1/4 slash-command acks: {n} requests per phase at {rate}/s");
    let bot = setup::bot(f, false, Identity::Shared).await?;
    let secret = bot.signing_secret.clone();
    let phases: Vec<(&str, Vec<ack::Prepared>)> = vec![
        ("baseline: GET /healthz", ack::healthz(n)),
        ("/firefighter help", ack::commands(f, &secret, n, |_| "help".into(), "/firefighter")),
        ("/firefighter status", ack::commands(f, &secret, n, |_| "status".into(), "Working on it")),
        (
            // The answer is decided before it is sent: the first request is admitted ("Asking
            // the approvers for ro"), the rest are refused as pending ("A request for ro …").
            "/firefighter ro INC-n (distinct n; decided before the answer)",
            ack::commands(f, &secret, n, |i| format!("ro INC-{}", 10_000 + i), "for ro"),
        ),
        ("baseline again: GET /healthz", ack::healthz(n)),
    ];
    for (name, reqs) in phases {
        let phase = ack::open_loop(name, bot.port, reqs, rate).await?;
        report.ack(phase);
        // Let the spawned slow halves (response_url replies) finish before the next phase.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    drop(bot);

    eprintln!("2/4 approval reaction -> DM over {grants} grants, shared role then per-person");
    let bot = setup::bot(f, true, Identity::Shared).await?;
    report.approval(approval::reaction_to_dm(f, &bot, grants, approval::SHARED, 90_000).await?);
    drop(bot);
    let bot = setup::bot(f, true, Identity::PerPerson).await?;
    report.approval(approval::reaction_to_dm(f, &bot, grants, approval::PER_PERSON, 80_000).await?);
    report.approval(approval::baselines(f, &bot, grants).await?);
    drop(bot);

    // The binary cargo built for this bench, unless PGROLES_BENCH_BIN names another (e.g. a copy
    // of `cargo build --release --bin pgroles`).
    let bin = std::env::var_os("PGROLES_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pgroles")));
    let bin = bin.as_path();
    eprintln!("3/4 idle RSS of {} serve", bin.display());
    report.serve(bin, process::serve_rss(f, bin, 5, 1000).await?);

    eprintln!("4/4 binary size");
    report.size(bin, process::size(bin)?);
    Ok(())
}
