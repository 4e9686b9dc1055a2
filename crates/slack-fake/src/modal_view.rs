//! What a modal view must be for Slack to show it (`views.open`, `response_action: update`):
//! the view object's fields and limits, input blocks, and the input elements the bot uses
//! (`plain_text_input`, `static_select`, `radio_buttons`), from Slack's Block Kit reference.
//!
//! Owns these rules and their Slack-style messages (`[ERROR] … [json-pointer:/view/…]`). No
//! I/O and no workspace: callers get an `invalid_arguments` failure, or
//! `not_modelled_by_fake_slack` for a valid Slack element this fake does not model.

use super::methods::{block_errors, ApiFailure, MAX_ACTION_ID_CHARS};
use serde_json::Value;
use std::collections::BTreeSet;

/// Slack's limits on a modal view (`reference/views/modal-views`).
pub const MAX_MODAL_TITLE_CHARS: usize = 24;
pub const MAX_MODAL_BLOCKS: usize = 100;
pub const MAX_CALLBACK_ID_CHARS: usize = 255;
pub const MAX_PRIVATE_METADATA_CHARS: usize = 3_000;
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;
/// Input block `label` and `hint`.
pub const MAX_LABEL_CHARS: usize = 2_000;
pub const MAX_PLACEHOLDER_CHARS: usize = 150;
/// `min_length` may be 0..=3000, `max_length` 1..=3000.
pub const MAX_INPUT_LENGTH: u64 = 3_000;
pub const MAX_SELECT_OPTIONS: usize = 100;
pub const MAX_RADIO_OPTIONS: usize = 10;
pub const MAX_OPTION_TEXT_CHARS: usize = 75;
pub const MAX_OPTION_VALUE_CHARS: usize = 150;

/// Input elements Slack accepts in an input block that this fake does not model (refused with
/// `not_modelled_by_fake_slack`, so a test failing on one says it is the fake's limit).
const UNMODELLED_ELEMENTS: &[&str] = &[
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "timepicker",
    "email_text_input",
    "url_text_input",
    "number_input",
    "file_input",
    "rich_text_input",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
];

#[derive(Default)]
struct Problems {
    invalid: Vec<String>,
    unmodelled: Vec<String>,
}

impl Problems {
    fn bad(&mut self, path: &str, message: &str) {
        self.invalid.push(format!("[ERROR] {message} [json-pointer:/view{path}]"));
    }
}

