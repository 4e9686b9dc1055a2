//! The request form (issue 17): `/firefighter` alone opens a modal through the strict fake's
//! `views.open` (a live trigger, a valid view), a filled form becomes the same request a typed
//! command makes, a wrong one is answered with a message under each wrong field
//! (`response_action: errors`) and requests nothing, and a form Slack will not open leaves the
//! user the typed command.

use crate::helpers::*;
use slack_fake::{FakeFault, ViewOutcome};

impl Bot {
    /// `/firefighter` alone: the command is answered with nothing and the form opens.
    async fn open_form(&self, user: &str) -> serde_json::Value {
        let resp = self.command(user, "").await;
        assert_eq!((resp.status, resp.body.trim()), (200, ""), "answered with the form only");
        let user = user.to_owned();
        self.fake.wait_for(|ws| ws.modal(&user), WAIT).await.expect("the form opens")
    }

    /// Submits `user`'s open form with `values` (block id, value).
    async fn submit(&self, user: &str, values: &[(&str, &str)]) -> ViewOutcome {
        let payload = self.fake.view_submission(user, values).expect("a submittable form");
        let (resp, outcome) = self.sender.submit_view(&payload).await.expect("delivered");
        assert!(resp.elapsed < std::time::Duration::from_secs(3), "ack took {:?}", resp.elapsed);
        outcome
    }
}

const FILLED: &[(&str, &str)] = &[
    ("pgroles_level", "rw"),
    ("pgroles_incident", "INC-90"),
    ("pgroles_duration", "45m"),
    ("pgroles_reason", "replica lag on the orders <!channel> db"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filled_form_is_the_typed_request_and_approvers_issue_it() {
    let bot = spawn_bot(Options::default()).await;
    let view = bot.open_form(REQUESTER).await;
    let blocks = view["blocks"].to_string();
    for id in ["pgroles_level", "pgroles_incident", "pgroles_duration", "pgroles_reason"] {
        assert!(blocks.contains(id), "{id} on the form: {blocks}");
    }
    assert_eq!(view["private_metadata"], AUDIT, "the answer goes where the command was typed");

    assert_eq!(bot.submit(REQUESTER, FILLED).await, ViewOutcome::Closed);
    let request = bot.request_message(0).await;
    let text = text_of(&request);
    assert!(text.contains("INC-90") && text.contains("rw"), "{text}");
    assert!(text.contains("45m"), "the form's duration: {text}");
    assert!(text.contains("&lt;!channel&gt;") && !text.contains("<!channel>"), "{text}");
    bot.ephemeral(REQUESTER, "Asking the approvers").await;

    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.react(APPROVER2, APPROVE, &request.ts).await;
    let dm = bot.ephemeral(REQUESTER, "Password: `").await;
    let password = password_in(&dm);
    assert_eq!(Some(dm.channel), bot.fake.with(|ws| ws.dm_channel(REQUESTER)), "in the DM");
    assert!(!bot.everything_but_dms(REQUESTER).contains(&password), "password outside the DM");
    assert!(!bot.redis_dump().await.contains(&password), "password in Redis");
    bot.model.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_form_gets_a_message_under_each_wrong_field_and_requests_nothing() {
    let bot = spawn_bot(Options::default()).await;
    bot.open_form(REQUESTER).await;
    let wrong = [
        ("pgroles_level", "rw"),
        ("pgroles_incident", "inc 42"),
        ("pgroles_duration", "3h"),
        ("pgroles_reason", "short"),
    ];
    let ViewOutcome::Errors(errors) = bot.submit(REQUESTER, &wrong).await else {
        panic!("the form is refused field by field");
    };
    let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    assert_eq!(fields, ["pgroles_duration", "pgroles_incident", "pgroles_reason"]);
    assert!(errors["pgroles_duration"].contains("The longest access"), "{errors:?}");
    assert!(errors["pgroles_reason"].contains("8 to 300"), "{errors:?}");
    assert!(bot.fake.modal(REQUESTER).is_some(), "the form stays open to be fixed");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(bot.fake.messages(AUDIT).is_empty(), "nothing was requested");

    // Fixed in place and sent again: now it is a request.
    let fixed = [("pgroles_incident", "INC-42"), ("pgroles_duration", ""), ("pgroles_reason", "")];
    assert_eq!(bot.submit(REQUESTER, &fixed).await, ViewOutcome::Closed);
    let text = text_of(&bot.request_message(0).await);
    assert!(text.contains("INC-42"), "{text}");
    bot.model.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_slack_will_not_open_leaves_the_typed_command() {
    let bot = spawn_bot(Options::default()).await;
    bot.fake.fail_next("views.open", FakeFault::Error("expired_trigger_id".into()), 1);
    let resp = bot.command(REQUESTER, "").await;
    assert_eq!(resp.body.trim(), "");
    let e = bot.ephemeral(REQUESTER, "could not open the request form").await;
    assert!(e.text.unwrap_or_default().contains("/firefighter ro|rw"), "the typed form is named");
    assert!(bot.fake.modal(REQUESTER).is_none());
    // `help` is still the help.
    let help = bot.command(REQUESTER, "help").await;
    assert!(help.body.contains("/firefighter ro"), "{}", help.body);
    bot.model.drop().await;
}
