//! What Slack sends to the bot, and how it signs it: the v0 request signature, slash-command
//! form bodies, Events API callbacks (`reaction_added`/`reaction_removed`) and
//! `url_verification`.
//!
//! Owns payload shapes and signing. It must not send anything (that is `sender`) and takes the
//! time as an argument so tests can sign stale requests.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

/// The app id used in payloads.
pub const FAKE_APP_ID: &str = "A0FAKEAPP01";

/// Signs requests like Slack: `X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))`.
pub struct SlackSigner {
    secret: SecretString,
}

impl std::fmt::Debug for SlackSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlackSigner([redacted])")
    }
}

impl SlackSigner {
    pub fn new(signing_secret: SecretString) -> SlackSigner {
        SlackSigner { secret: signing_secret }
    }

    /// The `X-Slack-Signature` value for `body` sent at unix time `timestamp`.
    pub fn sign(&self, timestamp: i64, body: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes()) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(format!("v0:{timestamp}:").as_bytes());
        mac.update(body.as_bytes());
        format!("v0={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Both headers Slack sets, as `(name, value)`.
    pub fn headers(&self, timestamp: i64, body: &str) -> [(&'static str, String); 2] {
        [
            ("x-slack-request-timestamp", timestamp.to_string()),
            ("x-slack-signature", self.sign(timestamp, body)),
        ]
    }
}

/// A slash command as Slack POSTs it (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlashCommand {
    /// The deprecated verification token; sent by Slack, never to be trusted.
    pub token: String,
    pub team_id: String,
    pub team_domain: String,
    pub channel_id: String,
    pub channel_name: String,
    pub user_id: String,
    pub user_name: String,
    pub command: String,
    pub text: String,
    pub api_app_id: String,
    pub is_enterprise_install: String,
    pub response_url: String,
    pub trigger_id: String,
}

impl SlashCommand {
    pub fn new(command: &str, text: &str, user: &str, channel: &str, response_url: &str) -> Self {
        SlashCommand {
            token: "fakeVerificationToken0000".into(),
            team_id: "T0FAKE0001".into(),
            team_domain: "fake-workspace".into(),
            channel_id: channel.into(),
            channel_name: if channel.starts_with('D') {
                "directmessage".into()
            } else {
                "incidents".into()
            },
            user_id: user.into(),
            user_name: user.to_ascii_lowercase(),
            command: command.into(),
            text: text.into(),
            api_app_id: FAKE_APP_ID.into(),
            is_enterprise_install: "false".into(),
            response_url: response_url.into(),
            trigger_id: "0000000000.0000000000.fake".into(),
        }
    }

    pub fn with_team(mut self, team: &str) -> Self {
        self.team_id = team.into();
        self
    }

    pub fn with_trigger_id(mut self, trigger_id: &str) -> Self {
        self.trigger_id = trigger_id.into();
        self
    }

    /// The form body, exactly as Slack encodes it.
    pub fn form_body(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// A `reaction_added` or `reaction_removed` Events API callback on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionEvent {
    pub added: bool,
    pub user: String,
    pub reaction: String,
    pub channel: String,
    pub message_ts: String,
    pub item_user: String,
    pub team_id: String,
    pub event_id: String,
}

impl ReactionEvent {
    pub fn new(added: bool, user: &str, reaction: &str, channel: &str, message_ts: &str) -> Self {
        ReactionEvent {
            added,
            user: user.into(),
            reaction: reaction.into(),
            channel: channel.into(),
            message_ts: message_ts.into(),
            item_user: "U0FAKEBOT1".into(),
            team_id: "T0FAKE0001".into(),
            event_id: "Ev0000000001".into(),
        }
    }

    pub fn with_team(mut self, team: &str) -> Self {
        self.team_id = team.into();
        self
    }

    pub fn with_item_user(mut self, user: &str) -> Self {
        self.item_user = user.into();
        self
    }

    pub fn with_event_id(mut self, id: &str) -> Self {
        self.event_id = id.into();
        self
    }

    /// The `event_callback` envelope Slack POSTs, for an event that happened at `event_time`.
    pub fn to_json(&self, event_time: i64) -> Value {
        json!({
            "token": "fakeVerificationToken0000",
            "team_id": self.team_id,
            "api_app_id": FAKE_APP_ID,
            "event": {
                "type": if self.added { "reaction_added" } else { "reaction_removed" },
                "user": self.user,
                "reaction": self.reaction,
                "item": { "type": "message", "channel": self.channel, "ts": self.message_ts },
                "item_user": self.item_user,
                "event_ts": format!("{event_time}.000100"),
            },
            "type": "event_callback",
            "event_id": self.event_id,
            "event_time": event_time,
            "authorizations": [{
                "enterprise_id": null, "team_id": self.team_id, "user_id": self.item_user,
                "is_bot": true, "is_enterprise_install": false,
            }],
            "is_ext_shared_channel": false,
            "event_context": format!("4-fake-{}", self.event_id),
        })
    }
}

/// The `url_verification` handshake Slack sends when the events URL is saved.
pub fn url_verification(challenge: &str) -> Value {
    json!({ "token": "fakeVerificationToken0000", "challenge": challenge, "type": "url_verification" })
}
