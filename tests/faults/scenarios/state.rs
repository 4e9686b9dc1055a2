//! The state stores failing mid-grant: Redis restarted (no persistence: every key lost) while
//! the bot runs, Redis flushed and the bot restarted, and PostgreSQL unreachable at expiry (the
//! bot's database port goes through a [`TcpProxy`] the test stops and starts).

use super::crash::SLACK;
use super::run;
use crate::evidence::{settle, Bound, Row};
use crate::harness::*;
use crate::process::BotProcess;
use crate::proxy::TcpProxy;
use chrono::Utc;
use pgroles::model::Level;
use std::time::Duration;

const RESTORED: &str = "with a live password and no expiry timer";
/// What the reconciler posts when the password already ended at its VALID UNTIL (the grant's
/// planned end, I11-6) but a session of it is still open.
const ORPHANS_ENDED: &str = "which holds no active grant";

pub async fn redis_restarted() -> Row {
    run("Redis restarted mid-grant (data lost)", |w, row| Box::pin(restarted(w, row))).await
}

async fn restarted(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let bot = w.bot().await?;
    let s = w.sender(&bot);
    let session = issue(w, &s, "INC-601").await?;
    tokio::task::block_in_place(|| w.restart_redis());
    // No restart of the bot: its periodic reconciler (every 60 s) must notice.
    restored_then_revoked(w, row, session, Duration::from_secs(80)).await
}

pub async fn redis_flushed() -> Row {
    run("Redis FLUSHALL mid-grant, bot restarted", |w, row| Box::pin(flushed(w, row))).await
}

async fn flushed(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let mut bot = w.bot().await?;
    let s = w.sender(&bot);
    let session = issue(w, &s, "INC-701").await?;
    w.flushall().await?;
    bot.kill9().await;
    bot.restart().await?;
    // The reconciler runs at start.
    restored_then_revoked(w, row, session, WAIT).await
}

/// Requests, approves and logs in with the DM's password; returns the open session.
async fn issue(
    w: &World,
    s: &slack_fake::SlackEventSender,
    incident: &str,
) -> anyhow::Result<tokio_postgres::Client> {
    let req = w.request(s, Level::Ro, incident).await?;
    w.react(s, APPROVER1, &req.ts).await?;
    let password = w.password_dm(1).await?;
    w.thread_note(&req.ts, "Access issued", WAIT).await?;
    Ok(w.login(Level::Ro, &password).await?)
}

async fn restored_then_revoked(
    w: &World,
    row: &mut Row,
    session: tokio_postgres::Client,
    within: Duration,
) -> anyhow::Result<()> {
    // A reconciler that runs before the planned end restores the expiry timer; one that runs
    // after it finds the password already ended by the database (VALID UNTIL is the planned
    // end) and ends the session that outlived it.
    w.wait(within, |ws| {
        ws.messages(AUDIT)
            .iter()
            .any(|m| text_of(m).contains(RESTORED) || text_of(m).contains(ORPHANS_ENDED))
            .then_some(())
    })
    .await?;
    // Redis lost the grant, not its planned end: that is in the issue's audit row, so the
    // restored expiry is due at the grant's own end (already past here), not at the
    // database's VALID UNTIL cap.
    let left = crate::evidence::wait_all_expired(w, Duration::from_secs(15)).await;
    row.check(left.is_empty(), format!("the grant outlived its planned end: {left:?}"));
    // VALID UNTIL is the planned end (I11-6), so the password stops at that instant; the bot's
    // expiry (PASSWORD NULL, sessions ended) follows within its timer's latency.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let ended = loop {
        let alive =
            tokio::time::timeout(Duration::from_secs(5), session.query_one("SELECT 1", &[]))
                .await
                .is_ok_and(|r| r.is_ok());
        if !alive || tokio::time::Instant::now() > deadline {
            break !alive;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    row.check(ended, "the open session was ended at the restored expiry");
    row.note(
        "the grant's own end was lost with Redis; the reconciler read the planned end back from \
         the audit row and expired it then (late by the time Redis was gone)",
    );
    settle(w, row, Bound::DatabaseCap, false).await;
    Ok(())
}

pub async fn postgres_unreachable() -> Row {
    run("PostgreSQL unreachable at expiry", |w, row| Box::pin(unreachable(w, row))).await
}

const OUTAGE: Duration = Duration::from_secs(3);

async fn unreachable(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let proxy = TcpProxy::start(([127, 0, 0, 1], w.pg_port()).into()).await?;
    let bot = BotProcess::start(w.spec(proxy.port())?).await?;
    let s = w.sender(&bot);
    let req = w.request(&s, Level::Ro, "INC-801").await?;
    w.react(&s, APPROVER1, &req.ts).await?;
    let password = w.password_dm(1).await?;
    let session = w.login(Level::Ro, &password).await?;
    w.thread_note(&req.ts, "Access issued", WAIT).await?;
    let issued_at = crate::evidence::audit(w)
        .await?
        .iter()
        .find(|r| r.event == "issue")
        .map(|r| r.at)
        .ok_or_else(|| anyhow::anyhow!("no issue row"))?;
    let cut_at = issued_at + chrono::Duration::from_std(DURATION)? - chrono::Duration::seconds(2);
    if let Ok(wait) = (cut_at - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    proxy.stop().await;
    w.thread_note(&req.ts, "could not be expired yet", DURATION + WAIT).await?;
    // The bot could not expire it, but VALID UNTIL is the grant's planned end (I11-6): the
    // database itself stops the password at that end.
    let live = crate::evidence::wait_all_expired(w, Duration::from_secs(5)).await;
    row.check(
        live.is_empty(),
        format!("the password outlived its end while unreachable: {live:?}"),
    );
    tokio::time::sleep(OUTAGE).await;
    proxy.resume().await?;
    w.thread_note(&req.ts, "Password expired", WAIT).await?;
    let ended = tokio::time::timeout(Duration::from_secs(5), session.query_one("SELECT 1", &[]))
        .await
        .map_or(true, |r| r.is_err());
    row.check(ended, "the session was ended once the database was back");
    row.note("expiry retried while the database was unreachable; told in the thread once");
    // Outage (about 2 s before the end + OUTAGE) plus the retry back-off (2 s, 4 s, 8 s).
    settle(w, row, Bound::After(SLACK + OUTAGE + Duration::from_secs(8)), false).await;
    Ok(())
}
