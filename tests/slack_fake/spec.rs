//! The fake refuses what Slack's Web API spec refuses: the derived argument table is in sync
//! with the vendored spec, and every method the fake serves checks required arguments and
//! argument types, for JSON and form-encoded bodies alike.

use crate::*;
use slack_fake::spec::{self, ArgType};

const SPEC: &str = "tests/data/slack/slack_web_openapi_v2.json";
const TABLE: &str = "crates/slack-fake/src/web_api_arguments.json";

/// Regenerate with `PGROLES_BLESS=1 cargo test --test slack_fake argument_table`.
#[test]
fn argument_table_matches_the_spec() {
    let root = env!("CARGO_MANIFEST_DIR");
    let spec_json: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/{SPEC}")).unwrap()).unwrap();
    let derived = spec::render_table(&spec::derive_table(&spec_json));
    if std::env::var_os("PGROLES_BLESS").is_some() {
        std::fs::write(format!("{root}/{TABLE}"), &derived).unwrap();
    }
    assert!(
        derived == spec::ARGUMENT_TABLE,
        "{TABLE} is out of date with {SPEC}: rerun with PGROLES_BLESS=1"
    );
    let open = spec::arguments("conversations.open").unwrap();
    assert_eq!(open["users"].0, ArgType::String, "Slack documents users as a string");
    assert_eq!(spec::arguments("chat.postMessage").unwrap()["blocks"].0, ArgType::Json);
}

async fn call(fake: &FakeSlack, method: &str, body: Body) -> Value {
    let url = format!("{}{method}", fake.api_url());
    let req = reqwest::Client::new().post(url).bearer_auth(fake.bot_token());
    let req = match body {
        Body::Json(v) => req.json(&v),
        Body::Form(pairs) => req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(pairs).unwrap()),
    };
    req.send().await.unwrap().json().await.unwrap()
}

enum Body {
    Json(Value),
    Form(Vec<(String, String)>),
}

fn refused(answer: &Value, needle: &str) {
    assert_eq!(answer["error"], "invalid_arguments", "{answer}");
    let messages = answer["response_metadata"]["messages"].to_string();
    assert!(messages.contains(needle), "{needle} not in {messages}");
}

#[tokio::test]
async fn conversations_open_refuses_a_json_array_of_users() {
    let fake = workspace().await;
    let answer = call(&fake, "conversations.open", Body::Json(json!({ "users": [ALICE] }))).await;
    refused(&answer, "[json-pointer:/users]");
    assert!(fake.with(|ws| ws.dm_channel(ALICE)).is_none(), "nothing was opened");

    let answer = call(&fake, "conversations.open", Body::Json(json!({ "users": ALICE }))).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let form = Body::Form(vec![("users".into(), ALICE.to_string())]);
    let again = call(&fake, "conversations.open", form).await;
    assert_eq!(again["channel"]["id"], answer["channel"]["id"], "{again}");
    // The bot's client sends the documented string.
    assert_eq!(api(&fake).open_dm(BOB).await.unwrap(), fake.with(|ws| ws.dm_channel(BOB)).unwrap());
}

/// A value of the wrong type for each argument type the spec uses.
fn wrong_value(kind: ArgType) -> Value {
    match kind {
        ArgType::String => json!(["x"]),
        ArgType::Json => json!(true),
        ArgType::Boolean => json!("maybe"),
        ArgType::Integer | ArgType::Number => json!("many"),
    }
}

fn right_value(kind: ArgType, name: &str, ts: &str) -> Value {
    match (kind, name) {
        (_, "channel") => json!(OPS),
        (_, "user") => json!(ALICE),
        (_, "ts" | "message_ts") => json!(ts),
        (_, "usergroup") => json!("S0ONCALL01"),
        (ArgType::Boolean, _) => json!(false),
        (ArgType::Integer | ArgType::Number, _) => json!(1),
        _ => json!("x"),
    }
}

fn form_of(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

/// Every method the fake serves: a missing required argument and an argument of the wrong
/// type are refused with `invalid_arguments`, in a JSON body and (where a string cannot carry
/// the mistake, e.g. a non-boolean) in a form body; nothing changes in the workspace.
#[tokio::test]
async fn every_served_method_checks_its_arguments_against_the_spec() {
    let contract: Value =
        serde_json::from_str(include_str!("../data/slack/web_api_methods.json")).unwrap();
    let fake = workspace().await;
    fake.add_usergroup("S0ONCALL01", &[ALICE]);
    let ts = api(&fake).post_message(OPS, "seed", &[], None).await.unwrap();
    let before = (fake.messages(OPS).len(), fake.ephemerals(ALICE).len());
    for method in contract["methods"].as_object().unwrap().keys() {
        let args = spec::arguments(method).unwrap_or_else(|| panic!("{method} not in the spec"));
        let valid: serde_json::Map<String, Value> = args
            .iter()
            .filter(|(_, a)| a.1)
            .map(|(n, a)| (n.clone(), right_value(a.0, n, &ts)))
            .collect();
        for name in args.iter().filter(|(_, a)| a.1).map(|(n, _)| n) {
            let mut missing = valid.clone();
            missing.remove(name);
            let answer = call(&fake, method, Body::Json(Value::Object(missing.clone()))).await;
            refused(&answer, &format!("missing required field: {name}"));
            let form = missing.iter().map(|(k, v)| (k.clone(), form_of(v))).collect();
            refused(&call(&fake, method, Body::Form(form)).await, name);
        }
        for (name, arg) in args {
            let mut wrong = valid.clone();
            wrong.insert(name.clone(), wrong_value(arg.0));
            let answer = call(&fake, method, Body::Json(Value::Object(wrong.clone()))).await;
            refused(&answer, &format!("[json-pointer:/{name}]"));
            if matches!(arg.0, ArgType::Boolean | ArgType::Integer | ArgType::Number) {
                let form = wrong.iter().map(|(k, v)| (k.clone(), form_of(v))).collect();
                refused(&call(&fake, method, Body::Form(form)).await, name);
            }
        }
    }
    assert_eq!((fake.messages(OPS).len(), fake.ephemerals(ALICE).len()), before);
}
