//! `view_submission` payloads and what Slack makes of the bot's answer.

use super::*;
use crate::methods::Params;
use crate::modal::tests::request_modal;
use crate::sender::SlackEventSender;
use std::time::Duration;

const ALICE: &str = "U0ALICE001";

async fn fake_with_modal() -> FakeSlack {
    let fake = FakeSlack::start().await.expect("fake starts");
    fake.add_users(&[ALICE]);
    let mut ws = fake.shared.lock();
    let trigger = ws.new_trigger(ALICE);
    let mut p = Params::new();
    p.insert("trigger_id".into(), json!(trigger));
    p.insert("view".into(), request_modal());
    crate::modal::open(&mut ws, &p).expect("modal opens");
    drop(ws);
    fake
}

fn answer(status: u16, body: &str, ms: u64) -> SentResponse {
    SentResponse { status, body: body.to_string(), elapsed: Duration::from_millis(ms) }
}

fn ok(body: &str) -> SentResponse {
    answer(200, body, 40)
}

#[tokio::test]
async fn the_payload_carries_what_the_user_entered_and_the_initial_values() {
    let fake = fake_with_modal().await;
    let p = fake.view_submission(ALICE, &[("incident", "INC-42"), ("duration", "1h")]).unwrap();
    let open = fake.modal(ALICE).unwrap();
    assert_eq!(p["type"], "view_submission");
    assert_eq!((&p["user"]["id"], &p["user"]["team_id"]), (&json!(ALICE), &json!("T0FAKE0001")));
    assert_eq!(p["view"]["id"], open["id"]);
    assert_eq!(p["view"]["private_metadata"], "C0OPS00001");
    let values = &p["view"]["state"]["values"];
    assert_eq!(
        values["incident"]["incident"],
        json!({ "type": "plain_text_input", "value": "INC-42" })
    );
    assert_eq!(
        values["level"]["level"],
        json!({ "type": "static_select",
                "selected_option": { "text": { "type": "plain_text", "text": "Read only" },
                                     "value": "ro" } }),
        "the initial option, as Slack's client pre-selects it"
    );
    assert_eq!(values["duration"]["duration"]["type"], "radio_buttons");
    assert_eq!(values["duration"]["duration"]["selected_option"]["value"], "1h");
    assert_eq!(values["reason"]["reason"], json!({ "type": "plain_text_input", "value": null }));
    assert_eq!(values.as_object().unwrap().len(), 4, "input blocks only");
    let trigger = p["trigger_id"].as_str().unwrap();
    assert!(fake.with(|ws| ws.triggers.get(trigger).is_some_and(|t| t.user == ALICE)));
    assert_eq!(
        fake.modal(ALICE).unwrap()["state"],
        json!({ "values": {} }),
        "stored view unchanged"
    );
}

#[tokio::test]
async fn slacks_client_would_not_submit_these() {
    let fake = fake_with_modal().await;
    let refused =
        |values: &[(&str, &str)]| fake.view_submission(ALICE, values).unwrap_err().to_string();
    assert!(fake.view_submission("U0NOBODY01", &[]).is_err(), "no modal open");
    assert!(refused(&[("nope", "x"), ("duration", "1h")]).contains("not an input block"));
    assert!(refused(&[("incident", "INC-42"), ("duration", "2h")]).contains("no option `2h`"));
    assert!(refused(&[("incident", "INC-42"), ("level", "Read only"), ("duration", "1h")])
        .contains("no option"));
    assert!(refused(&[("incident", &"x".repeat(21)), ("duration", "1h")]).contains("max_length"));
    assert!(refused(&[("incident", "IN"), ("duration", "1h")]).contains("min_length"));
    assert!(refused(&[("incident", ""), ("duration", "1h")]).contains("required"));
    assert!(refused(&[("incident", "INC-42")]).contains("`duration` is required"));
    assert!(refused(&[("incident", "INC-42"), ("incident", "INC-43")]).contains("twice"));
    let kept = fake.view_submission(ALICE, &[("incident", " INC-42 "), ("duration", "30m")]);
    assert_eq!(
        kept.unwrap()["view"]["state"]["values"]["incident"]["incident"]["value"],
        " INC-42 "
    );
}

