//! What the requester and the humans are told, and that it is never lost: DMs on deny,
//! timeout, revoke and a failed issue; the failed issue alerted in the audit channel; resend
//! noted in the thread; the expiry note through 10 rate limits in a row, with the outbox's
//! depth in `/metrics` meanwhile; and a bot that dies right after storing a denial or a timeout
//! still posts their notes (they were committed with the change).

use crate::helpers::*;
use pgroles::access::{Request, RequestState};
use pgroles::timers::CommitHook;
use slack_fake::FakeFault;
use std::sync::Arc;

#[tokio::test]
async fn a_denied_request_and_a_timed_out_one_are_told_to_the_requester_by_dm() {
    let bot = spawn_bot(Options { approval_window_secs: 2, ..Options::default() }).await;
    bot.command(REQUESTER, "ro INC-70").await;
    let first = bot.request_message(0).await;
    bot.thread_note(&first.ts, "Timed out").await;
    bot.dm_message(REQUESTER, "Your ro request for INC-70 timed out").await;

    bot.command(REQUESTER, "rw INC-71").await;
    let second = bot.request_message(1).await;
    bot.react(APPROVER1, "x", &second.ts).await;
    bot.thread_note(&second.ts, "Denied by").await;
    let dm = bot.dm_message(REQUESTER, "INC-71 was denied").await;
    assert!(text_of(&dm).contains(&format!("<@{APPROVER1}>")), "{}", text_of(&dm));
    bot.model.drop().await;
}

/// The bot "dies" the moment the denial is stored: the handler never gets past the store (the
/// commit hook never returns), where the notes used to be queued. The outbox, which got them in
/// the same Redis step as the denial, still posts the thread note and the requester's DM.
#[tokio::test]
async fn a_bot_that_dies_right_after_storing_a_denial_still_tells_the_thread_and_the_requester() {
    let (stored_tx, mut stored_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let hook: CommitHook = Arc::new(move |r: &Request| {
        if matches!(r.state(), RequestState::Denied { .. }) {
            let _ = stored_tx.send(r.id().to_string());
            Box::pin(std::future::pending::<()>())
        } else {
            Box::pin(std::future::ready(()))
        }
    });
    let bot = spawn_bot(Options { commit_hook: Some(hook), ..Options::default() }).await;
    bot.command(REQUESTER, "rw INC-76").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, "x", &request.ts).await;
    let denied = tokio::time::timeout(WAIT, stored_rx.recv()).await.expect("the denial is stored");
    assert!(denied.is_some());
    bot.thread_note(&request.ts, "Denied by").await;
    bot.dm_message(REQUESTER, "INC-76 was denied").await;
    bot.model.drop().await;
}

/// The same for the approval timeout: the timer's handler "dies" once the timeout is stored.
#[tokio::test]
async fn a_bot_that_dies_right_after_storing_a_timeout_still_tells_the_thread_and_the_requester() {
    let (stored_tx, mut stored_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let hook: CommitHook = Arc::new(move |r: &Request| {
        if matches!(r.state(), RequestState::TimedOut { .. }) {
            let _ = stored_tx.send(r.id().to_string());
            Box::pin(std::future::pending::<()>())
        } else {
            Box::pin(std::future::ready(()))
        }
    });
    let opts = Options { approval_window_secs: 2, commit_hook: Some(hook), ..Options::default() };
    let bot = spawn_bot(opts).await;
    bot.command(REQUESTER, "ro INC-77").await;
    let request = bot.request_message(0).await;
    let stored = tokio::time::timeout(WAIT, stored_rx.recv()).await.expect("the timeout is stored");
    assert!(stored.is_some());
    bot.thread_note(&request.ts, "Timed out").await;
    bot.dm_message(REQUESTER, "Your ro request for INC-77 timed out").await;
    bot.model.drop().await;
}

#[tokio::test]
async fn resend_is_noted_in_the_thread_and_revoke_is_told_to_the_holder() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-72").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.command(REQUESTER, "resend").await;
    let note = bot.thread_note(&request.ts, "asked for a new ro password").await;
    assert!(text_of(&note).contains(&format!("<@{REQUESTER}>")), "{}", text_of(&note));
    assert!(!text_of(&note).contains("Password: `"), "no password in the thread");
    bot.command(APPROVER2, "revoke ro").await;
    bot.thread_note(&request.ts, "Access revoked by").await;
    let dm = bot.dm_message(REQUESTER, "Your ro access for INC-72 was revoked").await;
    assert!(text_of(&dm).contains(&format!("<@{APPROVER2}>")), "{}", text_of(&dm));
    bot.model.drop().await;
}

#[tokio::test]
async fn a_failed_issue_is_told_by_dm_and_alerted_in_the_audit_channel() {
    let bot =
        spawn_bot(Options { database_down: true, alert_group: true, ..Options::default() }).await;
    bot.command(REQUESTER, "ro INC-73").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, "Access could not be issued").await;
    bot.dm_message(REQUESTER, "Your ro request for INC-73 was approved, but no access").await;
    let alert = bot
        .fake
        .wait_for(
            |ws| {
                ws.messages(AUDIT)
                    .into_iter()
                    .find(|m| m.thread_ts.is_none() && text_of(m).contains("<!subteam^"))
            },
            WAIT,
        )
        .await
        .expect("an alert in the audit channel");
    let text = text_of(&alert);
    assert!(text.starts_with(&format!("<!subteam^{ALERT_GROUP}>")), "{text}");
    assert!(text.contains("INC-73") && text.contains(&format!("<@{REQUESTER}>")), "{text}");
    bot.model.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expiry_note_lands_after_ten_rate_limits_in_a_row() {
    let bot = spawn_bot(Options {
        default_duration_secs: 4,
        reminder_before_secs: 0,
        ..Options::default()
    })
    .await;
    bot.command(REQUESTER, "ro INC-74").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.thread_note(&request.ts, "Access issued").await;
    bot.fake.fail_next("chat.postMessage", FakeFault::RateLimited { retry_after_secs: 1 }, 10);

    // While Slack refuses, the note waits in the outbox and /metrics shows it.
    let base = format!("http://127.0.0.1:{}", bot.port);
    let mut seen = false;
    for _ in 0..200 {
        let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
        if metrics.contains("pgroles_outbox_notes 1") {
            assert!(metrics.contains("pgroles_outbox_oldest_age_seconds "), "{metrics}");
            seen = true;
            break;
        }
        // Polls /metrics (the worker refreshes the gauges on every pass).
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen, "the queued note shows in /metrics");

    let budget = WAIT + std::time::Duration::from_secs(10);
    let ts = request.ts.clone();
    let expired = bot
        .fake
        .wait_for(
            |ws| {
                ws.thread(AUDIT, &ts).into_iter().find(|m| text_of(m).contains("Password expired"))
            },
            budget,
        )
        .await
        .unwrap_or_else(|_| panic!("no expiry note: {:#?}", bot.thread_texts(&request.ts)));
    let refused =
        bot.fake.calls("chat.postMessage").iter().filter(|c| c.outcome == "http_429").count();
    assert_eq!(refused, 10);
    let thread = bot.thread_texts(&request.ts);
    let issued = thread.iter().position(|t| t.contains("Access issued"));
    assert!(issued < thread.iter().position(|t| t.contains("Password expired")), "{thread:?}");
    assert!(!text_of(&expired).contains("delayed"), "10 s late is not called delayed");
    bot.model.drop().await;
}
