//! `kill -9` of the bot process at each step of a grant, then a restart: after approval (before
//! the password), after the password is set (DM not sent yet), while the DM is in flight, after
//! the DM, and in the middle of the expiry (after the timer claim, before its ack). The fake
//! Slack stalls the call of that step (`FakeFault::Delay`) so the kill lands exactly there.

use super::run;
use crate::evidence::{self, settle, Bound, Row};
use crate::harness::*;
use pgroles::model::Level;
use slack_fake::FakeFault;
use std::time::{Duration, Instant};

/// Expiry may lag the grant's end by the worker's poll, a restart and a loaded machine.
pub const SLACK: Duration = Duration::from_secs(6);
const STALL_MS: u64 = 8_000;

pub async fn kill_after_approval() -> Row {
    run("kill -9 after approval, before the password", |w, row| Box::pin(after_approval(w, row)))
        .await
}

async fn after_approval(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let mut bot = w.bot().await?;
    let s = w.sender(&bot);
    let req = w.request(&s, Level::Ro, "INC-101").await?;
    // The first update after the approval shows it, before the password is set. (Thread notes
    // go through the outbox and no longer hold the workflow up, so they cannot stall it.)
    w.fake.fail_next("chat.update", FakeFault::Delay(STALL_MS), 1);
    w.react(&s, APPROVER1, &req.ts).await?;
    w.stalled("chat.update").await?;
    bot.kill9().await;
    let issued = evidence::audit(w).await?.iter().filter(|r| r.event == "issue").count();
    row.check(issued == 0, "no password was set before the crash");
    bot.restart().await?;
    let s = w.sender(&bot);
    // A new request for the level: refused while the crashed request still claims the level
    // (until its approval window ends), then approved, delivered and expired.
    let crashed_at = Instant::now();
    let again = loop {
        match w.request(&s, Level::Ro, "INC-102").await {
            Ok(m) => break m,
            Err(e) if crashed_at.elapsed() < APPROVAL_WINDOW + WAIT => {
                let refused = format!("{e:#}").contains("being opened or decided");
                anyhow::ensure!(refused, "unexpected answer: {e:#}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let locked = crashed_at.elapsed().as_secs_f64();
    if locked > 5.0 {
        row.note(format!(
            "after the crash the level stayed locked {locked:.0}s (the approval window): new \
             requests were refused as 'being opened or decided'"
        ));
    }
    w.react(&s, APPROVER1, &again.ts).await?;
    w.password_dm(1).await?;
    w.thread_note(&again.ts, "Password expired", DURATION + WAIT).await?;
    let told =
        w.thread_texts(&req.ts).iter().any(|t| t.contains("could not") || t.contains("no access"));
    if !told {
        row.note(
            "the crashed request is settled by its issuing deadline (60 s after the approval), \
             after this scenario ends",
        );
    }
    settle(w, row, Bound::After(SLACK), false).await;
    Ok(())
}

pub async fn kill_before_dm() -> Row {
    run("kill -9 after the password is set, before the DM", |w, row| Box::pin(before_dm(w, row)))
        .await
}

async fn before_dm(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let mut bot = w.bot().await?;
    let s = w.sender(&bot);
    let req = w.request(&s, Level::Ro, "INC-201").await?;
    w.fake.fail_next("conversations.open", FakeFault::Delay(STALL_MS), 1);
    w.react(&s, APPROVER1, &req.ts).await?;
    w.stalled("conversations.open").await?;
    bot.kill9().await;
    let live = evidence::unexpired(w).await?;
    row.check(live.len() == 1, format!("the password was set before the crash: {live:?}"));
    bot.restart().await?;
    // The restarted bot's first reconcile ends the undelivered grant at once and says so.
    w.thread_note(&req.ts, "could not be delivered", WAIT).await?;
    settle(w, row, Bound::After(SLACK), true).await;
    Ok(())
}

pub async fn kill_during_dm() -> Row {
    run("kill -9 while the DM is in flight", |w, row| Box::pin(during_dm(w, row))).await
}

async fn during_dm(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let mut bot = w.bot().await?;
    let s = w.sender(&bot);
    let req = w.request(&s, Level::Ro, "INC-301").await?;
    w.fake.fail_next("chat.postEphemeral", FakeFault::Delay(STALL_MS), 1);
    w.react(&s, APPROVER1, &req.ts).await?;
    w.stalled("chat.postEphemeral").await?;
    bot.kill9().await;
    bot.restart().await?;
    // The process that was delivering died: the restarted bot cannot know whether the DM
    // arrived, so it ends the grant at once (fail closed) and says so.
    w.thread_note(&req.ts, "could not be delivered", WAIT).await?;
    let shown = w.fake.with(dm_passwords).len();
    row.note(format!("the stalled DM was shown by Slack after the crash: {}", shown == 1));
    settle(w, row, Bound::After(SLACK), true).await;
    Ok(())
}

pub async fn kill_after_dm() -> Row {
    run("kill -9 after the DM", |w, row| Box::pin(after_dm(w, row))).await
}

async fn after_dm(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let mut bot = w.bot().await?;
    let s = w.sender(&bot);
    let req = w.request(&s, Level::Ro, "INC-401").await?;
    // chat.update #1 shows the approval; #2 (stalled) shows "issued", right after the DM.
    w.fake.fail_next("chat.update", FakeFault::Delay(1), 1);
    w.fake.fail_next("chat.update", FakeFault::Delay(STALL_MS), 1);
    w.react(&s, APPROVER1, &req.ts).await?;
    let password = w.password_dm(1).await?;
    w.stalled("chat.update").await?;
    bot.kill9().await;
    let session = w.login(Level::Ro, &password).await?;
    bot.restart().await?;
    w.thread_note(&req.ts, "Password expired", DURATION + WAIT).await?;
    let ended = tokio::time::timeout(Duration::from_secs(5), session.query_one("SELECT 1", &[]))
        .await
        .map_or(true, |r| r.is_err());
    row.check(ended, "the session opened while the bot was down was ended at expiry");
    settle(w, row, Bound::After(SLACK), false).await;
    Ok(())
}

pub async fn kill_during_expiry() -> Row {
    run("kill -9 during expiry (claimed, not acked)", |w, row| Box::pin(during_expiry(w, row)))
        .await
}

async fn during_expiry(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let mut bot = w.bot().await?;
    let s = w.sender(&bot);
    let req = w.request(&s, Level::Ro, "INC-501").await?;
    w.react(&s, APPROVER1, &req.ts).await?;
    let password = w.password_dm(1).await?;
    let session = w.login(Level::Ro, &password).await?;
    w.thread_note(&req.ts, "Access issued", WAIT).await?;
    // The next update shows the request as expired: after the password expired and the
    // expiry note was queued in the outbox, before the timer's ack.
    w.fake.fail_next("chat.update", FakeFault::Delay(STALL_MS), 1);
    w.wait(DURATION + WAIT, |ws| {
        ws.calls("chat.update").iter().any(|c| c.outcome == "pending").then_some(())
    })
    .await?;
    bot.kill9().await;
    let ended = tokio::time::timeout(Duration::from_secs(5), session.query_one("SELECT 1", &[]))
        .await
        .map_or(true, |r| r.is_err());
    row.check(ended, "the session was ended before the crash");
    bot.restart().await?;
    // The claimed timer comes back after its lease and is acked by the new process.
    let started = Instant::now();
    let drained = wait_timers_drained(w, Duration::from_secs(90)).await;
    row.check(drained, "the claimed Expire timer was finished after the restart");
    row.note(format!(
        "the claimed timer was re-run and acked {:.0}s after the restart (its lease)",
        started.elapsed().as_secs_f64()
    ));
    settle(w, row, Bound::After(SLACK), false).await;
    Ok(())
}

/// Waits until no timer is due or claimed under the prefix.
pub async fn wait_timers_drained(w: &World, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(mut conn) = w.redis_conn().await {
            let due: Result<u64, _> =
                redis::cmd("ZCARD").arg(format!("{PREFIX}timers:due")).query_async(&mut conn).await;
            let inflight: Result<u64, _> = redis::cmd("ZCARD")
                .arg(format!("{PREFIX}timers:inflight"))
                .query_async(&mut conn)
                .await;
            if matches!((due, inflight), (Ok(0), Ok(0))) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}
