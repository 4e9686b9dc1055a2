//! The fake's `views.*` methods: `views.publish` (the App Home tab). Same rules as
//! [`super::methods`]: Slack's checks and error codes, no I/O.

use super::methods::{fail, validate_blocks, Outcome, Params};
use super::state::Workspace;
use serde_json::{json, Value};

fn param<'p>(p: &'p Params, name: &str) -> Option<&'p str> {
    p.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `views.publish`: a Home tab for `user_id`, a member of the workspace. The view (an object,
/// or its JSON text) must be of `type` "home" with valid blocks (checked with the messages'
/// limit of 50 blocks, stricter than a view's 100).
pub(crate) fn publish_home(ws: &mut Workspace, p: &Params) -> Outcome {
    let user = param(p, "user_id").ok_or_else(|| fail("invalid_arguments"))?;
    if !ws.users.contains(user) {
        return Err(fail("user_not_found"));
    }
    let view: Value = match p.get("view") {
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| fail("invalid_arguments"))?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(fail("invalid_arguments")),
    };
    if view.get("type").and_then(Value::as_str) != Some("home") {
        return Err(fail("invalid_arguments"));
    }
    validate_blocks(view.get("blocks").unwrap_or(&Value::Null))?;
    ws.homes.insert(user.to_string(), view.clone());
    Ok(json!({ "view": view }))
}
