//! The fake's argument rules, derived from Slack's Web API spec: for every method, each
//! argument's type and whether it is required, checked before any method rule runs.
//!
//! Owns the table (`web_api_arguments.json`, generated from
//! `tests/data/slack/slack_web_openapi_v2.json` by pgroles' `slack_fake` test
//! `argument_table_matches_the_spec`, which also fails when the two drift apart) and the check.
//! A value of the wrong JSON type is refused with `invalid_arguments`, as Slack does: a JSON
//! array for an argument Slack documents as a (comma-separated) string is an error, never
//! silently joined. Arguments the spec does not name are ignored, as Slack ignores them.

use super::methods::ApiFailure;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The derived table, one line per method: `{"method": {"arg": ["type", required]}}`.
pub const ARGUMENT_TABLE: &str = include_str!("web_api_arguments.json");

/// An argument's type as the spec declares it. `Json` is a string argument whose description
/// says it carries JSON (`blocks`, `attachments`, `view`...): in a JSON body Slack also takes
/// the array or object itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArgType {
    String,
    Json,
    Boolean,
    Integer,
    Number,
}

/// One argument of one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ArgSpec(pub ArgType, pub bool);

/// Method name to its arguments (without `token`, which travels in the header).
pub type Table = BTreeMap<String, BTreeMap<String, ArgSpec>>;

/// Methods the fake serves that the 2021 spec does not list (Socket Mode's app-token method).
const OUTSIDE_SPEC: &[&str] = &["apps.connections.open"];

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    // The table is generated and checked by a test; a broken file fails every call loudly.
    TABLE.get_or_init(|| serde_json::from_str(ARGUMENT_TABLE).unwrap_or_default())
}

/// The spec's arguments of `method`, if the spec lists it.
pub fn arguments(method: &str) -> Option<&'static BTreeMap<String, ArgSpec>> {
    table().get(method)
}

fn invalid(messages: Vec<String>) -> ApiFailure {
    ApiFailure { code: "invalid_arguments".into(), errors: messages }
}

/// Checks `params` of one call against the spec. `json_body` is whether they came in a JSON
/// body (form and query values are always strings).
pub fn check(method: &str, params: &Map<String, Value>, json_body: bool) -> Result<(), ApiFailure> {
    if OUTSIDE_SPEC.contains(&method) {
        return Ok(());
    }
    let Some(args) = arguments(method) else {
        return Err(ApiFailure { code: "unknown_method".into(), errors: Vec::new() });
    };
    let mut messages = Vec::new();
    for (name, ArgSpec(kind, required)) in args {
        match params.get(name) {
            None | Some(Value::Null) => {
                if *required {
                    messages.push(format!("[ERROR] missing required field: {name}"));
                }
            }
            Some(v) => {
                if let Some(expected) = type_error(*kind, v, json_body) {
                    messages.push(format!("[ERROR] {expected} [json-pointer:/{name}]"));
                }
            }
        }
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(invalid(messages))
    }
}

/// What is wrong with `v` for an argument of type `kind`, if anything.
pub fn type_error(kind: ArgType, v: &Value, json_body: bool) -> Option<&'static str> {
    let ok = match (kind, v) {
        (ArgType::String, Value::String(_)) => true,
        (ArgType::Json, Value::String(_)) => true,
        (ArgType::Json, Value::Array(_) | Value::Object(_)) => json_body,
        (ArgType::Boolean, Value::Bool(_)) => json_body,
        (ArgType::Boolean, Value::String(s)) => matches!(s.as_str(), "true" | "false" | "1" | "0"),
        (ArgType::Integer, Value::Number(n)) => json_body && (n.is_i64() || n.is_u64()),
        (ArgType::Integer, Value::String(s)) => s.parse::<i64>().is_ok(),
        (ArgType::Number, Value::Number(_)) => json_body,
        (ArgType::Number, Value::String(s)) => s.parse::<f64>().is_ok(),
        _ => false,
    };
    if ok {
        return None;
    }
    Some(match kind {
        ArgType::String => "must be a string",
        ArgType::Json => "must be a JSON-encoded string, array or object",
        ArgType::Boolean => "must be a boolean",
        ArgType::Integer => "must be an integer",
        ArgType::Number => "must be a number",
    })
}

/// Derives the table from the spec (Swagger 2.0): every path, every `formData`/`query`
/// argument but `token`. Used by the test that generates and checks `web_api_arguments.json`.
pub fn derive_table(spec: &Value) -> Table {
    let mut table = Table::new();
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else { return table };
    for (path, ops) in paths {
        let mut args = BTreeMap::new();
        for op in ops.as_object().into_iter().flat_map(|o| o.values()) {
            for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
                let place = p.get("in").and_then(Value::as_str).unwrap_or_default();
                if name == "token" || !matches!(place, "formData" | "query") {
                    continue;
                }
                let description = p.get("description").and_then(Value::as_str).unwrap_or("");
                let kind = match p.get("type").and_then(Value::as_str) {
                    Some("boolean") => ArgType::Boolean,
                    Some("integer") => ArgType::Integer,
                    Some("number") => ArgType::Number,
                    _ if description.contains("JSON") => ArgType::Json,
                    _ => ArgType::String,
                };
                let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                args.insert(name.to_string(), ArgSpec(kind, required));
            }
        }
        table.insert(path.trim_start_matches('/').to_string(), args);
    }
    table
}

/// The table as committed: one method per line, sorted, so diffs stay readable.
pub fn render_table(table: &Table) -> String {
    let lines: Vec<String> = table
        .iter()
        .map(|(method, args)| {
            let args = serde_json::to_string(args).unwrap_or_default();
            format!("  {}: {args}", Value::String(method.clone()))
        })
        .collect();
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}
