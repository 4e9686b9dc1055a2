//! The request form's wording: its title, labels, hints and options, the message shown under a
//! field that is wrong, and what the user is told when the form cannot be opened. Plain text
//! (a modal's labels and hints are `plain_text`); Slack's lengths are the Slack layer's.

use super::time::format_duration;
use crate::access::level::Level;
use crate::access::reason::{MAX_REASON_CHARS, MIN_REASON_CHARS};
use crate::access::rejection::Rejection;
use crate::access::CommandRules;
use crate::access::{FieldError, FormField};

pub const TITLE: &str = "Database access";
pub const SUBMIT: &str = "Request";
pub const CLOSE: &str = "Cancel";
pub const TARGET_PLACEHOLDER: &str = "Choose a database";

/// A field's label.
pub fn label(field: FormField) -> &'static str {
    match field {
        FormField::Target => "Database",
        FormField::Level => "Access",
        FormField::Incident => "Incident",
        FormField::Duration => "How long",
        FormField::Reason => "Reason",
    }
}

/// A level's option text.
pub fn level_option(level: Level) -> &'static str {
    match level {
        Level::Ro => "ro: read-only",
        Level::Rw => "rw: read-write (needs more approvals)",
    }
}

/// The hint under a field (`None`: no hint).
pub fn hint(field: FormField, rules: &CommandRules) -> Option<String> {
    match field {
        FormField::Incident => {
            Some(format!("The incident you are working on, like {}.", rules.pattern().example()))
        }
        FormField::Duration => Some(format!(
            "Like 30m, 1h or 1h30m, at most {}. Left empty: {}. The clock starts at approval.",
            format_duration(rules.cap().as_secs()),
            format_duration(rules.default_duration().as_secs())
        )),
        FormField::Reason => {
            let required =
                match (rules.requires_reason(Level::Ro), rules.requires_reason(Level::Rw)) {
                    (true, true) => " Required.",
                    (false, true) => " Required for rw.",
                    (true, false) => " Required for ro.",
                    (false, false) => "",
                };
            Some(format!(
                "What you need to do, for the approvers ({MIN_REASON_CHARS} to \
                 {MAX_REASON_CHARS} characters).{required}"
            ))
        }
        FormField::Target | FormField::Level => None,
    }
}

/// The message shown under a field the form refused.
pub fn field_error(error: &FieldError) -> String {
    match &error.rejection {
        Rejection::UnknownTarget { targets, .. } => {
            format!("Choose one of the databases: {}.", targets.join(", "))
        }
        Rejection::InvalidLevel { .. } => "Choose ro or rw.".into(),
        Rejection::ReasonRequired { level, .. } => {
            format!("{level} requests need a reason, so the approvers know why.")
        }
        Rejection::InvalidReason(problem) => format!(
            "I cannot take that reason: {problem}. Use {MIN_REASON_CHARS} to {MAX_REASON_CHARS} \
             characters of plain text."
        ),
        // Incident and duration messages carry no usage line: shown as they are.
        other => other.user_message(),
    }
}

/// Sent to the user when Slack would not open the form (the typed command still works).
pub fn form_failed(rules: &CommandRules) -> String {
    format!(
        "I could not open the request form, so nothing was requested. Type the request \
         instead: /firefighter ro|rw {} [duration] [reason]\n\n{}",
        rules.pattern().example(),
        rules.help()
    )
}
