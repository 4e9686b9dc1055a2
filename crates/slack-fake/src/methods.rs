//! Web API method semantics of the fake: parameter checks, Slack's limits, and the changes
//! each call makes to the [`Workspace`].
//!
//! Owns the rules (which error code for which mistake). It must not do I/O or know about HTTP;
//! `server` hands it parsed parameters and turns the result into a response.
//! Stricter than Slack in one place: a `thread_ts` that names no message is `thread_not_found`
//! (Slack would post a stray message).

pub use super::blocks::*;
pub use super::failure::*;
use super::state::{EphemeralSource, FakeEphemeral, FakeMessage, Workspace};
use serde_json::{json, Value};

fn param<'p>(p: &'p Params, name: &str) -> Option<&'p str> {
    p.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Runs one method against the workspace.
pub fn dispatch(ws: &mut Workspace, method: &str, p: &Params) -> Outcome {
    match method {
        "auth.test" => Ok(json!({
            "url": "https://fake-workspace.slack.com/", "team": "Fake Workspace",
            "user": "pgroles", "team_id": ws.team_id, "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id, "is_enterprise_install": false,
        })),
        "chat.postMessage" => post_message(ws, p),
        "chat.update" => update(ws, p),
        "chat.postEphemeral" => post_ephemeral(ws, p),
        "chat.getPermalink" => permalink(ws, p),
        "conversations.open" => open(ws, p),
        "usergroups.users.list" => {
            let group = param(p, "usergroup").ok_or_else(|| fail("invalid_arguments"))?;
            let users = ws.groups.get(group).ok_or_else(|| fail("no_such_subteam"))?;
            Ok(json!({ "users": users }))
        }
        "users.info" => user_info(ws, p),
        _ => Err(fail("unknown_method")),
    }
}

/// `users.info`: Slack answers `user_not_found` for an id it does not know (the spec lists
/// `user` as optional, so its absence is the same error, not `invalid_arguments`).
fn user_info(ws: &Workspace, p: &Params) -> Outcome {
    let user = param(p, "user").ok_or_else(|| fail("user_not_found"))?;
    if !ws.users.contains(user) {
        return Err(fail("user_not_found"));
    }
    let mut profile = json!({ "real_name": user, "display_name": user, "team": ws.team_id });
    if let Some(email) = ws.emails.get(user) {
        profile["email"] = Value::String(email.clone());
    }
    Ok(json!({
        "user": {
            "id": user, "team_id": ws.team_id, "name": user.to_lowercase(), "deleted": false,
            "is_bot": false, "is_admin": false, "tz": "Etc/UTC", "profile": profile,
        }
    }))
}

/// Resolves a `channel` parameter to a channel id the bot may post in. A user id means the
/// bot's DM with that user, as in Slack.
fn writable_channel(ws: &mut Workspace, p: &Params) -> Result<String, ApiFailure> {
    let requested = param(p, "channel").ok_or_else(|| fail("channel_not_found"))?;
    let id = if ws.users.contains(requested) { ws.dm_of(requested).0 } else { requested.into() };
    let channel = ws.channels.get(&id).ok_or_else(|| fail("channel_not_found"))?;
    if !channel.bot_member {
        return Err(fail("not_in_channel"));
    }
    Ok(id)
}

/// Checks `text` and `blocks` the way Slack does; returns them for storing.
pub fn content(p: &Params) -> Result<(Option<String>, Option<Value>), ApiFailure> {
    let text = param(p, "text").map(str::to_string);
    let blocks = match p.get("blocks") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => {
            Some(serde_json::from_str(s).map_err(|_| fail("invalid_blocks_format"))?)
        }
        Some(v) => Some(v.clone()),
    };
    if let Some(blocks) = &blocks {
        validate_blocks(blocks)?;
    }
    let has_blocks = blocks.as_ref().and_then(Value::as_array).is_some_and(|b| !b.is_empty());
    if text.is_none() && !has_blocks {
        return Err(fail("no_text"));
    }
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
        return Err(fail("msg_too_long"));
    }
    Ok((text, blocks))
}

fn post_message(ws: &mut Workspace, p: &Params) -> Outcome {
    let channel = writable_channel(ws, p)?;
    let (text, blocks) = content(p)?;
    let thread_ts = match param(p, "thread_ts") {
        None => None,
        Some(t) => {
            let parent = ws.message(&channel, t).ok_or_else(|| fail("thread_not_found"))?;
            // A reply to a reply lands in the parent's thread, as in Slack.
            Some(parent.thread_ts.unwrap_or(parent.ts))
        }
    };
    let ts = ws.next_ts();
    let msg = FakeMessage {
        channel: channel.clone(),
        ts: ts.clone(),
        thread_ts,
        text,
        blocks,
        user: ws.bot_user_id.clone(),
        edits: 0,
    };
    let body = json!({ "channel": channel, "ts": ts, "message": message_json(ws, &msg) });
    ws.messages.push(msg);
    Ok(body)
}

