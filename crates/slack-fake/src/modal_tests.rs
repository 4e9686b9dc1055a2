//! `views.open` against the workspace: trigger rules, view rules, what is stored and echoed.

use super::*;
use crate::methods::Params;
use crate::modal_view::{MAX_MODAL_BLOCKS, MAX_MODAL_TITLE_CHARS};

const ALICE: &str = "U0ALICE001";

fn text(t: &str) -> Value {
    json!({ "type": "plain_text", "text": t })
}

fn option(t: &str, v: &str) -> Value {
    json!({ "text": text(t), "value": v })
}

/// A modal with a text input, a select and radio buttons (the elements the bot uses).
pub(crate) fn request_modal() -> Value {
    json!({
        "type": "modal",
        "callback_id": "pgroles_request",
        "title": text("Request access"),
        "submit": text("Request"),
        "close": text("Cancel"),
        "private_metadata": "C0OPS00001",
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": "*Database access*" } },
            { "type": "input", "block_id": "incident", "label": text("Incident"),
              "element": { "type": "plain_text_input", "action_id": "incident",
                           "min_length": 3, "max_length": 20 } },
            { "type": "input", "block_id": "level", "label": text("Level"),
              "element": { "type": "static_select", "action_id": "level",
                           "options": [option("Read only", "ro"), option("Read write", "rw")],
                           "initial_option": option("Read only", "ro") } },
            { "type": "input", "block_id": "duration", "label": text("Duration"),
              "element": { "type": "radio_buttons", "action_id": "duration",
                           "options": [option("30 minutes", "30m"), option("1 hour", "1h")] } },
            { "type": "input", "block_id": "reason", "label": text("Reason"), "optional": true,
              "element": { "type": "plain_text_input", "action_id": "reason",
                           "multiline": true } },
        ],
    })
}

fn params(trigger: &str, view: Value) -> Params {
    let mut p = Params::new();
    p.insert("trigger_id".into(), json!(trigger));
    p.insert("view".into(), view);
    p
}

fn workspace() -> Workspace {
    let mut ws = Workspace::new("xoxb-test");
    ws.users.insert(ALICE.into());
    ws
}

fn code(r: Outcome) -> String {
    r.map(|_| "ok".to_string()).unwrap_or_else(|f| f.code)
}

fn messages(view: Value) -> Vec<String> {
    check_modal(&view).expect_err("refused").errors
}

#[test]
fn a_trigger_opens_one_modal_within_three_seconds() {
    let mut ws = workspace();
    assert_eq!(code(open(&mut ws, &params("1.2.fake", request_modal()))), "invalid_trigger_id");
    let t = ws.new_trigger(ALICE);
    let body = open(&mut ws, &params(&t, request_modal())).expect("opens");
    let view = &body["view"];
    assert!(view["id"].as_str().is_some_and(|id| id.starts_with('V')));
    assert_eq!(view["root_view_id"], view["id"]);
    assert_eq!(view["previous_view_id"], Value::Null);
    assert_eq!(
        (&view["state"], &view["team_id"]),
        (&json!({ "values": {} }), &json!("T0FAKE0001"))
    );
    assert_eq!(view["external_id"], "");
    assert_eq!(ws.modal(ALICE).as_ref(), Some(view));
    assert_eq!(code(open(&mut ws, &params(&t, request_modal()))), "exchanged_trigger_id");

    let late = ws.new_trigger(ALICE);
    ws.triggers.get_mut(&late).unwrap().aged = TRIGGER_TTL + Duration::from_millis(1);
    assert_eq!(code(open(&mut ws, &params(&late, request_modal()))), "expired_trigger_id");
    let edge = ws.new_trigger(ALICE);
    ws.triggers.get_mut(&edge).unwrap().aged = TRIGGER_TTL - Duration::from_millis(50);
    assert_eq!(code(open(&mut ws, &params(&edge, request_modal()))), "ok", "just in time");
}

#[test]
fn a_refused_view_leaves_the_trigger_usable_and_a_json_string_view_is_accepted() {
    let mut ws = workspace();
    let t = ws.new_trigger(ALICE);
    let mut bad = request_modal();
    bad["title"] = text("A title far longer than 24 chars");
    assert_eq!(code(open(&mut ws, &params(&t, bad))), "invalid_arguments");
    assert!(ws.modal(ALICE).is_none());
    let as_string = Value::String(request_modal().to_string());
    assert_eq!(code(open(&mut ws, &params(&t, as_string))), "ok");
    let not_json = ws.new_trigger(ALICE);
    assert_eq!(code(open(&mut ws, &params(&not_json, json!("{not json")))), "invalid_arguments");
}

