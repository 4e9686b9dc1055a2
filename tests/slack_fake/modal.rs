//! Modals in the fake: `views.open` exchanges a live trigger_id (each handed out with a slash
//! command, a button press or a submission) once, within 3 s, for a valid modal; a user's
//! submission carries what Slack's client would send; the bot's answer does what Slack does.

use crate::*;
use slack_fake::{SentResponse, ViewOutcome, CONNECTION_TROUBLE, TRIGGER_TTL};
use std::collections::BTreeMap;

fn text(t: &str) -> Value {
    json!({ "type": "plain_text", "text": t })
}

fn option(t: &str, v: &str) -> Value {
    json!({ "text": text(t), "value": v })
}

/// A request form: a text input, a select with an initial option, radio buttons, an optional
/// multiline reason.
fn form() -> Value {
    json!({
        "type": "modal",
        "callback_id": "pgroles_request_form",
        "title": text("Request access"),
        "submit": text("Request"),
        "close": text("Cancel"),
        "private_metadata": OPS,
        "blocks": [
            { "type": "section", "block_id": "intro",
              "text": { "type": "mrkdwn", "text": "*Temporary database access*" } },
            { "type": "input", "block_id": "incident", "label": text("Incident"),
              "element": { "type": "plain_text_input", "action_id": "value",
                           "min_length": 3, "max_length": 20 } },
            { "type": "input", "block_id": "target", "label": text("Database"),
              "element": { "type": "static_select", "action_id": "value",
                           "placeholder": text("Pick one"),
                           "options": [option("orders", "orders"), option("billing", "billing")],
                           "initial_option": option("orders", "orders") } },
            { "type": "input", "block_id": "level", "label": text("Level"),
              "element": { "type": "radio_buttons", "action_id": "value",
                           "options": [option("Read only", "ro"), option("Read write", "rw")] } },
            { "type": "input", "block_id": "reason", "label": text("Reason"), "optional": true,
              "hint": text("Why you need it"),
              "element": { "type": "plain_text_input", "action_id": "value", "multiline": true,
                           "initial_value": "on call" } },
        ],
    })
}

async fn call(fake: &FakeSlack, method: &str, body: &Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}{method}", fake.api_url()))
        .bearer_auth(fake.bot_token())
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `views.open` with a JSON body (the view as an object, as slack-morphism sends it).
async fn views_open(fake: &FakeSlack, trigger_id: &str, view: &Value) -> Value {
    call(fake, "views.open", &json!({ "trigger_id": trigger_id, "view": view })).await
}

