//! The interactive payloads the fake builds as Slack would send them: a button press on a
//! channel message or on the user's ephemeral (`block_actions`, only for a button that message
//! shows) and `app_home_opened`. Each carries a fresh `trigger_id`, recorded for `views.open`.

use super::FakeSlack;
use serde_json::Value;

impl FakeSlack {
    /// The `block_actions` payload Slack sends when `user` presses the button `action_id` of
    /// the message `ts` in `channel` (a fresh `trigger_id`, `action_ts` now). Slack sends one
    /// only for a button the message shows: `Err` if it has no such button.
    pub fn block_action(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        action_id: &str,
    ) -> anyhow::Result<Value> {
        let (team, message) = {
            let ws = self.shared.lock();
            (ws.team_id.clone(), ws.message(channel, ts))
        };
        let message = message.ok_or_else(|| anyhow::anyhow!("no message {ts} in {channel}"))?;
        let blocks = message.blocks.clone().unwrap_or(Value::Null);
        let (block_id, button) = find_button(&blocks, action_id)
            .ok_or_else(|| anyhow::anyhow!("message {ts} shows no button {action_id}"))?;
        let trigger_id = self.shared.lock().new_trigger(user);
        Ok(serde_json::json!({
            "type": "block_actions",
            "user": { "id": user, "username": user.to_lowercase(), "team_id": team },
            "api_app_id": "A0FAKE0001",
            "token": "fake-verification-token",
            "container": { "type": "message", "message_ts": ts, "channel_id": channel,
                           "is_ephemeral": false },
            "trigger_id": trigger_id,
            "team": { "id": team, "domain": "fake-workspace" },
            "channel": { "id": channel },
            "message": { "type": "message", "ts": ts, "text": message.text, "blocks": blocks },
            "response_url": self.new_response_url(channel, user),
            "actions": [{
                "action_id": action_id,
                "block_id": block_id,
                "text": button["text"],
                "value": button["value"],
                "style": button["style"],
                "type": "button",
                "action_ts": action_ts(),
            }],
        }))
    }

    /// The `block_actions` payload Slack sends when `user` presses the button `action_id` on
    /// their ephemeral message `message_ts` (an ephemeral of theirs that shows that button;
    /// anything else is an error, as Slack could not send it).
    pub fn ephemeral_block_action(
        &self,
        user: &str,
        message_ts: &str,
        action_id: &str,
    ) -> anyhow::Result<Value> {
        let (team, seq, found) = {
            let mut ws = self.shared.lock();
            let found = ws
                .ephemerals
                .iter()
                .find(|e| e.user == user && e.message_ts.as_deref() == Some(message_ts))
                .cloned();
            (ws.team_id.clone(), ws.next_seq(), found)
        };
        let e = found.ok_or_else(|| anyhow::anyhow!("no ephemeral {message_ts} for {user}"))?;
        let (block_id, button) = find_button(e.blocks.as_ref().unwrap_or(&Value::Null), action_id)
            .ok_or_else(|| anyhow::anyhow!("ephemeral {message_ts} shows no button {action_id}"))?;
        let trigger_id = self.shared.lock().new_trigger(user);
        Ok(serde_json::json!({
            "type": "block_actions",
            "user": { "id": user, "username": user.to_lowercase(), "team_id": team },
            "api_app_id": "A0FAKE0001",
            "token": "fake-verification-token",
            "container": { "type": "message", "message_ts": message_ts, "channel_id": e.channel,
                           "is_ephemeral": true },
            "trigger_id": trigger_id,
            "team": { "id": team, "domain": "fake-workspace" },
            "channel": { "id": e.channel, "name": "directmessage" },
            "response_url": format!("https://hooks.slack.com/actions/T0FAKE/{seq}/fake"),
            "actions": [{
                "action_id": action_id, "block_id": block_id,
                "text": button["text"], "value": button["value"], "type": "button",
                "action_ts": action_ts(),
            }],
        }))
    }

    /// An `app_home_opened` callback (the Home tab) for `user`, with a fresh event id.
    pub fn app_home_opened(&self, user: &str) -> serde_json::Value {
        let (team, bot, seq, dm) = {
            let mut ws = self.shared.lock();
            let dm = ws.dm_of(user).0;
            (ws.team_id.clone(), ws.bot_user_id.clone(), ws.next_seq(), dm)
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        serde_json::json!({
            "token": "fakeVerificationToken0000",
            "team_id": team,
            "api_app_id": "A0FAKE0001",
            "event": {
                "type": "app_home_opened", "user": user, "channel": dm, "tab": "home",
                "event_ts": format!("{now}.000200"),
            },
            "type": "event_callback",
            "event_id": format!("Ev{seq:010}"),
            "event_time": now,
            "authorizations": [{ "enterprise_id": null, "team_id": team, "user_id": bot,
                "is_bot": true, "is_enterprise_install": false }],
        })
    }
}

/// The button `action_id` among `blocks`' actions blocks, with its block's id: Slack sends a
/// press only for a button the message shows.
fn find_button(blocks: &Value, action_id: &str) -> Option<(Value, Value)> {
    blocks
        .as_array()?
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| {
            let elements = b["elements"].as_array().into_iter().flatten();
            elements.map(move |e| (b["block_id"].clone(), e))
        })
        .find(|(_, e)| e["type"] == "button" && e["action_id"] == action_id)
        .map(|(id, e)| (id, e.clone()))
}

/// A press's `action_ts`: now, in seconds with microseconds.
fn action_ts() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    format!("{now:.6}")
}
