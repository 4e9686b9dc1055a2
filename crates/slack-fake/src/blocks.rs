//! Block Kit as Slack checks it (`invalid_blocks` with json-pointer details): block types,
//! block ids, sections, headers, contexts, actions and their buttons, with Slack's documented
//! limits. Shared by messages (`methods`), the App Home and modals. No I/O.

use super::failure::{fail, ApiFailure};
use serde_json::Value;
use std::collections::BTreeSet;

/// Slack's limits, as documented for chat.postMessage and Block Kit.
pub const MAX_TEXT_CHARS: usize = 40_000;
pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_TEXT_CHARS: usize = 3_000;
pub const MAX_SECTION_FIELD_CHARS: usize = 2_000;
pub const MAX_SECTION_FIELDS: usize = 10;
pub const MAX_HEADER_CHARS: usize = 150;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_BLOCK_ID_CHARS: usize = 255;
pub const MAX_ACTIONS_ELEMENTS: usize = 25;
pub const MAX_BUTTON_TEXT_CHARS: usize = 75;
pub const MAX_ACTION_ID_CHARS: usize = 255;
pub const MAX_BUTTON_VALUE_CHARS: usize = 2_000;

const BLOCK_TYPES: &[&str] = &[
    "section",
    "header",
    "context",
    "divider",
    "actions",
    "image",
    "rich_text",
    "input",
    "markdown",
    "file",
    "video",
];

fn chars(v: &Value, pointer: &str) -> usize {
    v.pointer(pointer).and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

/// Block Kit limits that Slack enforces with `invalid_blocks`.
pub fn validate_blocks(blocks: &Value) -> Result<(), ApiFailure> {
    let list = blocks.as_array().ok_or_else(|| fail("invalid_blocks_format"))?;
    let mut errors = Vec::new();
    if list.len() > MAX_BLOCKS {
        errors.push(format!("no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"));
    }
    errors.extend(block_errors(list, "/blocks"));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiFailure { code: "invalid_blocks".into(), errors })
    }
}

/// Each block's own limits (known type, block_id, section/header/actions/context rules), as
/// Slack words them, with json-pointers under `base` (`/blocks`, or `/view/blocks` in a view).
/// The number of blocks is the caller's: 50 in a message, 100 in a view.
pub(crate) fn block_errors(list: &[Value], base: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let mut ids = BTreeSet::new();
    for (i, b) in list.iter().enumerate() {
        let at = |path: &str| format!("[json-pointer:{base}/{i}{path}]");
        let kind = b.get("type").and_then(Value::as_str).unwrap_or_default();
        if !BLOCK_TYPES.contains(&kind) {
            errors.push(format!("unsupported type: {kind} {}", at("/type")));
            continue;
        }
        if let Some(id) = b.get("block_id").and_then(Value::as_str) {
            if id.chars().count() > MAX_BLOCK_ID_CHARS || !ids.insert(id.to_string()) {
                errors.push(format!("invalid or duplicate block_id {}", at("/block_id")));
            }
        }
        match kind {
            "section" => section_errors(b, &at, &mut errors),
            "header" => {
                if b.pointer("/text/type").and_then(Value::as_str) != Some("plain_text") {
                    errors.push(format!("must be a plain_text object {}", at("/text")));
                }
                if chars(b, "/text/text") == 0 || chars(b, "/text/text") > MAX_HEADER_CHARS {
                    errors.push(format!(
                        "must be 1 to {MAX_HEADER_CHARS} characters {}",
                        at("/text/text")
                    ));
                }
            }
            "actions" => actions_errors(b, &at, &mut errors),
            "context" => {
                let n = b.get("elements").and_then(Value::as_array).map_or(0, Vec::len);
                if n == 0 || n > MAX_CONTEXT_ELEMENTS {
                    errors.push(format!(
                        "must have 1 to {MAX_CONTEXT_ELEMENTS} elements {}",
                        at("/elements")
                    ));
                }
            }
            _ => {}
        }
    }
    errors
}

/// Slack's limits on an actions block and its buttons (the only element the bot sends).
fn actions_errors(b: &Value, at: &dyn Fn(&str) -> String, errors: &mut Vec<String>) {
    let elements = b.get("elements").and_then(Value::as_array).cloned().unwrap_or_default();
    if elements.is_empty() || elements.len() > MAX_ACTIONS_ELEMENTS {
        errors.push(format!("must have 1 to {MAX_ACTIONS_ELEMENTS} elements {}", at("/elements")));
    }
    let mut ids = BTreeSet::new();
    for (j, e) in elements.iter().enumerate() {
        let at_el = |p: &str| at(&format!("/elements/{j}{p}"));
        if e.get("type").and_then(Value::as_str) != Some("button") {
            errors.push(format!("unsupported element type {}", at_el("/type")));
            continue;
        }
        if e.pointer("/text/type").and_then(Value::as_str) != Some("plain_text") {
            errors.push(format!("must be a plain_text object {}", at_el("/text")));
        }
        let n = chars(e, "/text/text");
        if n == 0 || n > MAX_BUTTON_TEXT_CHARS {
            errors.push(format!(
                "must be 1 to {MAX_BUTTON_TEXT_CHARS} characters {}",
                at_el("/text/text")
            ));
        }
        match e.get("action_id").and_then(Value::as_str) {
            Some(id) if id.chars().count() <= MAX_ACTION_ID_CHARS && ids.insert(id.to_string()) => {
            }
            Some(_) => {
                errors.push(format!("invalid or duplicate action_id {}", at_el("/action_id")))
            }
            None => {}
        }
        if chars(e, "/value") > MAX_BUTTON_VALUE_CHARS {
            errors.push(format!(
                "must be at most {MAX_BUTTON_VALUE_CHARS} characters {}",
                at_el("/value")
            ));
        }
        if let Some(style) = e.get("style") {
            if !matches!(style.as_str(), Some("primary" | "danger")) {
                errors.push(format!("must be primary or danger {}", at_el("/style")));
            }
        }
    }
}

fn section_errors(b: &Value, at: &dyn Fn(&str) -> String, errors: &mut Vec<String>) {
    let fields = b.get("fields").and_then(Value::as_array);
    if b.get("text").is_none() && fields.is_none() {
        errors.push(format!("must provide text or fields {}", at("")));
    }
    if let Some(text) = b.get("text") {
        let kind = text.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("plain_text" | "mrkdwn")) {
            errors.push(format!("must be a text object {}", at("/text")));
        }
        let n = chars(b, "/text/text");
        if n == 0 || n > MAX_SECTION_TEXT_CHARS {
            errors.push(format!(
                "must be 1 to {MAX_SECTION_TEXT_CHARS} characters {}",
                at("/text/text")
            ));
        }
    }
    if let Some(fields) = fields {
        if fields.len() > MAX_SECTION_FIELDS {
            errors.push(format!("no more than {MAX_SECTION_FIELDS} items {}", at("/fields")));
        }
        for (j, f) in fields.iter().enumerate() {
            if chars(f, "/text") > MAX_SECTION_FIELD_CHARS {
                errors.push(format!(
                    "must be at most {MAX_SECTION_FIELD_CHARS} characters {}",
                    at(&format!("/fields/{j}/text"))
                ));
            }
        }
    }
}
