//! Interactive components (`/slack/interactivity`): the request message's Approve and Deny
//! buttons arrive as `block_actions` payloads. Parsed here without I/O; [`super::dispatch`]
//! claims each press once (Slack's `trigger_id`) and hands it to the workflow, which decides as
//! for a reaction.
//!
//! Owns the payload's shape (a form field `payload` holding JSON). Anything that is not one of
//! our buttons on a channel message is ignored, never an error Slack would show.

use crate::workflow::ButtonInput;
use serde::Deserialize;

/// What an interactivity body asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum ParsedInteraction {
    Button { trigger_id: String, button: ButtonInput },
    Ignored { kind: String },
}

#[derive(Deserialize)]
struct Form {
    payload: String,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    trigger_id: Option<String>,
    user: Option<Id>,
    container: Option<Container>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct Container {
    #[serde(rename = "type")]
    kind: String,
    channel_id: Option<String>,
    message_ts: Option<String>,
}

#[derive(Deserialize)]
struct Action {
    action_id: String,
    action_ts: Option<String>,
    value: Option<String>,
}

/// Parses a form-encoded interactivity body (`payload=<json>`). `Err`: not such a body.
pub fn parse_interaction(body: &[u8]) -> Result<ParsedInteraction, String> {
    let form: Form = serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())?;
    parse_payload(&form.payload)
}

/// Parses the payload's JSON (Socket Mode sends it as is).
pub fn parse_payload(json: &str) -> Result<ParsedInteraction, String> {
    let p: Payload = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if p.kind != "block_actions" {
        return Ok(ParsedInteraction::Ignored { kind: p.kind });
    }
    let ignored = || Ok(ParsedInteraction::Ignored { kind: "block_actions".into() });
    let (Some(trigger_id), Some(user), Some(container), [action]) =
        (p.trigger_id, p.user, p.container, p.actions.as_slice())
    else {
        return ignored();
    };
    let (Some(channel), Some(ts)) = (container.channel_id, container.message_ts) else {
        return ignored();
    };
    if container.kind != "message" {
        return ignored();
    }
    let button = ButtonInput {
        user: user.id,
        action_id: action.action_id.clone(),
        channel,
        ts,
        action_ts: action.action_ts.clone(),
        value: action.value.clone(),
    };
    Ok(ParsedInteraction::Button { trigger_id, button })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(payload: &serde_json::Value) -> Vec<u8> {
        serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap().into_bytes()
    }

    #[test]
    fn a_button_press_on_a_message_is_parsed_and_anything_else_ignored() {
        let press = serde_json::json!({
            "type": "block_actions", "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "user": { "id": "U0APP00001", "username": "a", "team_id": "T0" },
            "container": { "type": "message", "channel_id": "C0AUDIT001",
                           "message_ts": "1700000000.000100", "is_ephemeral": false },
            "actions": [{ "action_id": "pgroles_approve", "block_id": "pgroles_decision",
                          "value": "r-1", "type": "button", "action_ts": "1700000001.000200" }]
        });
        let Ok(ParsedInteraction::Button { trigger_id, button }) = parse_interaction(&body(&press))
        else {
            panic!("not parsed");
        };
        assert_eq!(trigger_id, "13345224609.738474920.8088930838d88f008e0");
        assert_eq!(
            (button.user.as_str(), button.action_id.as_str(), button.ts.as_str()),
            ("U0APP00001", "pgroles_approve", "1700000000.000100")
        );
        let mut modal = press.clone();
        modal["type"] = "view_submission".into();
        assert_eq!(
            parse_interaction(&body(&modal)),
            Ok(ParsedInteraction::Ignored { kind: "view_submission".into() })
        );
        let mut two = press.clone();
        two["actions"] = serde_json::json!([press["actions"][0], press["actions"][0]]);
        assert!(matches!(parse_interaction(&body(&two)), Ok(ParsedInteraction::Ignored { .. })));
        assert!(parse_interaction(b"payload=%7Bnot json").is_err());
        assert!(parse_interaction(b"nothing=1").is_err());
    }
}
