//! Refusals: bad signatures, bad commands, reactions that do not count, retries, held levels.
//! Each checks what the user sees and that nothing else happened (no post, no password).

use crate::helpers::*;
use secrecy::SecretString;
use slack_fake::SlackEventSender;
use std::time::Duration;

fn posts(bot: &Bot) -> usize {
    bot.fake.calls("chat.postMessage").len()
}

#[tokio::test]
async fn unsigned_wrongly_signed_and_stale_requests_get_401_and_nothing_happens() {
    let bot = spawn_bot(Options::default()).await;
    let cmd = bot.fake.slash_command("/firefighter", "ro INC-42", REQUESTER, AUDIT);
    let body = cmd.form_body();
    let url = format!("http://127.0.0.1:{}/slack/commands", bot.port);
    let unsigned = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);

    let wrong = SlackEventSender::new(
        &format!("http://127.0.0.1:{}", bot.port),
        SecretString::from("not-the-signing-secret".to_string()),
    );
    assert_eq!(wrong.send_command(&cmd).await.unwrap().status, 401);
    let event = bot.fake.reaction_event(true, APPROVER1, APPROVE, AUDIT, "1700000000.000100");
    assert_eq!(wrong.send_event(&event.to_json(now_secs())).await.unwrap().status, 401);

    let ctype = "application/x-www-form-urlencoded";
    let stale = bot.sender.send_raw("/slack/commands", ctype, &body, now_secs() - 360, &[]).await;
    assert_eq!(stale.unwrap().status, 401);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(posts(&bot), 0, "nothing was posted");
    assert!(bot.fake.ephemerals(REQUESTER).is_empty(), "nothing was shown");
    bot.model.drop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let bot = spawn_bot(Options::default()).await;
    let body = "x".repeat(70 * 1024);
    let resp = bot.sender.send_raw("/slack/events", "application/json", &body, now_secs(), &[]);
    assert_eq!(resp.await.unwrap().status, 413);
    bot.model.drop().await;
}

#[tokio::test]
async fn url_verification_is_answered_with_the_challenge() {
    let bot = spawn_bot(Options::default()).await;
    let payload = slack_fake::signer::url_verification("abc123");
    let resp = bot.sender.send_event(&payload).await.unwrap();
    assert_eq!(resp.status, 200);
    assert!(resp.body.contains("abc123"), "{}", resp.body);
    bot.model.drop().await;
}

#[tokio::test]
async fn unknown_subcommand_malformed_incident_and_long_duration_are_explained() {
    let bot = spawn_bot(Options::default()).await;
    let cases = [
        ("frobnicate", "has no subcommand \"frobnicate\""),
        ("ro INC-4x2", "does not look like an incident id"),
        // Issue 12 item 3: a trailing CR/LF is not trimmed into a real request.
        ("rw INC-43\r\n", "contains a control character"),
        ("rw INC-43\u{0}", "contains a control character"),
        ("rw INC-43 \u{200B}", "line break, control or invisible character"),
        // The configured pattern is applied exactly: no silent upper-casing.
        ("ro inc-12", "does not look like an incident id"),
        ("ro INC-42 3h", "The longest access you can request is 1h"),
        ("help", "/firefighter gives you temporary PostgreSQL access"),
    ];
    for (text, expected) in cases {
        let ack = bot.command(REQUESTER, text).await;
        assert_eq!(ack.status, 200);
        let body: serde_json::Value = serde_json::from_str(&ack.body).unwrap();
        assert_eq!(body["response_type"], "ephemeral");
        let shown = body["text"].as_str().unwrap_or_default();
        assert!(shown.contains(expected), "{text:?}: {shown}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(posts(&bot), 0, "no request was posted");
    bot.model.drop().await;
}

#[tokio::test]
async fn approval_by_a_non_approver_does_not_count() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-7").await;
    let request = bot.request_message(0).await;
    bot.react(OUTSIDER, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, &format!("<@{OUTSIDER}> is not an approver")).await;
    assert!(bot.dm_ephemerals(REQUESTER).is_empty(), "no password");
    bot.model.drop().await;
}

#[tokio::test]
async fn reactions_on_unrelated_messages_are_ignored_silently() {
    let bot = spawn_bot(Options::default()).await;
    let before = bot.fake.with(|ws| ws.all_calls().len());
    bot.react(APPROVER1, APPROVE, "1700000000.000100").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = bot.fake.with(|ws| ws.all_calls().len());
    assert_eq!(before, after, "no Slack call for an unrelated reaction");
    bot.model.drop().await;
}

#[tokio::test]
async fn approval_after_the_timeout_does_not_issue() {
    let bot = spawn_bot(Options { approval_window_secs: 2, ..Options::default() }).await;
    bot.command(REQUESTER, "ro INC-8").await;
    let request = bot.request_message(0).await;
    bot.thread_note(&request.ts, "Timed out").await;
    let ts = request.ts.clone();
    let shown = bot
        .fake
        .wait_for(|ws| ws.message(AUDIT, &ts).filter(|m| text_of(m).contains("Timed out at")), WAIT)
        .await;
    assert!(shown.is_ok(), "the request message shows the timeout");
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, "came after the request was timed out").await;
    assert!(bot.dm_ephemerals(REQUESTER).is_empty(), "no password after the timeout");
    bot.model.drop().await;
}