fn message_json(ws: &Workspace, m: &FakeMessage) -> Value {
    let mut v = json!({
        "type": "message", "user": m.user, "bot_id": ws.bot_id, "ts": m.ts,
        "text": m.text.clone().unwrap_or_default(), "team": ws.team_id,
    });
    if let Some(b) = &m.blocks {
        v["blocks"] = b.clone();
    }
    if let Some(t) = &m.thread_ts {
        v["thread_ts"] = Value::String(t.clone());
    }
    v
}

fn update(ws: &mut Workspace, p: &Params) -> Outcome {
    let channel = param(p, "channel").ok_or_else(|| fail("channel_not_found"))?.to_string();
    if !ws.channels.contains_key(&channel) {
        return Err(fail("channel_not_found"));
    }
    let ts = param(p, "ts").ok_or_else(|| fail("message_not_found"))?.to_string();
    let (text, blocks) = content(p)?;
    let bot = ws.bot_user_id.clone();
    let msg = ws
        .messages
        .iter_mut()
        .find(|m| m.channel == channel && m.ts == ts)
        .ok_or_else(|| fail("message_not_found"))?;
    if msg.user != bot {
        return Err(fail("cant_update_message"));
    }
    // Slack keeps the old blocks when none are sent, and the old text likewise.
    if text.is_some() {
        msg.text = text;
    }
    if blocks.is_some() {
        msg.blocks = blocks;
    }
    msg.edits += 1;
    let msg = msg.clone();
    let message = message_json(ws, &msg);
    Ok(json!({
        "channel": channel, "ts": ts, "text": msg.text.unwrap_or_default(), "message": message,
    }))
}

fn post_ephemeral(ws: &mut Workspace, p: &Params) -> Outcome {
    let channel = writable_channel(ws, p)?;
    let user = param(p, "user").ok_or_else(|| fail("user_not_in_channel"))?.to_string();
    let visible = ws.channels.get(&channel).is_some_and(|c| ws.is_member(c, &user));
    if !visible {
        return Err(fail("user_not_in_channel"));
    }
    let (text, blocks) = content(p)?;
    let thread_ts = param(p, "thread_ts").map(str::to_string);
    let message_ts = ws.next_ts();
    ws.ephemerals.push(FakeEphemeral {
        channel,
        user,
        text,
        blocks,
        thread_ts,
        source: EphemeralSource::PostEphemeral,
        message_ts: Some(message_ts.clone()),
    });
    Ok(json!({ "message_ts": message_ts }))
}

fn permalink(ws: &mut Workspace, p: &Params) -> Outcome {
    let channel = param(p, "channel").ok_or_else(|| fail("channel_not_found"))?;
    if !ws.channels.contains_key(channel) {
        return Err(fail("channel_not_found"));
    }
    let ts = param(p, "message_ts").ok_or_else(|| fail("message_not_found"))?;
    let msg = ws.message(channel, ts).ok_or_else(|| fail("message_not_found"))?;
    let mut link =
        format!("https://fake-workspace.slack.com/archives/{channel}/p{}", msg.ts.replace('.', ""));
    if let Some(parent) = &msg.thread_ts {
        link.push_str(&format!("?thread_ts={parent}&cid={channel}"));
    }
    Ok(json!({ "channel": channel, "permalink": link }))
}

fn open(ws: &mut Workspace, p: &Params) -> Outcome {
    let users: Vec<String> = match p.get("users") {
        Some(Value::String(s)) => {
            s.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_string).collect()
        }
        _ => Vec::new(),
    };
    if users.is_empty() {
        let channel = param(p, "channel").ok_or_else(|| fail("users_list_not_supplied"))?;
        if !ws.dms.values().any(|d| d == channel) {
            return Err(fail("channel_not_found"));
        }
        return Ok(json!({ "channel": { "id": channel }, "no_op": true, "already_open": true }));
    }
    if users.len() > 1 {
        // Group DMs are not modelled: the bot only opens one-to-one DMs.
        return Err(fail("not_modelled_by_fake_slack"));
    }
    let user = &users[0];
    if !ws.users.contains(user) {
        return Err(fail("user_not_found"));
    }
    let (id, existed) = ws.dm_of(user);
    let mut body = json!({ "channel": { "id": id } });
    if existed {
        body["no_op"] = Value::Bool(true);
        body["already_open"] = Value::Bool(true);
    }
    Ok(body)
}
