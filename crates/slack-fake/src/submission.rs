//! Submitting a modal: the `view_submission` payload Slack sends when a user presses Submit
//! (only if Slack's client would let them: required inputs filled, lengths and options
//! respected), and what Slack makes of the bot's answer to it ([`ViewOutcome`]): close, clear,
//! errors shown under input blocks, an updated view, or Slack's generic error.
//!
//! Owns the submission state values and the judging of `response_action` answers. It must not
//! send anything (that is `sender` and `socket`); view rules are `modal_view`'s.

use super::ack::{SentResponse, ACK_DEADLINE};
use super::modal::{admissible, stored_view};
use super::modal_view::same_option;
use super::signer::FAKE_APP_ID;
use super::state::{OpenView, Workspace};
use super::FakeSlack;
use anyhow::{anyhow, bail, ensure};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What Slack shows in the modal when the bot's answer is late, not 2xx, or not one Slack
/// accepts; the modal stays open with what the user entered.
pub const CONNECTION_TROUBLE: &str = "We had some trouble connecting. Try again?";

/// What Slack did with the bot's answer to a `view_submission`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewOutcome {
    /// The modal closed (empty answer, `{}`, or `response_action: clear`).
    Closed,
    /// `response_action: errors`: the modal stays open showing these messages, by block_id.
    Errors(BTreeMap<String, String>),
    /// `response_action: update`: the modal now shows the new view.
    Updated,
    /// Slack refused the answer (or it came too late): the user sees an error, the modal
    /// stays open. [`CONNECTION_TROUBLE`] for a late or non-2xx answer, else what was wrong.
    Failed(String),
}

fn input_blocks(view: &Value) -> impl Iterator<Item = &Value> {
    view["blocks"].as_array().into_iter().flatten().filter(|b| b["type"] == "input")
}

/// `view.state.values` as Slack builds them from what the user entered (`given`: block_id to
/// text or chosen option value), with the view's initial values where nothing was entered.
fn state_values(view: &Value, given: &[(&str, &str)]) -> anyhow::Result<Value> {
    let mut entered: BTreeMap<&str, &str> = BTreeMap::new();
    for &(block_id, value) in given {
        ensure!(
            input_blocks(view).any(|b| b["block_id"] == block_id),
            "`{block_id}` is not an input block of the open modal"
        );
        ensure!(entered.insert(block_id, value).is_none(), "`{block_id}` given twice");
    }
    let mut values = Map::new();
    for block in input_blocks(view) {
        let block_id = block["block_id"].as_str().unwrap_or_default();
        let element = &block["element"];
        let action_id = element["action_id"].as_str().unwrap_or_default();
        let optional = block["optional"].as_bool().unwrap_or(false);
        let kind = element["type"].as_str().unwrap_or_default();
        let state = match kind {
            "plain_text_input" => {
                let text = match entered.get(block_id) {
                    Some(t) => Some(t.to_string()),
                    None => element["initial_value"].as_str().map(str::to_string),
                }
                .filter(|t| !t.is_empty());
                if let Some(t) = &text {
                    let n = t.chars().count() as u64;
                    if let Some(max) = element["max_length"].as_u64().filter(|&m| n > m) {
                        bail!("`{block_id}`: {n} characters, more than max_length {max}");
                    }
                    if let Some(min) = element["min_length"].as_u64().filter(|&m| n < m) {
                        bail!("`{block_id}`: {n} characters, fewer than min_length {min}");
                    }
                }
                ensure!(optional || text.is_some(), "`{block_id}` is required and left empty");
                json!({ "type": kind, "value": text })
            }
            "static_select" | "radio_buttons" => {
                let options = element["options"].as_array().cloned().unwrap_or_default();
                let chosen = match entered.get(block_id) {
                    Some(v) => Some(
                        options
                            .iter()
                            .find(|o| o["value"] == *v)
                            .cloned()
                            .ok_or_else(|| anyhow!("`{block_id}` offers no option `{v}`"))?,
                    ),
                    None => element
                        .get("initial_option")
                        .and_then(|i| options.iter().find(|o| same_option(o, i)))
                        .cloned(),
                };
                ensure!(optional || chosen.is_some(), "`{block_id}` is required and left empty");
                json!({ "type": kind, "selected_option": chosen })
            }
            other => bail!("`{block_id}`: element {other} is not modelled by the fake"),
        };
        values.insert(block_id.to_string(), json!({ action_id: state }));
    }
    Ok(Value::Object(values))
}