#[test]
fn missing_ids_are_generated_and_external_ids_are_unique() {
    let mut ws = workspace();
    let mut view = request_modal();
    view["blocks"][1].as_object_mut().unwrap().remove("block_id");
    view["blocks"][1]["element"].as_object_mut().unwrap().remove("action_id");
    view["external_id"] = json!("req-42");
    let t = ws.new_trigger(ALICE);
    let shown = open(&mut ws, &params(&t, view.clone())).unwrap()["view"].clone();
    assert!(shown["blocks"][1]["block_id"].as_str().is_some_and(|b| !b.is_empty()));
    assert!(shown["blocks"][1]["element"]["action_id"].is_string());
    ws.users.insert("U0BOB00001".into());
    let t = ws.new_trigger("U0BOB00001");
    assert_eq!(code(open(&mut ws, &params(&t, view))), "duplicate_external_id");
}

#[test]
fn view_fields_are_checked_with_slack_style_pointers() {
    assert!(check_modal(&request_modal()).is_ok());
    let mut v = request_modal();
    v.as_object_mut().unwrap().remove("title");
    assert_eq!(
        messages(v),
        ["[ERROR] must be a plain_text text object [json-pointer:/view/title]"]
    );
    let mut v = request_modal();
    v["title"] = json!({ "type": "mrkdwn", "text": "*x*" });
    assert_eq!(messages(v), ["[ERROR] must be plain_text [json-pointer:/view/title/type]"]);
    let mut v = request_modal();
    v["title"] = text(&"t".repeat(MAX_MODAL_TITLE_CHARS + 1));
    assert_eq!(
        messages(v),
        ["[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"]
    );
    let mut v = request_modal();
    v["title"] = text(&"t".repeat(MAX_MODAL_TITLE_CHARS));
    assert!(check_modal(&v).is_ok(), "exactly 24 is fine");
    let mut v = request_modal();
    v.as_object_mut().unwrap().remove("submit");
    assert_eq!(
        messages(v),
        ["[ERROR] must define submit to use input block [json-pointer:/view/blocks/1/input]"]
    );
    let mut v = request_modal();
    v["close"] = text(&"c".repeat(25));
    v["type"] = json!("home");
    v["callback_id"] = json!("c".repeat(256));
    v["private_metadata"] = json!("m".repeat(3001));
    v["external_id"] = json!(7);
    let got = messages(v);
    assert_eq!(got.len(), 5, "{got:?}");
    for pointer in ["/type", "/close/text", "/callback_id", "/private_metadata", "/external_id"] {
        assert!(got.iter().any(|m| m.ends_with(&format!("[json-pointer:/view{pointer}]"))));
    }
    let mut v = request_modal();
    v["private_metadata"] = json!("m".repeat(3000));
    assert!(check_modal(&v).is_ok());
}

#[test]
fn a_modal_holds_1_to_100_blocks_with_unique_ids() {
    let section = |i: usize| json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("s{i}") } });
    let mut v = request_modal();
    v["blocks"] = json!((0..MAX_MODAL_BLOCKS).map(section).collect::<Vec<_>>());
    assert!(check_modal(&v).is_ok(), "100 blocks: more than a message's 50");
    v["blocks"] = json!((0..=MAX_MODAL_BLOCKS).map(section).collect::<Vec<_>>());
    assert_eq!(
        messages(v.clone()),
        ["[ERROR] must have 1 to 100 items [json-pointer:/view/blocks]"]
    );
    v["blocks"] = json!([]);
    assert_eq!(
        messages(v.clone()),
        ["[ERROR] must have 1 to 100 items [json-pointer:/view/blocks]"]
    );
    let mut v = request_modal();
    v["blocks"][2]["block_id"] = json!("incident");
    assert_eq!(
        messages(v),
        ["[ERROR] invalid or duplicate block_id [json-pointer:/view/blocks/2/block_id]"]
    );
    let mut v = request_modal();
    v["blocks"][0] = json!({ "type": "carousel" });
    assert_eq!(
        messages(v),
        ["[ERROR] unsupported type: carousel [json-pointer:/view/blocks/0/type]"]
    );
}

