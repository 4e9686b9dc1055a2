//! Issue 12, item 5: what a responder or approver is told never misleads: the command's answer
//! never contradicts the outcome, times are exact, `/firefighter status` is shown only to whom
//! it may be, and forged requests do not drive the log volume.

use crate::helpers::*;
use slack_fake::SentResponse;

fn ack_text(ack: &SentResponse) -> String {
    let body: serde_json::Value = serde_json::from_str(&ack.body).unwrap_or_default();
    body["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_refused_request_is_answered_with_the_refusal_not_asking_the_approvers() {
    let bot = spawn_bot(Options::default()).await;
    let first = bot.command(REQUESTER, "ro INC-20").await;
    assert!(ack_text(&first).starts_with("Asking the approvers"), "{}", ack_text(&first));
    let request = bot.request_message(0).await;

    // Pending: the answer itself is the refusal.
    let pending = bot.command(OUTSIDER, "ro INC-21").await;
    assert!(ack_text(&pending).contains("is already waiting for approval"), "{}", pending.body);

    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    // Held: likewise.
    let held = bot.command(OUTSIDER, "ro INC-22").await;
    let text = ack_text(&held);
    assert!(text.contains(&format!("ro is held by <@{REQUESTER}> for INC-20")), "{text}");

    let shown: Vec<String> =
        bot.fake.ephemerals(OUTSIDER).iter().filter_map(|e| e.text.clone()).collect();
    assert!(
        shown.iter().all(|t| !t.contains("Asking the approvers")),
        "a refused requester was never told the approvers were asked: {shown:#?}"
    );
    assert_eq!(bot.fake.messages(AUDIT).len(), 1, "only the first request was posted");
    bot.model.drop().await;
}

#[tokio::test]
async fn forged_requests_are_logged_once_per_interval_not_once_each() {
    let bot = spawn_bot(Options::default()).await;
    let needle = "refused a request with a missing, wrong or stale Slack signature";
    let before = logs().matches(needle).count();
    let url = format!("http://127.0.0.1:{}/slack/commands", bot.port);
    let client = reqwest::Client::new();
    for _ in 0..50 {
        let resp = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("command=%2Ffirefighter&text=rw+INC-1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
    }
    let lines = logs().matches(needle).count() - before;
    // One line for this bot; other tests of this binary running meanwhile may add their own.
    assert!((1..=4).contains(&lines), "50 forged requests wrote {lines} log lines");
    bot.model.drop().await;
}

#[tokio::test]
async fn status_shows_holders_and_incidents_only_to_approvers_by_default() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-23").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.command(OUTSIDER, "rw INC-24").await;
    bot.ephemeral(OUTSIDER, "is posted").await;

    bot.command(APPROVER2, "status").await;
    let full = bot.ephemeral(APPROVER2, "ro: held by").await.text.unwrap_or_default();
    assert!(full.contains(&format!("<@{REQUESTER}> for INC-23")), "{full}");
    assert!(full.contains(&format!("rw requested by <@{OUTSIDER}> for INC-24")), "{full}");

    bot.command(OUTSIDER, "status").await;
    let own =
        bot.ephemeral(OUTSIDER, "Only approvers and admins see").await.text.unwrap_or_default();
    assert!(!own.contains(REQUESTER) && !own.contains("INC-23"), "no one else's grant: {own}");
    assert!(own.contains("ro: held"), "{own}");
    assert!(own.contains("for INC-24"), "their own request is shown: {own}");
    bot.model.drop().await;
}

#[tokio::test]
async fn a_ninety_second_window_is_shown_to_the_second() {
    let bot = spawn_bot(Options { approval_window_secs: 90, ..Options::default() }).await;
    bot.command(REQUESTER, "rw INC-25").await;
    bot.request_message(0).await;
    bot.command(APPROVER1, "status").await;
    let text = bot.ephemeral(APPROVER1, "waiting until").await.text.unwrap_or_default();
    let shown = text.split("(in ").nth(1).and_then(|t| t.split(')').next()).unwrap_or_default();
    let exact = shown.strip_prefix("1m ").and_then(|s| s.strip_suffix('s'));
    assert!(
        exact.is_some_and(|s| s.parse::<u32>().is_ok_and(|n| (20..=30).contains(&n))),
        "about 1m 29s left, shown exactly, not rounded to 2m: {text}"
    );
    bot.model.drop().await;
}
