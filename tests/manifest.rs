//! The Slack app manifest (`bot-manifest/manifest.yaml`) is valid for Slack and matches what
//! the bot serves: its commands, events, scopes and routes.

use serde_json::Value;

fn manifest() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bot-manifest/manifest.yaml"))
            .expect("read manifest");
    serde_yaml::from_str(&text).expect("manifest is YAML")
}

fn strings(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{pointer} is a list"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn manifest_is_valid_against_slacks_manifest_schema() {
    let schema: Value = serde_json::from_str(include_str!("data/slack/manifest.schema.2.0.0.json"))
        .expect("schema is JSON");
    let validator = jsonschema::draft7::new(&schema).expect("schema compiles as draft-07");
    let manifest = manifest();
    let errors: Vec<String> =
        validator.iter_errors(&manifest).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "manifest violates Slack's schema: {errors:#?}");
}

#[test]
fn schema_rejects_a_manifest_slack_would_reject() {
    // Guards the test above against a schema that accepts everything.
    let schema: Value =
        serde_json::from_str(include_str!("data/slack/manifest.schema.2.0.0.json")).expect("json");
    let validator = jsonschema::draft7::new(&schema).expect("compiles");
    let mut bad = manifest();
    bad["features"]["slash_commands"][0]["command"] = Value::String("firefighter".into());
    bad["settings"]["unknown_setting"] = Value::Bool(true);
    assert!(validator.iter_errors(&bad).count() >= 2);
}

#[test]
fn manifest_declares_exactly_the_commands_and_events_the_bot_handles() {
    // What src/slack's listener routes and dispatches on.
    const COMMANDS: [(&str, &str); 2] = [
        (
            "/firefighter",
            "(alone: a request form) | ro|rw [target] <incident> [duration] [reason] | status | done | extend <duration> | revoke ro|rw [@user] | resend | activity [@user] | history | help",
        ),
        ("/pgroles", "verify [target|all] [post] | help"),
    ];
    const EVENTS: [&str; 3] = ["reaction_added", "reaction_removed", "app_home_opened"];
    let m = manifest();

    let commands =
        m.pointer("/features/slash_commands").and_then(Value::as_array).expect("commands");
    let declared: Vec<(String, String, String)> = commands
        .iter()
        .map(|c| {
            (
                c["command"].as_str().expect("command").to_string(),
                c["usage_hint"].as_str().expect("usage hint").to_string(),
                c["url"].as_str().expect("url").to_string(),
            )
        })
        .collect();
    assert_eq!(declared.len(), COMMANDS.len());
    for ((cmd, hint, url), (want_cmd, want_hint)) in declared.iter().zip(COMMANDS) {
        assert_eq!((cmd.as_str(), hint.as_str()), (want_cmd, want_hint));
        assert_eq!(url, "https://pgroles.example.com/slack/commands");
    }

    assert_eq!(strings(&m, "/settings/event_subscriptions/bot_events"), EVENTS);
    assert_eq!(
        m.pointer("/settings/event_subscriptions/request_url"),
        Some(&Value::String("https://pgroles.example.com/slack/events".into()))
    );
    assert_eq!(
        m.pointer("/settings/interactivity/request_url"),
        Some(&Value::String("https://pgroles.example.com/slack/interactivity".into()))
    );
    assert_eq!(m.pointer("/settings/socket_mode_enabled"), Some(&Value::Bool(false)));
    assert_eq!(m.pointer("/settings/org_deploy_enabled"), Some(&Value::Bool(false)));
}

#[test]
fn manifest_requests_the_scopes_the_bots_api_calls_need_and_no_more() {
    // commands: slash commands; chat:write: chat.postMessage/update/postEphemeral;
    // im:write: conversations.open; reactions:read: reaction events;
    // usergroups:read: usergroups.users.list; users:read + users:read.email: users.info with
    // the profile email (on-call auto-approval looks the requester up in PagerDuty by email).
    let mut scopes = strings(&manifest(), "/oauth_config/scopes/bot");
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "chat:write",
            "commands",
            "im:write",
            "reactions:read",
            "usergroups:read",
            "users:read",
            "users:read.email"
        ]
    );
}