#[test]
fn input_blocks_and_text_inputs_follow_block_kit() {
    let mut v = request_modal();
    v["blocks"][1]["label"] = text(&"l".repeat(2001));
    v["blocks"][1]["hint"] = text("");
    v["blocks"][1]["optional"] = json!("yes");
    v["blocks"][1]["element"]["placeholder"] = text(&"p".repeat(151));
    v["blocks"][1]["element"]["min_length"] = json!(3001);
    v["blocks"][1]["element"]["max_length"] = json!(0);
    let got = messages(v);
    let at = "[json-pointer:/view/blocks/1";
    for (msg, pointer) in [
        ("must be less than 2001 characters", "/label/text"),
        ("must be a non-empty string", "/hint/text"),
        ("must be a boolean", "/optional"),
        ("must be less than 151 characters", "/element/placeholder/text"),
        ("must be between 0 and 3000", "/element/min_length"),
        ("must be between 1 and 3000", "/element/max_length"),
    ] {
        assert!(got.contains(&format!("[ERROR] {msg} {at}{pointer}]")), "{msg}: {got:?}");
    }
    let mut v = request_modal();
    v["blocks"][1]["element"]["min_length"] = json!(10);
    v["blocks"][1]["element"]["max_length"] = json!(5);
    assert_eq!(
        messages(v),
        [format!("[ERROR] must be greater than or equal to min_length {at}/element/max_length]")]
    );
    let mut v = request_modal();
    v["blocks"][1]["element"]["initial_value"] = json!("x".repeat(21));
    assert_eq!(
        messages(v),
        [format!("[ERROR] must respect min_length and max_length {at}/element/initial_value]")]
    );
    let mut v = request_modal();
    v["blocks"][1].as_object_mut().unwrap().remove("element");
    assert_eq!(messages(v), [format!("[ERROR] must provide an element object {at}/element]")]);
}

#[test]
fn select_and_radio_options_follow_block_kit() {
    let at = |b: usize, p: &str| format!("[json-pointer:/view/blocks/{b}/element{p}]");
    let mut v = request_modal();
    v["blocks"][2]["element"]["options"] = json!([]);
    v["blocks"][2]["element"].as_object_mut().unwrap().remove("initial_option");
    assert_eq!(messages(v), [format!("[ERROR] must have 1 to 100 items {}", at(2, "/options"))]);
    let mut v = request_modal();
    v["blocks"][2]["element"]["options"] = json!([
        option("Read only", "ro"), option("Read only again", "ro"),
        option(&"o".repeat(76), "x"), option("long value", &"v".repeat(151)),
        { "text": { "type": "mrkdwn", "text": "*md*" }, "value": "md" },
    ]);
    let got = messages(v);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.contains(&format!(
        "[ERROR] must be unique among the options {}",
        at(2, "/options/1/value")
    )));
    assert!(got.contains(&format!(
        "[ERROR] must be less than 76 characters {}",
        at(2, "/options/2/text/text")
    )));
    assert!(
        got.contains(&format!("[ERROR] must be 1 to 150 characters {}", at(2, "/options/3/value")))
    );
    assert!(got.contains(&format!("[ERROR] must be plain_text {}", at(2, "/options/4/text/type"))));
    let mut v = request_modal();
    v["blocks"][2]["element"]["initial_option"] = option("Read only", "rw");
    assert_eq!(
        messages(v),
        [format!("[ERROR] must match one of the options {}", at(2, "/initial_option"))]
    );
    let mut v = request_modal();
    let eleven: Vec<Value> = (0..11).map(|i| option(&format!("o{i}"), &format!("v{i}"))).collect();
    v["blocks"][3]["element"]["options"] = json!(eleven);
    assert_eq!(messages(v), [format!("[ERROR] must have 1 to 10 items {}", at(3, "/options"))]);
    let mut v = request_modal();
    v["blocks"][3]["element"]["options"][0]["text"] = json!({ "type": "mrkdwn", "text": "*30m*" });
    assert!(check_modal(&v).is_ok(), "radio buttons may use mrkdwn");
}

#[test]
fn elements_the_fake_does_not_model_are_refused_as_such() {
    let mut v = request_modal();
    v["blocks"][1]["element"] = json!({ "type": "datepicker", "action_id": "d" });
    let f = check_modal(&v).unwrap_err();
    assert_eq!(f.code, "not_modelled_by_fake_slack");
    v["blocks"][1]["element"] = json!({ "type": "button", "action_id": "b", "text": text("b") });
    assert_eq!(check_modal(&v).unwrap_err().code, "invalid_arguments");
}
