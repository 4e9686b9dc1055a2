//! The audit trail is never lost: `chat.postMessage` rate limited 10 times in a row around
//! expiry, with the bot running throughout, and again with the bot `kill -9`'d while the expiry
//! note waits in the outbox and restarted. Either way the expiry note lands in the request's
//! thread, after the notes queued before it.

use super::crash::SLACK;
use super::run;
use crate::evidence::{settle, Bound, Row};
use crate::harness::*;
use pgroles::model::Level;
use slack_fake::FakeFault;

const LIMITED: usize = 10;

pub async fn rate_limited_expiry_note() -> Row {
    run("expiry note rate limited 10x", |w, row| Box::pin(limited(w, row, false))).await
}

pub async fn rate_limited_expiry_note_across_restart() -> Row {
    run("expiry note rate limited 10x, kill -9 + restart", |w, row| Box::pin(limited(w, row, true)))
        .await
}

/// The outbox bodies in the scenario's Redis.
async fn queued(w: &World) -> anyhow::Result<Vec<String>> {
    let mut conn = w.redis_conn().await?;
    Ok(redis::cmd("HVALS").arg(format!("{PREFIX}outbox:body")).query_async(&mut conn).await?)
}

async fn limited(w: &World, row: &mut Row, restart: bool) -> anyhow::Result<()> {
    let mut bot = w.bot().await?;
    let s = w.sender(&bot);
    let req = w.request(&s, Level::Ro, "INC-601").await?;
    w.react(&s, APPROVER1, &req.ts).await?;
    w.password_dm(1).await?;
    w.thread_note(&req.ts, "Access issued", WAIT).await?;
    // Every post from here on (the expiry note first of all) is refused 10 times in a row,
    // each time with Retry-After: 2 s.
    w.fake.fail_next("chat.postMessage", FakeFault::RateLimited { retry_after_secs: 2 }, LIMITED);
    if restart {
        // The note is in Redis and Slack has refused it at least once: kill the bot.
        let deadline = std::time::Instant::now() + DURATION + WAIT;
        loop {
            let refused =
                w.fake.calls("chat.postMessage").iter().filter(|c| c.outcome == "http_429").count();
            let waiting = queued(w).await?.iter().any(|b| b.contains("Password expired"));
            if waiting && refused >= 1 {
                break;
            }
            anyhow::ensure!(std::time::Instant::now() < deadline, "the expiry note never queued");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        bot.kill9().await;
        row.note("killed with the expiry note queued in Redis");
        bot.restart().await?;
    }
    let mut budget = DURATION + WAIT + std::time::Duration::from_secs(2 * LIMITED as u64);
    if restart {
        // kill -9 may land while the killed process holds the note's lane (a post in flight):
        // the restarted process takes the lane over when that claim's lease runs out.
        budget += pgroles::slack::outbox::OutboxPolicy::default().lease;
    }
    w.thread_note(&req.ts, "Password expired", budget).await?;
    let refused =
        w.fake.calls("chat.postMessage").iter().filter(|c| c.outcome == "http_429").count();
    row.check(refused == LIMITED, format!("Slack refused {LIMITED} posts, saw {refused}"));
    let thread = w.thread_texts(&req.ts);
    let issued = thread.iter().position(|t| t.contains("Access issued"));
    let expired = thread.iter().position(|t| t.contains("Password expired"));
    row.check(issued < expired, format!("the thread reads in order: {thread:?}"));
    // Slack has the note; the bot marks it delivered once Slack's answer is back: wait for that.
    let deadline = std::time::Instant::now() + WAIT;
    let mut left = queued(w).await?;
    while !left.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        left = queued(w).await?;
    }
    row.check(left.is_empty(), format!("the outbox is empty at the end: {left:?}"));
    settle(w, row, Bound::After(SLACK), false).await;
    Ok(())
}