/// What Slack does with `ack`, the answer to the submission of `submitted` by `user`.
fn apply_answer(
    ws: &mut Workspace,
    user: &str,
    submitted: &Value,
    ack: &SentResponse,
) -> ViewOutcome {
    let failed = |why: String| ViewOutcome::Failed(why);
    let Some(stack) = ws.modals.get(user) else {
        return failed(format!("no modal is open for {user}"));
    };
    // The view the user submitted must still be the one shown (same id, unchanged since).
    let shown =
        |o: &&OpenView| o.view["id"] == submitted["id"] && o.view["hash"] == submitted["hash"];
    let Some(top) = stack.last().filter(shown) else {
        return failed(format!("view {} is not the one {user} sees", submitted["id"]));
    };
    let top = top.view.clone();
    if ack.elapsed > ACK_DEADLINE || !(200..300).contains(&ack.status) {
        return failed(CONNECTION_TROUBLE.to_string());
    }
    let body = ack.body.trim();
    let answer = if body.is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(answer)) => answer,
            _ => return failed(format!("the answer is not a JSON object: {body:.120}")),
        }
    };
    let close_top = |ws: &mut Workspace| {
        if let Some(stack) = ws.modals.get_mut(user) {
            stack.pop();
            if stack.is_empty() {
                ws.modals.remove(user);
            }
        }
    };
    if answer.is_empty() {
        close_top(ws);
        return ViewOutcome::Closed;
    }
    match answer.get("response_action").and_then(Value::as_str) {
        Some("clear") => {
            ws.modals.remove(user);
            ViewOutcome::Closed
        }
        Some("errors") => {
            let Some(errors) = answer.get("errors").and_then(Value::as_object) else {
                return failed("response_action errors without an `errors` object".into());
            };
            if errors.is_empty() {
                return failed("response_action errors with no error".into());
            }
            let mut shown = BTreeMap::new();
            for (block_id, message) in errors {
                if !input_blocks(&top).any(|b| b["block_id"] == block_id.as_str()) {
                    return failed(format!("errors: `{block_id}` is not an input block"));
                }
                match message.as_str().filter(|m| !m.is_empty()) {
                    Some(m) => shown.insert(block_id.clone(), m.to_string()),
                    None => return failed(format!("errors: `{block_id}` needs a message")),
                };
            }
            if let Some(open) = ws.modals.get_mut(user).and_then(|s| s.last_mut()) {
                open.errors = Some(shown.clone());
            }
            ViewOutcome::Errors(shown)
        }
        Some("update") => {
            let Some(view) = answer.get("view").filter(|v| v.is_object()) else {
                return failed("response_action update without a `view` object".into());
            };
            if let Err(f) = admissible(ws, view, Some(&top["id"])) {
                return failed(format!(
                    "response_action update: {}: {}",
                    f.code,
                    f.errors.join("; ")
                ));
            }
            let view = stored_view(ws, view.clone(), Some(&top));
            if let Some(open) = ws.modals.get_mut(user).and_then(|s| s.last_mut()) {
                open.view = view;
                open.errors = None;
            }
            ViewOutcome::Updated
        }
        Some("push") => failed("response_action push is not modelled by the fake".into()),
        Some(other) => failed(format!("unknown response_action `{other}`")),
        None => failed(format!("a JSON answer without response_action: {body:.120}")),
    }
}

impl FakeSlack {
    /// The `view_submission` payload Slack sends when `user` presses Submit on the modal they
    /// see, having entered `values` (block_id, then the text typed or the chosen option's
    /// `value`); inputs not named keep their initial value. `Err` where Slack's client would
    /// not submit: no modal open, a block that is not one of its inputs, an option it does not
    /// offer, text outside min_length/max_length, a required input left empty.
    pub fn view_submission(&self, user: &str, values: &[(&str, &str)]) -> anyhow::Result<Value> {
        let (view, team, trigger_id) = {
            let mut ws = self.shared.lock();
            let view = ws.modal(user).ok_or_else(|| anyhow!("no modal is open for {user}"))?;
            let state = state_values(&view, values)?;
            let mut view = view;
            view["state"] = json!({ "values": state });
            (view, ws.team_id.clone(), ws.new_trigger(user))
        };
        self.shared.bump();
        Ok(json!({
            "type": "view_submission",
            "team": { "id": team, "domain": "fake-workspace" },
            "user": { "id": user, "username": user.to_lowercase(), "name": user.to_lowercase(),
                      "team_id": team },
            "api_app_id": FAKE_APP_ID,
            "token": "fake-verification-token",
            "trigger_id": trigger_id,
            "view": view,
            "response_urls": [],
            "is_enterprise_install": false,
            "enterprise": null,
        }))
    }

    /// Applies the bot's answer `ack` to the `view_submission` `payload` as Slack does, and
    /// says what the user saw.
    pub fn view_answer(&self, payload: &Value, ack: &SentResponse) -> ViewOutcome {
        let user = payload.pointer("/user/id").and_then(Value::as_str).unwrap_or_default();
        let outcome = apply_answer(&mut self.shared.lock(), user, &payload["view"], ack);
        self.shared.bump();
        outcome
    }
}

#[cfg(test)]
#[path = "submission_tests.rs"]
mod tests;
