//! The request form (`/firefighter` with no words opens it): what a user filled in, and its
//! validation into the same [`Command::Request`] the typed command makes, with one message per
//! field that is wrong, to be shown under that field.
//!
//! The form applies the typed command's rules (incident pattern, duration cap, reason rules,
//! targets) and nothing else: a form can never ask for what the command could not. Break-glass
//! is not offered here (it stays a deliberate typed act). Pure: no I/O, no Slack.

use super::{Command, CommandRules};
use crate::access::duration::GrantDuration;
use crate::access::ids::IncidentId;
use crate::access::level::Level;
use crate::access::reason::Reason;
use crate::access::rejection::{DurationProblem, Rejection};
use std::time::Duration;

/// Longest duration text read (Slack's input caps it too; this bounds the parse regardless).
pub const MAX_DURATION_CHARS: usize = 16;

/// A field of the request form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FormField {
    Target,
    Level,
    Incident,
    Duration,
    Reason,
}

/// What the user submitted, each field as given (`None`: left empty or not on the form).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormValues {
    pub target: Option<String>,
    pub level: Option<String>,
    pub incident: Option<String>,
    pub duration: Option<String>,
    pub reason: Option<String>,
}

/// A valid form: the request it asks for (never break-glass: that stays a typed act).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRequest {
    pub level: Level,
    /// The target (fleet only; `None` without `[targets]`).
    pub target: Option<String>,
    pub incident: IncidentId,
    pub duration: GrantDuration,
    pub reason: Option<Reason>,
}

impl From<FormRequest> for Command {
    /// The typed command that asks for the same.
    fn from(f: FormRequest) -> Command {
        let FormRequest { level, target, incident, duration, reason } = f;
        Command::Request { level, target, incident, duration, reason, break_glass: false }
    }
}

impl FormValues {
    /// Where `field`'s value goes.
    pub fn slot(&mut self, field: FormField) -> &mut Option<String> {
        match field {
            FormField::Target => &mut self.target,
            FormField::Level => &mut self.level,
            FormField::Incident => &mut self.incident,
            FormField::Duration => &mut self.duration,
            FormField::Reason => &mut self.reason,
        }
    }
}

/// Why a field was refused: the domain's own rejection, worded for a form by
/// `text::form::field_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: FormField,
    pub rejection: Rejection,
}

impl CommandRules {
    /// The duration a request without one gets (`access.default_duration_secs`).
    pub fn default_duration(&self) -> GrantDuration {
        self.default_duration
    }

    /// The longest a request may ask for (`access.max_duration_secs`).
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// Whether a request for `level` must give a reason (`access.require_reason_*`).
    pub fn requires_reason(&self, level: Level) -> bool {
        match level {
            Level::Ro => self.require_reason.0,
            Level::Rw => self.require_reason.1,
        }
    }

    /// Validates a submitted form into the request it asks for, or every field that is wrong,
    /// in form order.
    pub fn request_from_form(&self, form: &FormValues) -> Result<FormRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let target = check(e, FormField::Target, self.form_target(form.target.as_deref()));
        let level = check(e, FormField::Level, form_level(form.level.as_deref()));
        let incident = check(e, FormField::Incident, self.form_incident(form.incident.as_deref()));
        let duration = check(e, FormField::Duration, self.form_duration(form.duration.as_deref()));
        let reason = match non_empty(form.reason.as_deref()) {
            None => Ok(None),
            Some(raw) => Reason::parse(raw).map(Some).map_err(Rejection::InvalidReason),
        };
        let reason = check(e, FormField::Reason, reason);
        if let (Some(level), Some(None)) = (level, &reason) {
            if self.requires_reason(level) {
                let usage = String::new();
                errors.push(FieldError {
                    field: FormField::Reason,
                    rejection: Rejection::ReasonRequired { level, usage },
                });
            }
        }
        match (target, level, incident, duration, reason) {
            (Some(target), Some(level), Some(incident), Some(duration), Some(reason))
                if errors.is_empty() =>
            {
                Ok(FormRequest { level, target, incident, duration, reason })
            }
            _ => Err(errors),
        }
    }

    /// The fleet's target as chosen (`None` without a fleet, where there is nothing to choose).
    fn form_target(&self, given: Option<&str>) -> Result<Option<String>, Rejection> {
        if self.targets().is_empty() {
            return Ok(None);
        }
        let given = non_empty(given);
        match given.and_then(|g| self.targets().iter().find(|t| t.as_str() == g)) {
            Some(t) => Ok(Some(t.clone())),
            None => Err(Rejection::UnknownTarget {
                given: None,
                targets: self.targets().to_vec(),
                usage: String::new(),
            }),
        }
    }

    fn form_incident(&self, given: Option<&str>) -> Result<IncidentId, Rejection> {
        IncidentId::parse(given.unwrap_or_default().trim(), self.pattern())
    }

    /// Empty: the configured default. Otherwise the typed command's forms, under its cap.
    fn form_duration(&self, given: Option<&str>) -> Result<GrantDuration, Rejection> {
        match non_empty(given) {
            None => Ok(self.default_duration()),
            Some(text) if text.chars().count() > MAX_DURATION_CHARS => {
                let cap_secs = self.cap().as_secs();
                Err(Rejection::InvalidDuration { problem: DurationProblem::Format, cap_secs })
            }
            Some(text) => GrantDuration::parse(text, self.cap()),
        }
    }
}

/// The value, or `None` with the field's error noted.
fn check<T>(errors: &mut Vec<FieldError>, field: FormField, r: Result<T, Rejection>) -> Option<T> {
    r.map_err(|rejection| errors.push(FieldError { field, rejection })).ok()
}

fn form_level(given: Option<&str>) -> Result<Level, Rejection> {
    non_empty(given)
        .and_then(Level::parse)
        .ok_or_else(|| Rejection::InvalidLevel { usage: String::new() })
}

/// The text unless it is empty or only whitespace.
fn non_empty(given: Option<&str>) -> Option<&str> {
    given.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
#[path = "command_form_tests.rs"]
mod tests;