#[tokio::test]
async fn a_retried_event_is_handled_once() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "rw INC-9").await;
    let request = bot.request_message(0).await;
    let payload = bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, "approved (1 of 2)").await;
    for n in 1..=3 {
        let resp = bot.sender.resend_event(&payload, n, "http_timeout").await.unwrap();
        assert_eq!(resp.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let approvals = bot.thread_texts(&request.ts).iter().filter(|t| t.contains("approved")).count();
    assert_eq!(approvals, 1, "{:#?}", bot.thread_texts(&request.ts));
    bot.model.drop().await;
}

#[tokio::test]
async fn a_second_request_for_a_pending_or_held_level_is_refused() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-10").await;
    let request = bot.request_message(0).await;
    bot.command(OUTSIDER, "ro INC-11").await;
    bot.ephemeral(OUTSIDER, "is already waiting for approval").await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.command(OUTSIDER, "ro INC-12").await;
    bot.ephemeral(OUTSIDER, &format!("ro is held by <@{REQUESTER}> for INC-10")).await;
    assert_eq!(bot.fake.messages(AUDIT).len(), 1, "only the first request was posted");
    bot.model.drop().await;
}

#[tokio::test]
async fn a_rate_limited_post_is_retried_and_succeeds() {
    let bot = spawn_bot(Options::default()).await;
    use slack_fake::FakeFault;
    bot.fake.fail_next("chat.postMessage", FakeFault::RateLimited { retry_after_secs: 1 }, 1);
    bot.command(REQUESTER, "ro INC-13").await;
    bot.request_message(0).await;
    bot.ephemeral(REQUESTER, "is posted").await;
    bot.model.drop().await;
}

#[tokio::test]
async fn slack_errors_when_posting_the_request_are_explained_and_nothing_is_requested() {
    let bot = spawn_bot(Options::default()).await;
    use slack_fake::FakeFault;
    bot.fake.fail_next("chat.postMessage", FakeFault::Error("channel_not_found".into()), 1);
    bot.command(REQUESTER, "ro INC-14").await;
    bot.ephemeral(REQUESTER, "Slack said channel_not_found").await;
    bot.fake.fail_next("chat.postMessage", FakeFault::RateLimited { retry_after_secs: 1 }, 2);
    bot.command(REQUESTER, "ro INC-15").await;
    bot.ephemeral(REQUESTER, "Slack said ratelimited").await;
    // The level is free again: a new request goes through.
    bot.command(REQUESTER, "ro INC-16").await;
    bot.ephemeral(REQUESTER, "is posted").await;
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", bot.port))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("code=\"channel_not_found\""), "{metrics}");
    bot.model.drop().await;
}

#[tokio::test]
async fn a_retried_slash_command_is_handled_once() {
    let bot = spawn_bot(Options::default()).await;
    let cmd = bot.fake.slash_command("/firefighter", "ro INC-17", REQUESTER, AUDIT);
    let first = bot.sender.send_command(&cmd).await.unwrap();
    let again = bot.sender.send_command(&cmd).await.unwrap();
    assert_eq!((first.status, again.status), (200, 200));
    assert!(again.body.is_empty(), "the retry is acknowledged silently: {}", again.body);
    bot.ephemeral(REQUESTER, "is posted").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bot.fake.messages(AUDIT).len(), 1, "one request for one trigger_id");
    bot.model.drop().await;
}
