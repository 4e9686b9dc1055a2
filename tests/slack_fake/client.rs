//! The client adapter's calls land where Slack would put them; retries follow Slack's rules.

use crate::*;

#[tokio::test]
async fn bot_posts_threads_updates_and_reaches_users_privately() {
    let fake = workspace().await;
    let slack = api(&fake);

    let ts = slack
        .post_message(OPS, "ro request INC-42", &[section("*ro* for INC-42")], None)
        .await
        .unwrap();
    let reply = slack.post_message(OPS, "approved by bob", &[], Some(&ts)).await.unwrap();
    slack
        .update_message(OPS, &ts, "ro request INC-42: approved", &[section("approved")])
        .await
        .unwrap();
    slack.post_ephemeral(OPS, ALICE, "only you can see this", &[]).await.unwrap();
    let dm = slack.open_dm(ALICE).await.unwrap();
    assert_eq!(slack.open_dm(ALICE).await.unwrap(), dm, "the DM id is stable");
    assert!(dm.starts_with('D'));
    slack.post_message(&dm, "your password", &[], None).await.unwrap();

    let top = fake.messages(OPS);
    assert_eq!(top.len(), 1, "the reply stays in the thread");
    assert_eq!(top[0].text.as_deref(), Some("ro request INC-42: approved"));
    assert_eq!(top[0].edits, 1);
    assert_eq!(top[0].blocks.as_ref().unwrap()[0]["text"]["text"], "approved");
    let thread = fake.thread(OPS, &ts);
    assert_eq!(thread.len(), 1);
    assert_eq!(
        (thread[0].ts.as_str(), thread[0].text.as_deref()),
        (reply.as_str(), Some("approved by bob"))
    );
    assert_eq!(fake.ephemerals(ALICE).len(), 1);
    assert!(fake.ephemerals(BOB).is_empty());
    assert_eq!(fake.with(|ws| ws.dm_messages(ALICE))[0].text.as_deref(), Some("your password"));
    assert_eq!(fake.with(|ws| ws.dm_channel(ALICE)), Some(dm));

    let link = slack.permalink(OPS, &reply).await.unwrap();
    assert!(
        link.contains(&format!("/archives/{OPS}/p")) && link.contains(&format!("thread_ts={ts}"))
    );
    assert_eq!(slack.auth_test().await.unwrap(), fake.with(|ws| ws.bot_user_id().to_string()));
}

#[tokio::test]
async fn usergroup_members_are_listed_and_unknown_groups_fail() {
    let fake = workspace().await;
    fake.add_usergroup("S0ONCALL01", &[ALICE, BOB]);
    let slack = api(&fake);
    assert_eq!(slack.usergroup_members("S0ONCALL01").await.unwrap(), [ALICE, BOB]);
    let err = slack.usergroup_members("S0NOPE0001").await.unwrap_err();
    assert_eq!(err.code, "no_such_subteam");
}

#[tokio::test]
async fn rate_limited_call_waits_retry_after_then_succeeds() {
    let fake = workspace().await;
    let slack =
        api(&fake).with_retry(RetryPolicy { max_wait: Duration::from_secs(5), ..fast_retry() });
    fake.fail_next("chat.postMessage", FakeFault::RateLimited { retry_after_secs: 1 }, 1);

    let started = Instant::now();
    slack.post_message(OPS, "after the limit", &[], None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "honoured Retry-After: {:?}",
        started.elapsed()
    );
    let outcomes: Vec<String> =
        fake.calls("chat.postMessage").into_iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, ["http_429", "ok"]);
    assert_eq!(fake.messages(OPS).len(), 1);
}

#[tokio::test]
async fn retry_after_is_capped_and_persistent_rate_limits_become_a_typed_error() {
    let fake = workspace().await;
    let slack = api(&fake);
    fake.fail_next("conversations.open", FakeFault::RateLimited { retry_after_secs: 60 }, 5);
    let started = Instant::now();
    let err = slack.open_dm(ALICE).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "waits capped at max_wait");
    assert_eq!(
        err,
        SlackError {
            method: "conversations.open",
            code: "ratelimited".into(),
            attempts: 3,
            retry_after: Some(Duration::from_secs(60)),
        }
    );
}

#[tokio::test]
async fn persistent_server_errors_become_a_typed_error_after_bounded_tries() {
    let fake = workspace().await;
    let slack = api(&fake);
    fake.fail_next("chat.postMessage", FakeFault::Status(500), 10);
    let err = slack.post_message(OPS, "t", &[], None).await.unwrap_err();
    assert_eq!(
        err,
        SlackError {
            method: "chat.postMessage",
            code: "http_500".into(),
            attempts: 3,
            retry_after: None,
        }
    );
    assert_eq!(fake.calls("chat.postMessage").len(), 3);
    assert!(fake.messages(OPS).is_empty());
}

#[tokio::test]
async fn a_transient_server_error_is_retried_and_api_errors_are_not() {
    let fake = workspace().await;
    let slack = api(&fake);
    fake.fail_next("chat.update", FakeFault::Status(503), 1);
    let ts = slack.post_message(OPS, "t", &[], None).await.unwrap();
    slack.update_message(OPS, &ts, "t2", &[]).await.unwrap();
    assert_eq!(fake.calls("chat.update").len(), 2);

    fake.fail_next("chat.postEphemeral", FakeFault::Error("channel_not_found".into()), 1);
    let err = slack.post_ephemeral(OPS, ALICE, "t", &[]).await.unwrap_err();
    assert_eq!((err.code.as_str(), err.attempts), ("channel_not_found", 1));
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let fake = workspace().await;
    let slack = api(&fake)
        .with_retry(RetryPolicy { call_timeout: Duration::from_millis(200), ..fast_retry() });
    fake.fail_next("auth.test", FakeFault::Delay(1_000), 1);
    slack.auth_test().await.unwrap();
    assert_eq!(fake.calls("auth.test").len(), 2);
}

#[tokio::test]
async fn wait_for_sees_a_message_posted_later() {
    let fake = workspace().await;
    let slack = api(&fake);
    let poster = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        slack.post_message(OPS, "late", &[], None).await.unwrap()
    });
    let text = fake
        .wait_for(
            |ws| ws.messages(OPS).first().and_then(|m| m.text.clone()),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(text, "late");
    poster.await.unwrap();
    assert!(fake
        .wait_for(|ws| ws.messages(OPS).get(1).cloned(), Duration::from_millis(50))
        .await
        .is_err());
}
