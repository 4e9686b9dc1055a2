//! The password DM's own `chat.postEphemeral` request (zeroizing body, sent without
//! slack-morphism's typed request): argument for argument what the typed call sends, accepted
//! by the strict fake, authenticated, and retried by the same rules as every other call.

use crate::*;
use pgroles::broker::TempPassword;
use pgroles::slack::render::{credentials, ConnectInfo, SecretMessage};

fn password_dm(password: &TempPassword) -> SecretMessage {
    let info = ConnectInfo {
        host: "db.example".into(),
        port: 5432,
        dbname: "app".into(),
        role: "pgroles_firefighter_ro".into(),
        sslmode: "verify-full".into(),
    };
    let now = chrono::Utc::now();
    credentials("ro", "INC-42", &info, password, now + chrono::Duration::hours(1), now)
}

#[tokio::test]
async fn the_password_dm_is_the_same_json_call_as_the_typed_one() {
    let fake = workspace().await;
    let slack = api(&fake);
    let password = TempPassword::generate();
    let msg = password_dm(&password);
    let dm = slack.open_dm(ALICE).await.unwrap();

    slack.post_ephemeral_secret(&dm, ALICE, &msg).await.unwrap();
    // The same content through slack-morphism's typed request, for comparison.
    slack
        .post_ephemeral(&dm, ALICE, msg.expose_text(), &[section(msg.expose_text())])
        .await
        .unwrap();

    let calls = fake.calls("chat.postEphemeral");
    assert_eq!(calls.len(), 2);
    let (ours, typed) = (&calls[0], &calls[1]);
    assert_eq!((ours.outcome.as_str(), ours.json_body), ("ok", true));
    assert_eq!(ours.params, typed.params, "argument for argument the typed call");
    let keys: Vec<&String> = ours.params.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["blocks", "channel", "text", "user"]);

    let shown = fake.ephemerals(ALICE);
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0].channel, dm);
    assert_eq!(shown[0].text.as_deref(), Some(msg.expose_text()));
    let blocks = shown[0].blocks.clone().unwrap();
    assert_eq!(blocks[0]["text"]["text"], msg.expose_text());
    assert!(msg.expose_text().contains(password.expose_for_delivery()));
    assert!(fake.ephemerals(BOB).is_empty());
}

#[tokio::test]
async fn the_password_dm_is_retried_by_the_same_rules() {
    let fake = workspace().await;
    let slack =
        api(&fake).with_retry(RetryPolicy { max_wait: Duration::from_secs(5), ..fast_retry() });
    let password = TempPassword::generate();
    let msg = password_dm(&password);
    let dm = slack.open_dm(ALICE).await.unwrap();

    fake.fail_next("chat.postEphemeral", FakeFault::RateLimited { retry_after_secs: 1 }, 1);
    let started = Instant::now();
    slack.post_ephemeral_secret(&dm, ALICE, &msg).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "honoured Retry-After");
    let outcomes: Vec<String> =
        fake.calls("chat.postEphemeral").into_iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, ["http_429", "ok"]);
    assert_eq!(fake.ephemerals(ALICE).len(), 1, "delivered once");

    let slack = api(&fake);
    fake.fail_next("chat.postEphemeral", FakeFault::Status(500), 3);
    let err = slack.post_ephemeral_secret(&dm, ALICE, &msg).await.unwrap_err();
    assert_eq!(
        err,
        SlackError {
            method: "chat.postEphemeral",
            code: "http_500".into(),
            attempts: 3,
            retry_after: None
        }
    );

    fake.fail_next("chat.postEphemeral", FakeFault::Error("user_not_in_channel".into()), 1);
    let err = slack.post_ephemeral_secret(&dm, ALICE, &msg).await.unwrap_err();
    assert_eq!((err.code.as_str(), err.attempts), ("user_not_in_channel", 1));
    // The fake's own check: Bob cannot be shown a message in Alice's DM.
    let err = slack.post_ephemeral_secret(&dm, BOB, &msg).await.unwrap_err();
    assert_eq!(err.code, "user_not_in_channel");
    assert_eq!(fake.ephemerals(ALICE).len(), 1);
    assert!(fake.ephemerals(BOB).is_empty());
}

#[tokio::test]
async fn the_password_dm_needs_the_bot_token_and_never_shows_it() {
    let fake = workspace().await;
    let dm = api(&fake).open_dm(ALICE).await.unwrap();
    let forged = SlackApi::new(&fake.api_url(), &SecretString::from("xoxb-not-the-token"))
        .unwrap()
        .with_retry(fast_retry());
    let password = TempPassword::generate();
    let err = forged.post_ephemeral_secret(&dm, ALICE, &password_dm(&password)).await.unwrap_err();
    assert_eq!(err.code, "invalid_auth");
    assert!(fake.ephemerals(ALICE).is_empty());
    let debug = format!("{:?} {err:?} {err}", api(&fake));
    assert!(!debug.contains(&fake.bot_token()), "{debug}");
    assert!(!debug.contains(password.expose_for_delivery()));
    assert_eq!(format!("{:?}", password_dm(&password)), "SecretMessage(<redacted>)");
}
