//! What Slack makes of the bot's answer to a delivery: the answer itself ([`SentResponse`]),
//! the 3 s deadline, and what the user is shown after a slash command's HTTP ack.
//!
//! Owns the judging of acks, shared by the HTTP sender and Socket Mode. It must not send
//! anything (that is `sender` and `socket`) nor build payloads (that is `signer`).

use super::signer::SlashCommand;
use super::state::{EphemeralSource, Workspace};
use serde_json::Value;
use std::time::Duration;

/// Slack shows the user this when a slash command is not acknowledged within 3 s.
pub(crate) const ACK_DEADLINE: Duration = Duration::from_secs(3);

/// The bot's answer to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentResponse {
    pub status: u16,
    pub body: String,
    /// Time from sending to the full answer (Slack gives up after 3 s).
    pub elapsed: Duration,
}

/// What the user sees after the bot answered a slash command's HTTP request.
pub(crate) fn apply_ack(ws: &mut Workspace, cmd: &SlashCommand, ack: &SentResponse) {
    let (text, blocks, in_channel) =
        if ack.elapsed > ACK_DEADLINE || !(200..300).contains(&ack.status) {
            let code = if ack.elapsed > ACK_DEADLINE {
                "operation_timeout".to_string()
            } else {
                format!("http_service_error_{}", ack.status)
            };
            let notice = format!("{} failed with the error \"{code}\"", cmd.command);
            (Some(notice), None, false)
        } else if ack.body.trim().is_empty() {
            return;
        } else {
            match serde_json::from_str::<Value>(&ack.body) {
                Ok(v @ Value::Object(_)) => (
                    v.get("text").and_then(Value::as_str).map(str::to_string),
                    v.get("blocks").cloned(),
                    v.get("response_type").and_then(Value::as_str) == Some("in_channel"),
                ),
                _ => (Some(ack.body.clone()), None, false),
            }
        };
    ws.show_command_reply(
        &cmd.channel_id,
        &cmd.user_id,
        text,
        blocks,
        in_channel,
        EphemeralSource::CommandAck,
    );
}
