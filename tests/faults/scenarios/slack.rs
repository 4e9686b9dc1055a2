//! The Slack Web API failing: rate limited (429 + Retry-After), 5xx, and a call that outlives
//! the client's timeout. Within the retry limits the grant goes through; beyond them the
//! password is expired at once and the thread says why. No audit entry goes missing: every
//! `issue` row has its `expire` row and its notes in the request's thread.

use super::crash::SLACK;
use super::run;
use crate::evidence::{settle, Bound, Row};
use crate::harness::*;
use pgroles::model::Level;
use slack_fake::FakeFault;

pub async fn slack_failing() -> Row {
    run("Slack API rate limited, 5xx, timeouts", |w, row| Box::pin(failing(w, row))).await
}

fn outcomes(w: &World, method: &str) -> Vec<String> {
    w.fake.calls(method).into_iter().map(|c| c.outcome).collect()
}

async fn failing(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let bot = w.bot().await?;
    let s = w.sender(&bot);

    // a) The request message is rate limited once; the DM's two calls fail once each.
    w.fake.fail_next("chat.postMessage", FakeFault::RateLimited { retry_after_secs: 1 }, 1);
    let a = w.request(&s, Level::Ro, "INC-311").await?;
    let posts = outcomes(w, "chat.postMessage");
    row.check(
        posts.starts_with(&["http_429".into(), "ok".into()]),
        format!("429 then ok: {posts:?}"),
    );
    w.fake.fail_next("conversations.open", FakeFault::Status(500), 1);
    w.fake.fail_next("chat.postEphemeral", FakeFault::Status(503), 1);
    w.react(&s, APPROVER1, &a.ts).await?;
    w.password_dm(1).await?;
    w.thread_note(&a.ts, "Access issued", WAIT).await?;

    // b) The DM fails on every attempt: expired at once, said in the thread.
    w.fake.fail_next("chat.postEphemeral", FakeFault::Status(500), 3);
    let b = w.request(&s, Level::Rw, "INC-312").await?;
    w.react(&s, APPROVER1, &b.ts).await?;
    w.react(&s, APPROVER2, &b.ts).await?;
    w.thread_note(&b.ts, "could not be delivered", WAIT).await?;
    let dm_tries = outcomes(w, "chat.postEphemeral").iter().filter(|o| *o == "http_500").count();
    row.check(dm_tries == 3, format!("the DM was tried 3 times, got {dm_tries}"));

    // c) After a's end: conversations.open outlives the 10 s call timeout once, then works.
    w.thread_note(&a.ts, "Password expired", DURATION + WAIT).await?;
    w.fake.fail_next("conversations.open", FakeFault::Delay(10_500), 1);
    let c = w.request(&s, Level::Ro, "INC-313").await?;
    w.react(&s, APPROVER1, &c.ts).await?;
    w.password_dm_within(2, 2 * WAIT).await?;
    w.thread_note(&c.ts, "Access issued", WAIT).await?;
    w.thread_note(&c.ts, "Password expired", DURATION + WAIT).await?;
    let opens = outcomes(w, "conversations.open");
    row.note(format!("conversations.open outcomes: {opens:?}"));

    // The audit trail in Slack matches the audit table.
    for (m, issued) in
        [(&a, "Access issued"), (&b, "could not be delivered"), (&c, "Access issued")]
    {
        let thread = w.thread_texts(&m.ts).join("\n");
        row.check(thread.contains(issued), format!("thread of {} says {issued:?}", m.ts));
    }
    for m in [&a, &c] {
        let thread = w.thread_texts(&m.ts).join("\n");
        row.check(
            thread.contains("Password expired"),
            format!("thread of {} has the expiry", m.ts),
        );
    }
    settle(w, row, Bound::After(SLACK), false).await;
    Ok(())
}
