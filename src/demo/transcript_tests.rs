//! The transcript against a live fake Slack: a call still in flight is not printed until its
//! outcome is known (it once printed as "Slack refused … pending" and lost the message's text).

use super::*;
use serde_json::json;
use slack_fake::FakeFault;

#[tokio::test]
async fn a_call_in_flight_waits_for_its_outcome_and_is_printed_once() {
    let fake = FakeSlack::start().await.unwrap();
    fake.add_channel("C0AUDIT01");
    fake.fail_next("chat.postMessage", FakeFault::Delay(400), 1);
    let dir = Directory::default().channel("C0AUDIT01", "incident-audit");
    let t = Transcript::new(dir, "pgroles", &[]);
    let url = format!("{}chat.postMessage", fake.api_url());
    let post = reqwest::Client::new()
        .post(url)
        .bearer_auth(fake.bot_token())
        .json(&json!({ "channel": "C0AUDIT01", "text": "Released early by <@U0ALICE01>" }))
        .send();
    let post = tokio::spawn(post);
    let in_flight = |ws: &Workspace| {
        ws.calls("chat.postMessage").iter().any(|c| c.outcome == "pending").then_some(())
    };
    fake.wait_for(in_flight, Duration::from_secs(5)).await.unwrap();

    t.sync(&fake);
    assert_eq!(t.printed.load(Ordering::SeqCst), 0, "a pending call must not be printed");
    assert!(!fake.with(|ws| t.has_new(ws)), "nothing settled yet, so the watcher must not spin");

    let reply: Value = post.await.unwrap().unwrap().json().await.unwrap();
    assert_eq!(reply["ok"], true, "{reply}");
    assert!(fake.with(|ws| t.has_new(ws)));
    t.sync(&fake);
    t.sync(&fake);
    assert_eq!(t.printed.load(Ordering::SeqCst), 1, "printed once, after it was answered");
}