fn chars(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

/// A text object at `path`: one of `kinds`, with 1..=`max` characters.
fn text_object(v: Option<&Value>, path: &str, kinds: &[&str], max: usize, p: &mut Problems) {
    let Some(obj) = v.filter(|v| v.is_object()) else {
        p.bad(path, &format!("must be a {} text object", kinds.join(" or ")));
        return;
    };
    if !obj.get("type").and_then(Value::as_str).is_some_and(|t| kinds.contains(&t)) {
        p.bad(&format!("{path}/type"), &format!("must be {}", kinds.join(" or ")));
    }
    let n = chars(obj.get("text"));
    if !obj.get("text").is_some_and(Value::is_string) || n == 0 {
        p.bad(&format!("{path}/text"), "must be a non-empty string");
    } else if n > max {
        p.bad(&format!("{path}/text"), &format!("must be less than {} characters", max + 1));
    }
}

/// An optional string field of at most `max` characters.
fn short_string(v: Option<&Value>, path: &str, max: usize, p: &mut Problems) {
    match v {
        None => {}
        Some(Value::String(s)) if s.chars().count() <= max => {}
        Some(Value::String(_)) => {
            p.bad(path, &format!("must be less than {} characters", max + 1));
        }
        Some(_) => p.bad(path, "must be a string"),
    }
}

fn optional_bool(v: Option<&Value>, path: &str, p: &mut Problems) {
    if v.is_some_and(|v| !v.is_boolean()) {
        p.bad(path, "must be a boolean");
    }
}

/// Checks a modal view as Slack does before showing it.
pub(crate) fn check_modal(view: &Value) -> Result<(), ApiFailure> {
    let mut p = Problems::default();
    if !view.is_object() {
        p.bad("", "must be a view object");
        return Err(ApiFailure { code: "invalid_arguments".into(), errors: p.invalid });
    }
    if view.get("type").and_then(Value::as_str) != Some("modal") {
        p.bad("/type", "must be modal");
    }
    text_object(view.get("title"), "/title", &["plain_text"], MAX_MODAL_TITLE_CHARS, &mut p);
    for button in ["submit", "close"] {
        if let Some(b) = view.get(button) {
            let path = format!("/{button}");
            text_object(Some(b), &path, &["plain_text"], MAX_MODAL_TITLE_CHARS, &mut p);
        }
    }
    short_string(view.get("callback_id"), "/callback_id", MAX_CALLBACK_ID_CHARS, &mut p);
    short_string(
        view.get("private_metadata"),
        "/private_metadata",
        MAX_PRIVATE_METADATA_CHARS,
        &mut p,
    );
    short_string(view.get("external_id"), "/external_id", MAX_EXTERNAL_ID_CHARS, &mut p);
    optional_bool(view.get("clear_on_close"), "/clear_on_close", &mut p);
    optional_bool(view.get("notify_on_close"), "/notify_on_close", &mut p);
    match view.get("blocks").and_then(Value::as_array) {
        None => p.bad("/blocks", "must be an array of blocks"),
        Some(list) => {
            if list.is_empty() || list.len() > MAX_MODAL_BLOCKS {
                p.bad("/blocks", &format!("must have 1 to {MAX_MODAL_BLOCKS} items"));
            }
            let shared = block_errors(list, "/view/blocks");
            p.invalid.extend(shared.into_iter().map(|m| format!("[ERROR] {m}")));
            let inputs: Vec<usize> =
                (0..list.len()).filter(|&i| list[i]["type"] == "input").collect();
            for &i in &inputs {
                input_block(&list[i], &format!("/blocks/{i}"), &mut p);
            }
            if let (Some(first), None) = (inputs.first(), view.get("submit")) {
                // Slack's own words for this one.
                p.bad(&format!("/blocks/{first}/input"), "must define submit to use input block");
            }
        }
    }
    if !p.invalid.is_empty() {
        Err(ApiFailure { code: "invalid_arguments".into(), errors: p.invalid })
    } else if !p.unmodelled.is_empty() {
        Err(ApiFailure { code: "not_modelled_by_fake_slack".into(), errors: p.unmodelled })
    } else {
        Ok(())
    }
}

fn input_block(b: &Value, path: &str, p: &mut Problems) {
    text_object(b.get("label"), &format!("{path}/label"), &["plain_text"], MAX_LABEL_CHARS, p);
    if let Some(hint) = b.get("hint") {
        text_object(Some(hint), &format!("{path}/hint"), &["plain_text"], MAX_LABEL_CHARS, p);
    }
    optional_bool(b.get("optional"), &format!("{path}/optional"), p);
    optional_bool(b.get("dispatch_action"), &format!("{path}/dispatch_action"), p);
    let at = format!("{path}/element");
    let Some(element) = b.get("element").filter(|e| e.is_object()) else {
        p.bad(&at, "must provide an element object");
        return;
    };
    short_string(element.get("action_id"), &format!("{at}/action_id"), MAX_ACTION_ID_CHARS, p);
    if let Some(ph) = element.get("placeholder") {
        let ph_at = format!("{at}/placeholder");
        text_object(Some(ph), &ph_at, &["plain_text"], MAX_PLACEHOLDER_CHARS, p);
    }
    match element.get("type").and_then(Value::as_str).unwrap_or_default() {
        "plain_text_input" => text_input(element, &at, p),
        "static_select" => {
            if element.get("option_groups").is_some() {
                p.unmodelled
                    .push(format!("option_groups are not modelled [json-pointer:/view{at}]"));
            } else {
                options(element, &at, &["plain_text"], MAX_SELECT_OPTIONS, p);
            }
        }
        // Radio buttons' options may be mrkdwn, a select's only plain_text.
        "radio_buttons" => options(element, &at, &["plain_text", "mrkdwn"], MAX_RADIO_OPTIONS, p),
        kind if UNMODELLED_ELEMENTS.contains(&kind) => {
            p.unmodelled.push(format!("element {kind} is not modelled [json-pointer:/view{at}]"));
        }
        kind => p.bad(&format!("{at}/type"), &format!("unsupported type: {kind}")),
    }
}

fn length_field(e: &Value, name: &str, at: &str, min: u64, p: &mut Problems) -> Option<u64> {
    let v = e.get(name)?;
    match v.as_u64() {
        Some(n) if (min..=MAX_INPUT_LENGTH).contains(&n) => Some(n),
        _ => {
            p.bad(
                &format!("{at}/{name}"),
                &format!("must be between {min} and {MAX_INPUT_LENGTH}"),
            );
            None
        }
    }
}

fn text_input(e: &Value, at: &str, p: &mut Problems) {
    optional_bool(e.get("multiline"), &format!("{at}/multiline"), p);
    let min = length_field(e, "min_length", at, 0, p);
    let max = length_field(e, "max_length", at, 1, p);
    if let (Some(min), Some(max)) = (min, max) {
        if max < min {
            p.bad(&format!("{at}/max_length"), "must be greater than or equal to min_length");
        }
    }
    match e.get("initial_value") {
        None => {}
        Some(Value::String(s)) => {
            let n = s.chars().count() as u64;
            if max.is_some_and(|m| n > m) || min.is_some_and(|m| n < m) {
                p.bad(&format!("{at}/initial_value"), "must respect min_length and max_length");
            }
        }
        Some(_) => p.bad(&format!("{at}/initial_value"), "must be a string"),
    }
}

/// Whether two option objects are the same option (text and value), as Slack matches an
/// `initial_option` against `options`.
pub(crate) fn same_option(a: &Value, b: &Value) -> bool {
    a.get("value") == b.get("value")
        && a.pointer("/text/type") == b.pointer("/text/type")
        && a.pointer("/text/text") == b.pointer("/text/text")
}

fn options(e: &Value, at: &str, kinds: &[&str], max: usize, p: &mut Problems) {
    let Some(list) = e.get("options").and_then(Value::as_array) else {
        p.bad(&format!("{at}/options"), "must be an array of options");
        return;
    };
    if list.is_empty() || list.len() > max {
        p.bad(&format!("{at}/options"), &format!("must have 1 to {max} items"));
    }
    let mut values = BTreeSet::new();
    for (j, o) in list.iter().enumerate() {
        let o_at = format!("{at}/options/{j}");
        text_object(o.get("text"), &format!("{o_at}/text"), kinds, MAX_OPTION_TEXT_CHARS, p);
        if let Some(d) = o.get("description") {
            let d_at = format!("{o_at}/description");
            text_object(Some(d), &d_at, &["plain_text"], MAX_OPTION_TEXT_CHARS, p);
        }
        match o.get("value").and_then(Value::as_str) {
            Some(v) if v.is_empty() || v.chars().count() > MAX_OPTION_VALUE_CHARS => p.bad(
                &format!("{o_at}/value"),
                &format!("must be 1 to {MAX_OPTION_VALUE_CHARS} characters"),
            ),
            Some(v) => {
                if !values.insert(v.to_string()) {
                    p.bad(&format!("{o_at}/value"), "must be unique among the options");
                }
            }
            None => p.bad(&format!("{o_at}/value"), "must be a string"),
        }
    }
    if let Some(initial) = e.get("initial_option") {
        if !list.iter().any(|o| same_option(o, initial)) {
            p.bad(&format!("{at}/initial_option"), "must match one of the options");
        }
    }
}