#[tokio::test]
async fn late_or_failed_answers_keep_the_modal_open() {
    let fake = fake_with_modal().await;
    let p = fake.view_submission(ALICE, &[("incident", "INC-42"), ("duration", "1h")]).unwrap();
    let trouble = ViewOutcome::Failed(CONNECTION_TROUBLE.into());
    assert_eq!(fake.view_answer(&p, &answer(200, "", 3_001)), trouble);
    assert_eq!(fake.view_answer(&p, &answer(500, "", 10)), trouble);
    for (body, why) in [
        ("thanks!", "not a JSON object"),
        (r#"{"text":"done"}"#, "without response_action"),
        (r#"{"response_action":"push","view":{}}"#, "push is not modelled"),
        (r#"{"response_action":"close"}"#, "unknown response_action `close`"),
        (r#"{"response_action":"errors","errors":{"nope":"x"}}"#, "`nope` is not an input block"),
        (r#"{"response_action":"errors","errors":{"incident":""}}"#, "needs a message"),
        (r#"{"response_action":"errors","errors":{"incident":7}}"#, "needs a message"),
        (r#"{"response_action":"errors","errors":{}}"#, "no error"),
        (r#"{"response_action":"errors"}"#, "without an `errors` object"),
        (r#"{"response_action":"update"}"#, "without a `view` object"),
        (
            r#"{"response_action":"update","view":{"type":"modal","blocks":[]}}"#,
            "invalid_arguments",
        ),
    ] {
        match fake.view_answer(&p, &ok(body)) {
            ViewOutcome::Failed(m) if m.contains(why) => {}
            other => panic!("{body}: {other:?}"),
        }
        assert!(fake.modal(ALICE).is_some(), "{body}: still open");
    }
}

#[tokio::test]
async fn errors_are_shown_and_an_update_replaces_the_view() {
    let fake = fake_with_modal().await;
    let first = fake.modal(ALICE).unwrap();
    let p = fake.view_submission(ALICE, &[("incident", "INC-42"), ("duration", "1h")]).unwrap();
    let errors = r#"{"response_action":"errors","errors":{"incident":"No such incident"}}"#;
    let shown = BTreeMap::from([("incident".to_string(), "No such incident".to_string())]);
    assert_eq!(fake.view_answer(&p, &ok(errors)), ViewOutcome::Errors(shown.clone()));
    assert_eq!(fake.view_errors(ALICE), Some(shown));

    let mut next = request_modal();
    next["title"] = json!({ "type": "plain_text", "text": "Confirm" });
    let update = json!({ "response_action": "update", "view": next }).to_string();
    assert_eq!(fake.view_answer(&p, &ok(&update)), ViewOutcome::Updated);
    let now = fake.modal(ALICE).unwrap();
    assert_eq!((&now["id"], &now["title"]["text"]), (&first["id"], &json!("Confirm")));
    assert_ne!(now["hash"], first["hash"]);
    assert_eq!(fake.view_errors(ALICE), None, "a new view shows no errors");
    assert!(
        matches!(fake.view_answer(&p, &ok("")), ViewOutcome::Failed(m) if m.contains("not the one")),
        "the submitted view was replaced"
    );
}

#[tokio::test]
async fn empty_answers_and_clear_close_the_modal() {
    for body in ["", "  ", "{}", r#"{"response_action":"clear"}"#] {
        let fake = fake_with_modal().await;
        let p = fake.view_submission(ALICE, &[("incident", "INC-42"), ("duration", "1h")]).unwrap();
        assert_eq!(fake.view_answer(&p, &ok(body)), ViewOutcome::Closed, "{body:?}");
        assert_eq!(fake.modal(ALICE), None);
        assert!(fake.view_submission(ALICE, &[]).is_err(), "nothing left to submit");
    }
}

/// A bot stand-in answering every interaction with `body`.
async fn bot_answering(body: &'static str) -> String {
    let app = axum::Router::new().route(
        "/slack/interactivity",
        axum::routing::post(move || async move {
            ([(axum::http::header::CONTENT_TYPE, "application/json")], body)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn submit_view_sends_the_payload_and_applies_the_answer() {
    let fake = fake_with_modal().await;
    let url =
        bot_answering(r#"{"response_action":"errors","errors":{"duration":"Too long"}}"#).await;
    let secret = secrecy::SecretString::from("s3cret".to_string());
    let p = fake.view_submission(ALICE, &[("incident", "INC-42"), ("duration", "1h")]).unwrap();
    let bare = SlackEventSender::new(&url, secret.clone());
    assert!(bare.submit_view(&p).await.is_err(), "needs the fake");
    let sender = SlackEventSender::new(&url, secret).with_fake(&fake);
    let (resp, outcome) = sender.submit_view(&p).await.unwrap();
    assert_eq!(resp.status, 200);
    let shown = BTreeMap::from([("duration".to_string(), "Too long".to_string())]);
    assert_eq!(outcome, ViewOutcome::Errors(shown));
}
