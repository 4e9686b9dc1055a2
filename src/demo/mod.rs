//! `pgroles demo`: the demo drill. Applies the role model to a loopback PostgreSQL, creates the
//! design's `orders` table as the migrator, starts the real bot against the Slack stand-in (the
//! `slack-fake` crate), plays one incident from request to verify report, and prints the
//! transcript as a person would read it in Slack, then a checklist. Exit 0 only if every step
//! happened.
//!
//! `scripts/demo` provides the throwaway PostgreSQL and Redis and tears them down. This module
//! must not be used against a real database: [`stage::Target::parse`] refuses non-loopback hosts.
//! It exists only with the cargo feature `demo` (on by default; the production build,
//! `--no-default-features`, leaves it and the stand-in out of the binary).
//!
//! - [`stage`]: PostgreSQL target, model, logins, `orders`, the bot and the Slack stand-in.
//! - [`incident`]: the people's side and the judgement of each step.
//! - [`transcript`]: output: timed lines, the Slack activity, the summary.
//! - [`slack_text`]: Block Kit and mrkdwn as plain text; password masking.

pub mod incident;
mod lifecycle;
pub mod slack_text;
pub mod stage;
pub mod transcript;

use crate::model::Names;
use anyhow::Context;
use slack_fake::Workspace;
use slack_text::Directory;
use stage::{BotSetup, Target, APPROVAL_WINDOW_SECS, GRANT_SECS, REMINDER_SECS};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use transcript::Transcript;

/// The people and the channel of the demo workspace.
pub const ALICE: &str = "U0ALICE001";
pub const BOB: &str = "U0BOB00001";
pub const AUDIT: &str = "C0INCAUD01";
pub const INCIDENT: &str = "INC-4242";

/// The steps of the drill, as the summary lists them.
pub mod step {
    pub const APPLY: &str = "role model applied";
    pub const ORDERS: &str = "orders created by the migrator as the owner";
    pub const BOT: &str = "bot started against the Slack stand-in";
    pub const REQUEST: &str = "request posted in #incident-audit";
    pub const OWN_REACTION: &str = "the requester's own approval did not count";
    pub const DELIVERED: &str = "approved by @bob; password sent by ephemeral DM";
    pub const LOGIN: &str = "real login as the firefighter";
    pub const SELECT: &str = "SELECT works";
    pub const UPDATE: &str = "UPDATE denied";
    pub const REMINDER: &str = "reminder before expiry";
    pub const EXPIRED: &str = "password expired; the thread counts 1 session ended";
    pub const SESSION_ENDED: &str = "the open session was ended";
    pub const LOGIN_REFUSED: &str = "a new login with the old password is refused";
    pub const VERIFY: &str = "/pgroles verify: no drift";
    pub const EXTENDED: &str = "extension asked by @alice, approved by @bob: VALID UNTIL moved";
    pub const RELEASED: &str = "a second grant released early with /firefighter done";
    pub const ALL: [&str; 16] = [
        APPLY,
        ORDERS,
        BOT,
        REQUEST,
        OWN_REACTION,
        DELIVERED,
        LOGIN,
        SELECT,
        UPDATE,
        EXTENDED,
        REMINDER,
        EXPIRED,
        SESSION_ENDED,
        LOGIN_REFUSED,
        VERIFY,
        RELEASED,
    ];
}

/// `pgroles demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Superuser connection to a throwaway PostgreSQL on loopback, e.g.
    /// postgres://postgres@127.0.0.1:5433/postgres (scripts/demo starts one).
    #[arg(long, env = "PGROLES_DEMO_PG_URL")]
    pub pg_url: String,
    /// Redis for the bot's timers and state.
    #[arg(long, env = "PGROLES_DEMO_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Role-name prefix instead of the design's `my_pg_` names (tests share one cluster).
    #[arg(long, hide = true)]
    pub prefix: Option<String>,
    /// Also close the cluster's other databases to the model's roles, as `pgroles apply
    /// --harden-cluster` does (scripts/demo passes it: the cluster is the demo's own). Without
    /// it, the closing verify reports `postgres` and `template1` as open to the model.
    #[arg(long)]
    pub harden_cluster: bool,
}