/// `views.open` as a form, the view as JSON text (Slack's documented encoding).
async fn views_open_form(fake: &FakeSlack, trigger_id: &str, view: &Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}views.open", fake.api_url()))
        .bearer_auth(fake.bot_token())
        .form(&[("trigger_id", trigger_id), ("view", &view.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn refusal(answer: &Value) -> (String, Vec<String>) {
    assert_eq!(answer["ok"], false, "{answer}");
    let messages = answer["response_metadata"]["messages"]
        .as_array()
        .map(|m| m.iter().map(|s| s.as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default();
    (answer["error"].as_str().unwrap_or_default().to_string(), messages)
}

/// A fake where ALICE has the form open (from a slash command's trigger).
async fn with_form_open() -> FakeSlack {
    let fake = workspace().await;
    let cmd = fake.slash_command("/firefighter", "", ALICE, OPS);
    let opened = views_open(&fake, &cmd.trigger_id, &form()).await;
    assert_eq!(opened["ok"], true, "{opened}");
    fake
}

fn full_answer() -> [(&'static str, &'static str); 2] {
    [("incident", "INC-42"), ("level", "ro")]
}

fn ok(body: &str) -> SentResponse {
    SentResponse { status: 200, body: body.to_string(), elapsed: Duration::from_millis(30) }
}

#[tokio::test]
async fn views_open_exchanges_each_trigger_once_within_three_seconds() {
    let fake = workspace().await;
    let cmd = fake.slash_command("/firefighter", "", ALICE, OPS);
    let opened = views_open(&fake, &cmd.trigger_id, &form()).await;
    assert_eq!(opened["ok"], true, "{opened}");
    let view = &opened["view"];
    let id = view["id"].as_str().unwrap();
    assert!(id.starts_with('V') && id[1..].chars().all(|c| c.is_ascii_digit()), "{id}");
    assert_eq!((&view["root_view_id"], &view["previous_view_id"]), (&json!(id), &Value::Null));
    assert_eq!(view["state"], json!({ "values": {} }));
    assert_eq!(
        (&view["callback_id"], &view["private_metadata"]),
        (&json!("pgroles_request_form"), &json!(OPS))
    );
    assert!(view["hash"].is_string() && view["app_id"].is_string() && view["bot_id"].is_string());
    assert_eq!(fake.modal(ALICE).as_ref(), Some(view));
    let seen = fake.wait_for(|ws| ws.modal(ALICE), Duration::from_secs(1)).await.unwrap();
    assert_eq!(&seen, view, "wait_for sees the open modal");
    assert_eq!(fake.modal(BOB), None);

    let again = views_open(&fake, &cmd.trigger_id, &form()).await;
    assert_eq!(refusal(&again).0, "exchanged_trigger_id");
    let unknown = views_open(&fake, "12345.98765.abcd2358fdea", &form()).await;
    assert_eq!(refusal(&unknown).0, "invalid_trigger_id");

    // A button press hands out a trigger too; an old one has expired.
    let buttons = json!([{ "type": "actions", "block_id": "b", "elements": [
        { "type": "button", "action_id": "pgroles_form", "text": text("Open the form") }] }]);
    let posted =
        call(&fake, "chat.postMessage", &json!({ "channel": OPS, "text": "t", "blocks": buttons }))
            .await;
    let press =
        fake.block_action(BOB, OPS, posted["ts"].as_str().unwrap(), "pgroles_form").unwrap();
    let trigger = press["trigger_id"].as_str().unwrap();
    fake.age_trigger(trigger, TRIGGER_TTL + Duration::from_millis(1)).unwrap();
    assert_eq!(refusal(&views_open(&fake, trigger, &form()).await).0, "expired_trigger_id");
    assert!(fake.age_trigger("1.2.nope", Duration::ZERO).is_err());

    // A press on an ephemeral's button, the view sent as a JSON string in a form.
    let eph = call(
        &fake,
        "chat.postEphemeral",
        &json!({ "channel": OPS, "user": BOB, "text": "t", "blocks": buttons }),
    )
    .await;
    let press = fake
        .ephemeral_block_action(BOB, eph["message_ts"].as_str().unwrap(), "pgroles_form")
        .unwrap();
    let opened = views_open_form(&fake, press["trigger_id"].as_str().unwrap(), &form()).await;
    assert_eq!(opened["ok"], true, "{opened}");
    assert_eq!(fake.modal(BOB).unwrap()["id"], opened["view"]["id"], "the trigger's user sees it");

    // A submission's trigger opens a new modal (a new root view).
    let submitted = fake.view_submission(ALICE, &full_answer()).unwrap();
    let next = views_open(&fake, submitted["trigger_id"].as_str().unwrap(), &form()).await;
    assert_eq!(next["ok"], true, "{next}");
    assert_ne!(next["view"]["id"], json!(id));
    assert_eq!(fake.modal(ALICE).unwrap()["id"], next["view"]["id"]);
}

#[tokio::test]
async fn views_open_refuses_what_slack_refuses_with_invalid_arguments() {
    let fake = workspace().await;
    let cmd = fake.slash_command("/firefighter", "", ALICE, OPS);
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut v = form();
    v.as_object_mut().unwrap().remove("title");
    cases.push((v, "[json-pointer:/view/title]"));
    let mut v = form();
    v["title"] = text("Request temporary access!");
    cases.push((v, "must be less than 25 characters [json-pointer:/view/title/text]"));
    let mut v = form();
    v.as_object_mut().unwrap().remove("submit");
    cases.push((v, "must define submit to use input block [json-pointer:/view/blocks/1/input]"));
    let mut v = form();
    v["blocks"][2]["element"]["options"][1]["value"] = json!("orders");
    cases.push((
        v,
        "must be unique among the options [json-pointer:/view/blocks/2/element/options/1/value]",
    ));
    let mut v = form();
    v["blocks"][2]["element"]["initial_option"] = option("orders", "billing");
    cases.push((
        v,
        "must match one of the options [json-pointer:/view/blocks/2/element/initial_option]",
    ));
    let mut v = form();
    v["blocks"][2]["element"]["options"] =
        json!((0..101).map(|i| option("db", &format!("db{i}"))).collect::<Vec<_>>());
    v["blocks"][2]["element"].as_object_mut().unwrap().remove("initial_option");
    cases.push((v, "must have 1 to 100 items [json-pointer:/view/blocks/2/element/options]"));
    let mut v = form();
    v["blocks"][3]["element"]["options"] = json!([]);
    cases.push((v, "must have 1 to 10 items [json-pointer:/view/blocks/3/element/options]"));
    let mut v = form();
    v["blocks"][1]["element"]["max_length"] = json!(2);
    cases.push((v, "must be greater than or equal to min_length"));
    for (view, expected) in cases {
        let answer = views_open(&fake, &cmd.trigger_id, &view).await;
        let (code, messages) = refusal(&answer);
        assert_eq!(code, "invalid_arguments", "{expected}");
        assert!(
            messages.iter().any(|m| m.starts_with("[ERROR]") && m.contains(expected)),
            "{expected}: {messages:?}"
        );
    }
    assert_eq!(fake.modal(ALICE), None, "nothing opened");
    let opened = views_open(&fake, &cmd.trigger_id, &form()).await;
    assert_eq!(opened["ok"], true, "a refused view did not use the trigger up: {opened}");
}

#[tokio::test]
async fn a_slack_morphism_modal_opens_and_its_submission_parses() {
    let fake = workspace().await;
    let choice = |t: &str| {
        SlackBlockChoiceItem::new(SlackBlockPlainText::new(t.into()).into(), t.to_string())
    };
    let options = vec![choice("ro"), choice("rw")];
    let radio = SlackBlockRadioButtonsElement::new(options.clone())
        .with_action_id("value".into())
        .with_initial_option(options[0].clone());
    let incident =
        SlackBlockPlainTextInputElement::new().with_action_id("value".into()).with_max_length(20);
    let blocks: Vec<SlackBlock> = vec![
        SlackInputBlock::new(pt!("Level"), radio.into()).with_block_id("level".into()).into(),
        SlackInputBlock::new(pt!("Incident"), incident.into())
            .with_block_id("incident".into())
            .into(),
    ];
    let view = SlackView::Modal(
        SlackModalView::new(pt!("Request access"), blocks)
            .with_submit(pt!("Request"))
            .with_callback_id("pgroles_request_form".into())
            .with_private_metadata(OPS.into()),
    );
    let cmd = fake.slash_command("/firefighter", "", ALICE, OPS);
    let opened = views_open(&fake, &cmd.trigger_id, &serde_json::to_value(&view).unwrap()).await;
    assert_eq!(opened["ok"], true, "{opened}");
    let parsed: SlackApiViewsOpenResponse = serde_json::from_value(opened.clone()).unwrap();
    assert_eq!(parsed.view.state_params.id.0, opened["view"]["id"].as_str().unwrap());

    let payload = fake.view_submission(ALICE, &[("incident", "INC-42")]).unwrap();
    let SlackInteractionEvent::ViewSubmission(event) = serde_json::from_value(payload).unwrap()
    else {
        panic!("a view_submission")
    };
    assert_eq!(event.user.id.0, ALICE);
    let values = event.view.state_params.state.unwrap().values;
    let level = &values[&SlackBlockId("level".into())][&SlackActionId("value".into())];
    assert_eq!(level.selected_option.as_ref().unwrap().value, "ro", "the initial option");
    let incident = &values[&SlackBlockId("incident".into())][&SlackActionId("value".into())];
    assert_eq!(incident.value.as_deref(), Some("INC-42"));
}

#[tokio::test]
async fn view_submission_builds_state_values_and_refuses_what_slacks_client_would() {
    let fake = with_form_open().await;
    let open = fake.modal(ALICE).unwrap();
    let p = fake.view_submission(ALICE, &[("incident", "INC-42"), ("level", "rw")]).unwrap();
    assert_eq!(
        (&p["type"], &p["user"]["id"], &p["team"]["id"]),
        (&json!("view_submission"), &json!(ALICE), &json!("T0FAKE0001"))
    );
    assert_eq!(
        (&p["token"], &p["response_urls"], &p["is_enterprise_install"]),
        (&json!("fake-verification-token"), &json!([]), &json!(false))
    );
    assert_eq!((&p["view"]["id"], &p["view"]["hash"]), (&open["id"], &open["hash"]));
    let values = &p["view"]["state"]["values"];
    assert_eq!(
        values["incident"]["value"],
        json!({ "type": "plain_text_input", "value": "INC-42" })
    );
    assert_eq!(
        values["target"]["value"],
        json!({ "type": "static_select", "selected_option": option("orders", "orders") })
    );
    assert_eq!(
        values["level"]["value"],
        json!({ "type": "radio_buttons", "selected_option": option("Read write", "rw") })
    );
    assert_eq!(values["reason"]["value"]["value"], "on call", "pre-filled");
    assert!(values.get("intro").is_none(), "a section carries no state");
    let p = fake
        .view_submission(ALICE, &[("incident", "INC-42"), ("level", "ro"), ("reason", "")])
        .unwrap();
    assert_eq!(p["view"]["state"]["values"]["reason"]["value"]["value"], Value::Null, "cleared");

    let refused =
        |values: &[(&str, &str)]| fake.view_submission(ALICE, values).unwrap_err().to_string();
    assert!(fake.view_submission(BOB, &full_answer()).is_err(), "BOB has no modal open");
    assert!(refused(&[("intro", "x"), ("incident", "INC-42"), ("level", "ro")])
        .contains("not an input block"));
    assert!(refused(&[("incident", "INC-42"), ("level", "admin")]).contains("no option `admin`"));
    assert!(refused(&[("incident", "INC-42"), ("level", "ro"), ("target", "payroll")])
        .contains("no option"));
    assert!(
        refused(&[("incident", "INC-4242424242424242424"), ("level", "ro")]).contains("max_length")
    );
    assert!(refused(&[("incident", "IN"), ("level", "ro")]).contains("min_length"));
    assert!(refused(&[("incident", ""), ("level", "ro")]).contains("`incident` is required"));
    assert!(refused(&[("incident", "INC-42")]).contains("`level` is required"));
    let spaced =
        fake.view_submission(ALICE, &[("incident", "  INC-42 "), ("level", "ro")]).unwrap();
    assert_eq!(
        spaced["view"]["state"]["values"]["incident"]["value"]["value"], "  INC-42 ",
        "not trimmed"
    );
}

#[tokio::test]
async fn view_answer_does_what_slack_does_with_each_answer() {
    // Closing answers.
    for body in ["", "{}", r#"{"response_action":"clear"}"#] {
        let fake = with_form_open().await;
        let p = fake.view_submission(ALICE, &full_answer()).unwrap();
        assert_eq!(fake.view_answer(&p, &ok(body)), ViewOutcome::Closed, "{body:?}");
        assert_eq!(fake.modal(ALICE), None, "{body:?}");
    }

    let fake = with_form_open().await;
    let p = fake.view_submission(ALICE, &full_answer()).unwrap();
    let trouble = ViewOutcome::Failed(CONNECTION_TROUBLE.into());
    let late = SentResponse { elapsed: Duration::from_millis(3_001), ..ok("") };
    assert_eq!(fake.view_answer(&p, &late), trouble);
    assert_eq!(fake.view_answer(&p, &SentResponse { status: 500, ..ok("") }), trouble);
    for bad in [
        "ok",
        r#"{"response_action":"errors","errors":{"intro":"not an input"}}"#,
        r#"{"response_action":"errors","errors":{"elsewhere":"no such block"}}"#,
        r#"{"response_action":"errors","errors":{"incident":""}}"#,
        r#"{"response_action":"update","view":{"type":"modal","title":{"type":"plain_text","text":"x"},"blocks":[]}}"#,
        r#"{"response_action":"dismiss"}"#,
    ] {
        assert!(matches!(fake.view_answer(&p, &ok(bad)), ViewOutcome::Failed(_)), "{bad}");
        assert!(fake.modal(ALICE).is_some(), "{bad}: the modal stays open");
    }
    assert_eq!(fake.view_errors(ALICE), None);

    let errors = json!({ "response_action": "errors",
                         "errors": { "incident": "INC-42 is not an open incident" } });
    let shown =
        BTreeMap::from([("incident".to_string(), "INC-42 is not an open incident".to_string())]);
    assert_eq!(fake.view_answer(&p, &ok(&errors.to_string())), ViewOutcome::Errors(shown.clone()));
    assert_eq!(fake.view_errors(ALICE), Some(shown));
    assert!(fake.modal(ALICE).is_some());

    let mut done = form();
    done["title"] = text("Requested");
    done["blocks"] =
        json!([{ "type": "section", "text": { "type": "mrkdwn", "text": "Sent for approval" } }]);
    done.as_object_mut().unwrap().remove("submit");
    let update = json!({ "response_action": "update", "view": done });
    assert_eq!(fake.view_answer(&p, &ok(&update.to_string())), ViewOutcome::Updated);
    let now = fake.modal(ALICE).unwrap();
    assert_eq!((&now["title"]["text"], &now["id"]), (&json!("Requested"), &p["view"]["id"]));
    assert_eq!(fake.view_errors(ALICE), None);
}

#[tokio::test]
async fn submit_view_posts_the_payload_to_the_bot_and_applies_its_answer() {
    let answer = r#"{"response_action":"errors","errors":{"level":"rw needs an incident"}}"#;
    let bot = axum::Router::new().route(
        "/slack/interactivity",
        axum::routing::post(move || async move {
            ([(axum::http::header::CONTENT_TYPE, "application/json")], answer)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let _bot = tokio::spawn(async move { axum::serve(listener, bot).await });

    let fake = with_form_open().await;
    let sender =
        SlackEventSender::new(&url, SecretString::from("signing".to_string())).with_fake(&fake);
    let p = fake.view_submission(ALICE, &full_answer()).unwrap();
    let (resp, outcome) = sender.submit_view(&p).await.unwrap();
    assert_eq!(resp.status, 200);
    let shown = BTreeMap::from([("level".to_string(), "rw needs an incident".to_string())]);
    assert_eq!(outcome, ViewOutcome::Errors(shown));
}
