//! What a Web API method answers: its parameters in, a result or Slack's `ok:false` failure
//! out. Shared by every method module and the server; no rules here.

use serde_json::{Map, Value};

/// A Slack `ok:false` answer: the code and, for block errors, Slack-style detail lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub code: String,
    pub errors: Vec<String>,
}

pub(crate) fn fail(code: &str) -> ApiFailure {
    ApiFailure { code: code.to_string(), errors: Vec::new() }
}

pub(crate) type Params = Map<String, Value>;
pub(crate) type Outcome = Result<Value, ApiFailure>;