/// Runs the drill; exit 0 only if every step happened, 130 on Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.pg_url)?;
    let names = match &args.prefix {
        Some(p) => Names::with_prefix(p),
        None => Names::default(),
    };
    names.validate().map_err(anyhow::Error::msg).context("--prefix")?;
    let dir =
        Directory::default().user(ALICE, "alice").user(BOB, "bob").channel(AUDIT, "incident-audit");
    let t = Transcript::new(dir, "pgroles", &step::ALL);
    intro(&t, &target, &names, &args.redis_url);
    tokio::select! {
        played = drill(&t, &args, &target, &names) => played?,
        _ = tokio::signal::ctrl_c() => {
            t.line("✗", "interrupted (Ctrl-C)");
            t.summary();
            return Ok(ExitCode::from(130));
        }
    }
    Ok(if t.summary() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Sets the stage and plays the incident; every step is recorded in `t`.
async fn drill(
    t: &Arc<Transcript>,
    args: &DemoArgs,
    target: &Target,
    names: &Names,
) -> anyhow::Result<()> {
    let redis_prefix = match &args.prefix {
        Some(p) => format!("{p}:"),
        None => format!("pgroles-demo:{}:", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    };
    let mut report = stage::apply_model(target, names).await?;
    if args.harden_cluster {
        let hardened = stage::harden_cluster(target, names).await?;
        report.changes.extend(hardened.changes);
        report.refused.extend(hardened.refused);
    }
    let created = report.changes.iter().filter(|c| c.starts_with('+')).count();
    t.line(
        "setup",
        &format!(
            "role model applied to \"{}\" as the superuser: {} roles, {created} objects or grants \
             created, {} changed",
            names.database,
            names.all_roles().len(),
            report.changes.len() - created
        ),
    );
    if report.refused.is_empty() {
        t.done(step::APPLY);
    } else {
        t.failed(step::APPLY, &report.refused.join("; "));
    }
    let su = target.superuser(&names.database).await?;
    let migrator_password = stage::set_password(&su, &names.migrator()).await?;
    let broker_password = stage::set_password(&su, &names.broker()).await?;
    drop(su);
    let rows = stage::migrate_orders(target, names, &migrator_password).await?;
    t.line(
        "setup",
        &format!(
            "{} ran the first migration as {}: \"{}\".orders, {rows} rows",
            names.migrator(),
            names.owner(),
            names.schema
        ),
    );
    t.done(step::ORDERS);

    let bot = stage::start_bot(BotSetup {
        target,
        names,
        broker_password: &broker_password,
        redis_url: &args.redis_url,
        redis_prefix: &redis_prefix,
    })
    .await?;
    t.line(
        "setup",
        &format!(
            "bot listening on 127.0.0.1:{} (logs in as {}); Slack stand-in at {}",
            bot.port,
            names.broker(),
            bot.fake.api_url()
        ),
    );
    t.done(step::BOT);
    t.heading("");

    let watcher = t.watch(&bot.fake);
    incident::play(t, &bot, target, names).await;
    watcher.abort();
    // Calls still in flight are printed once answered (bounded: a hung call is left out).
    let answered = |ws: &Workspace| ws.all_calls().iter().all(|c| c.outcome != "pending");
    let _ = bot.fake.wait_for(|ws| answered(ws).then_some(()), Duration::from_secs(3)).await;
    t.sync(&bot.fake);
    Ok(())
}

fn intro(t: &Transcript, target: &Target, names: &Names, redis_url: &str) {
    t.heading(&format!(
        "pgroles demo: a firefighter incident on \"{db}\", with a local Slack stand-in\n\
         \x20 PostgreSQL {host}:{port} · Redis {redis} · audit channel #incident-audit\n\
         \x20 @alice is on call, @bob approves. Access lasts {GRANT_SECS}s here (at most 2 h in \
         production), reminder {REMINDER_SECS}s before, approvals wait {APPROVAL_WINDOW_SECS}s.\n\
         \x20 The password is shown masked (first 4 characters): it is a demo, but the habit \
         matters.\n",
        db = names.database,
        host = target.host,
        port = target.port,
        redis = crate::config::redact_url_password(redis_url),
    ));
}
