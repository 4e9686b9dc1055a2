//! Modals: the `trigger_id`s the fake hands out with interactions, `views.open` (a trigger
//! exchanged once, within 3 s, for a modal), and the modal each user has open.
//!
//! Owns the trigger rules (`invalid_trigger_id`, `exchanged_trigger_id`, `expired_trigger_id`)
//! and how a view is stored and echoed (ids, hash, defaults). What a view must contain is
//! `modal_view`'s; what a `view_submission` answer does to the modal is `submission`'s. No I/O.

use super::methods::{fail, ApiFailure, Outcome, Params};
use super::modal_view::check_modal;
use super::signer::FAKE_APP_ID;
use super::state::{OpenView, Workspace};
use super::FakeSlack;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a trigger_id can be exchanged (Slack: "expires in 3 seconds").
pub const TRIGGER_TTL: Duration = Duration::from_secs(3);
/// `view_too_large`: Slack refuses a view over 250 kB (read here as 250 KiB of JSON).
pub const MAX_VIEW_BYTES: usize = 250 * 1024;

/// The `view` argument, a JSON string (or, in a JSON body, the object itself).
pub(crate) fn parse_view(v: Option<&Value>) -> Result<Value, ApiFailure> {
    let invalid = || ApiFailure {
        code: "invalid_arguments".into(),
        errors: vec!["[ERROR] must be a JSON-encoded view object [json-pointer:/view]".into()],
    };
    let view = match v {
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| invalid())?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(invalid()),
    };
    if view.is_object() {
        Ok(view)
    } else {
        Err(invalid())
    }
}

/// Everything Slack checks on a view before showing it: its content, its size, and that its
/// `external_id` (unique on the team) is not already used by another open view.
pub(crate) fn admissible(
    ws: &Workspace,
    view: &Value,
    replacing: Option<&Value>,
) -> Result<(), ApiFailure> {
    check_modal(view)?;
    if view.to_string().len() > MAX_VIEW_BYTES {
        return Err(fail("view_too_large"));
    }
    if let Some(ext) = view.get("external_id").and_then(Value::as_str).filter(|e| !e.is_empty()) {
        let taken = ws.modals.values().flatten().any(|o| {
            o.view["external_id"] == ext && replacing.is_none_or(|id| &o.view["id"] != id)
        });
        if taken {
            return Err(fail("duplicate_external_id"));
        }
    }
    Ok(())
}

fn hash() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{now}.{:08x}", rand::random::<u32>())
}

/// The view as Slack stores and echoes it: `id`, `team_id`, `app_id`, `bot_id`, a fresh
/// `hash`, empty `state`, defaults for the optional fields, and generated `block_id`s and
/// `action_id`s where the app gave none. `previous` is the view it replaces (same id).
pub(crate) fn stored_view(ws: &mut Workspace, mut view: Value, previous: Option<&Value>) -> Value {
    let id = match previous {
        Some(p) => p["id"].clone(),
        None => Value::String(format!("V{:010}", ws.next_seq())),
    };
    if let Some(blocks) = view.get_mut("blocks").and_then(Value::as_array_mut) {
        for b in blocks {
            if b.get("block_id").is_none() {
                b["block_id"] = json!(format!("{:x}", rand::random::<u32>()));
            }
            if let Some(e) = b.get_mut("element").filter(|e| e.get("action_id").is_none()) {
                e["action_id"] = json!(format!("{:x}", rand::random::<u32>()));
            }
        }
    }
    let defaults = [
        ("private_metadata", json!("")),
        ("callback_id", json!("")),
        ("external_id", json!("")),
        ("clear_on_close", json!(false)),
        ("notify_on_close", json!(false)),
    ];
    for (field, value) in defaults {
        if view.get(field).is_none() {
            view[field] = value;
        }
    }
    view["id"] = id.clone();
    view["team_id"] = json!(ws.team_id);
    view["app_id"] = json!(FAKE_APP_ID);
    view["bot_id"] = json!(ws.bot_id);
    view["state"] = json!({ "values": {} });
    view["hash"] = json!(hash());
    view["root_view_id"] = previous.map_or(id, |p| p["root_view_id"].clone());
    view["previous_view_id"] = previous.map_or(Value::Null, |p| p["previous_view_id"].clone());
    view
}

/// `views.open`: exchanges a live trigger_id (issued to a user, unused, at most 3 s old) for a
/// modal shown to that user, a new root view replacing any modal they had open.
pub(crate) fn open(ws: &mut Workspace, p: &Params) -> Outcome {
    let trigger_id = p.get("trigger_id").and_then(Value::as_str).unwrap_or_default();
    let trigger = ws.triggers.get(trigger_id).ok_or_else(|| fail("invalid_trigger_id"))?;
    if trigger.exchanged {
        return Err(fail("exchanged_trigger_id"));
    }
    if trigger.age() > TRIGGER_TTL {
        return Err(fail("expired_trigger_id"));
    }
    let user = trigger.user.clone();
    let view = parse_view(p.get("view"))?;
    admissible(ws, &view, None)?;
    let view = stored_view(ws, view, None);
    if let Some(t) = ws.triggers.get_mut(trigger_id) {
        t.exchanged = true;
    }
    ws.modals.insert(user, vec![OpenView { view: view.clone(), errors: None }]);
    Ok(json!({ "view": view }))
}

impl FakeSlack {
    /// Makes `trigger_id` `by` older, as if that time had passed (to test `expired_trigger_id`
    /// without sleeping). `Err` if the fake never handed it out.
    pub fn age_trigger(&self, trigger_id: &str, by: Duration) -> anyhow::Result<()> {
        let mut ws = self.shared.lock();
        let t = ws
            .triggers
            .get_mut(trigger_id)
            .ok_or_else(|| anyhow::anyhow!("fake Slack never issued trigger {trigger_id}"))?;
        t.aged += by;
        Ok(())
    }

    /// The modal view `user` sees now (as stored, with its id), if one is open.
    pub fn modal(&self, user: &str) -> Option<Value> {
        self.with(|ws| ws.modal(user))
    }

    /// The errors last shown on `user`'s open modal (`response_action: errors`), by block_id.
    pub fn view_errors(&self, user: &str) -> Option<BTreeMap<String, String>> {
        self.with(|ws| ws.view_errors(user))
    }
}

#[cfg(test)]
#[path = "modal_tests.rs"]
pub(crate) mod tests;
