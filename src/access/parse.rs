//! The validating constructors of the identifiers in [`super::ids`]: each `parse` is the one
//! way in from text (a slash command, a Slack event, a stored document), and refuses with a
//! [`Rejection`]. Also the character classes commands and incident ids are checked against.
//!
//! Pure and panic-free on any input; no slicing of `str` at byte offsets (the parsers are
//! fuzzed).

use super::ids::{
    ChannelId, EventTs, IncidentId, IncidentPattern, IncidentProblem, MessageTs, RequestId,
    SlackUserId, INCIDENT_MAX_LEN,
};
use super::rejection::{AccessConfigError, Rejection};
use super::settings::AccessConfig;
use regex::RegexBuilder;

impl IncidentPattern {
    /// Compiles `pattern` as `^(?:pattern)$`; `example` must itself be a valid id.
    pub fn new(pattern: &str, example: &str) -> Result<Self, AccessConfigError> {
        let regex = RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| AccessConfigError::IncidentPattern(e.to_string()))?;
        let compiled = IncidentPattern { regex, example: example.to_owned() };
        IncidentId::parse(example, &compiled)
            .map_err(|_| AccessConfigError::ExampleMismatch { example: example.to_owned() })?;
        Ok(compiled)
    }

    pub fn from_config(cfg: &AccessConfig) -> Result<Self, AccessConfigError> {
        Self::new(&cfg.incident_pattern, &cfg.incident_example)
    }
}

impl IncidentId {
    /// Parses what the user typed, applying the configured pattern exactly as written: no
    /// case folding (a pattern that should accept `inc-42` says so, e.g. `(?i)INC-[0-9]+`).
    pub fn parse(s: &str, pattern: &IncidentPattern) -> Result<IncidentId, Rejection> {
        let reject =
            |problem| Rejection::InvalidIncident { problem, example: pattern.example.clone() };
        if let Some(problem) = shape_problem(s) {
            return Err(reject(problem));
        }
        if pattern.regex.is_match(s) {
            return Ok(IncidentId(s.to_owned()));
        }
        Err(reject(IncidentProblem::NoMatch))
    }
}

/// Character-level checks, most specific first, independent of the configured pattern.
fn shape_problem(s: &str) -> Option<IncidentProblem> {
    if s.is_empty() {
        Some(IncidentProblem::Empty)
    } else if s.chars().any(|c| is_invisible(c) || is_format(c)) {
        Some(IncidentProblem::Invisible)
    } else if s.chars().any(|c| c.is_control() || is_line_break(c)) {
        Some(IncidentProblem::Control)
    } else if s.chars().any(is_quote) {
        Some(IncidentProblem::Quote)
    } else if s.chars().any(char::is_whitespace) {
        Some(IncidentProblem::Whitespace)
    } else if !s.is_ascii() {
        Some(IncidentProblem::NonAscii)
    } else if s.len() > INCIDENT_MAX_LEN {
        Some(IncidentProblem::TooLong)
    } else {
        None
    }
}

/// Characters that render as nothing or reorder text: used to smuggle look-alike ids.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Unicode general category `Cf` (format characters: zero-width, bidi marks and isolates,
/// invisible operators, tags), as of Unicode 15.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

/// A character a command may not carry anywhere: any control (`Cc`) but the tab that
/// separates words, any format character (`Cf`), and the Unicode line/paragraph separators. A trailing CR/LF or NUL is not whitespace
/// to be trimmed; it is refused.
pub(super) fn is_forbidden_in_command(c: char) -> bool {
    (c.is_control() && c != '\t') || is_format(c) || is_invisible(c) || is_line_break(c)
}

/// Unicode's line and paragraph separators (`Zl`, `Zp`): line breaks that are not `Cc`.
fn is_line_break(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

fn is_quote(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '`' | '\u{2018}'
            ..='\u{201F}' | '\u{00AB}' | '\u{00BB}' | '\u{2039}' | '\u{203A}'
    )
}

impl TryFrom<String> for IncidentId {
    type Error = Rejection;
    /// Shape only (the pattern is configuration): used when reading stored requests back.
    fn try_from(s: String) -> Result<Self, Rejection> {
        match shape_problem(&s) {
            None => Ok(IncidentId(s)),
            Some(problem) => Err(Rejection::InvalidIncident { problem, example: String::new() }),
        }
    }
}

/// `parse` of a Slack id newtype: a prefix letter, then upper-case ASCII letters and digits,
/// 2 to 20 characters in all.
macro_rules! slack_id_parse {
    ($name:ident, $prefixes:expr, $err:expr) => {
        impl $name {
            pub fn parse(s: &str) -> Result<$name, Rejection> {
                if is_slack_id(s, $prefixes) {
                    Ok($name(s.to_owned()))
                } else {
                    Err($err)
                }
            }
        }
    };
}

fn is_slack_id(s: &str, prefixes: &[u8]) -> bool {
    let bytes = s.as_bytes();
    match bytes.split_first() {
        Some((first, rest)) => {
            (2..=20).contains(&bytes.len())
                && prefixes.contains(first)
                && rest.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }
        None => false,
    }
}

slack_id_parse!(SlackUserId, b"UW", Rejection::InvalidUserId);
slack_id_parse!(ChannelId, b"CGD", Rejection::InvalidChannelId);

impl EventTs {
    pub fn parse(s: &str) -> Result<EventTs, Rejection> {
        let ts = MessageTs::parse(s)?;
        let (secs, micros) = ts.as_str().split_once('.').ok_or(Rejection::InvalidMessageTs)?;
        Ok(EventTs {
            secs: secs.parse().map_err(|_| Rejection::InvalidMessageTs)?,
            micros: micros.parse().map_err(|_| Rejection::InvalidMessageTs)?,
        })
    }
}

impl TryFrom<String> for EventTs {
    type Error = Rejection;
    fn try_from(s: String) -> Result<Self, Rejection> {
        EventTs::parse(&s)
    }
}

impl MessageTs {
    pub fn parse(s: &str) -> Result<MessageTs, Rejection> {
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        match s.split_once('.') {
            Some((secs, micros))
                if (1..=12).contains(&secs.len())
                    && micros.len() == 6
                    && all_digits(secs)
                    && all_digits(micros) =>
            {
                Ok(MessageTs(s.to_owned()))
            }
            _ => Err(Rejection::InvalidMessageTs),
        }
    }
}

impl RequestId {
    pub fn parse(s: &str) -> Result<RequestId, Rejection> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(RequestId(s.to_owned()))
        } else {
            Err(Rejection::InvalidRequestId)
        }
    }
}

/// `TryFrom<String>` (serde's re-check of stored ids) for the ids whose `parse` needs nothing
/// but the text.
macro_rules! try_from_string {
    ($($name:ident),*) => {$(
        impl TryFrom<String> for $name {
            type Error = Rejection;
            fn try_from(s: String) -> Result<Self, Rejection> {
                $name::parse(&s)
            }
        }
    )*};
}

try_from_string!(SlackUserId, ChannelId, MessageTs, RequestId);

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
