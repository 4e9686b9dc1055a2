//! Identifiers parsed at the edge: incident ids (checked against the configured pattern, with
//! unicode tricks refused), Slack user/channel ids, message timestamps and request ids.
//!
//! This file holds the types; their one validating constructor each (and serde's re-check of
//! the shape, so a value read back from Redis carries the same proof) is in [`super::parse`],
//! the only other module that may build them. No I/O here.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest accepted incident id, in characters (all ASCII, so also bytes).
pub const INCIDENT_MAX_LEN: usize = 64;

/// Why an incident id was refused (selects the user-facing wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentProblem {
    Empty,
    /// Zero-width characters, bidirectional overrides, BOM, soft hyphen, variation selectors.
    Invisible,
    Control,
    Quote,
    Whitespace,
    /// Any other non-ASCII character, e.g. a Cyrillic look-alike letter.
    NonAscii,
    TooLong,
    NoMatch,
}

/// The configured incident-id pattern, compiled and anchored at both ends.
#[derive(Debug, Clone)]
pub struct IncidentPattern {
    pub(super) regex: Regex,
    pub(super) example: String,
}

impl IncidentPattern {
    /// The example shown to users (`INC-1234`).
    pub fn example(&self) -> &str {
        &self.example
    }
}

/// An incident id such as `INC-42`: printable ASCII, at most 64 characters, matching the
/// configured pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(pub(super) String);

/// Defines a Slack id newtype (a prefix letter, then upper-case ASCII letters and digits, 2 to
/// 20 characters in all; checked by `parse`).
macro_rules! slack_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(pub(super) String);
    };
}

slack_id!(
    /// A Slack user id (`U012AB3CD`, or `W...` on Enterprise Grid).
    SlackUserId
);

slack_id!(
    /// A Slack conversation id: channel `C...`, private group `G...` or direct message `D...`.
    ChannelId
);

impl SlackUserId {
    /// `<@U012AB3CD>`: the only Slack markup user-facing text uses.
    pub fn mention(&self) -> String {
        format!("<@{}>", self.0)
    }
}

/// When Slack says an event happened (`event_ts`, `1234567890.123456`), ordered by time: the
/// seconds and microseconds compare as numbers, not as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventTs {
    pub(super) secs: u64,
    pub(super) micros: u32,
}

impl From<EventTs> for String {
    fn from(t: EventTs) -> String {
        format!("{}.{:06}", t.secs, t.micros)
    }
}

/// A Slack message timestamp, `1234567890.123456`: it identifies a message within a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageTs(pub(super) String);

/// The id of one access request: 1 to 64 ASCII letters, digits or `-` (a UUID in practice).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(pub(super) String);

impl RequestId {
    /// The caller generates the UUID (randomness is an effect, kept out of this module).
    pub fn from_uuid(id: uuid::Uuid) -> RequestId {
        RequestId(id.hyphenated().to_string())
    }
}

/// `as_str`, `Display` and `From<_> for String` for the string-backed ids.
macro_rules! string_views {
    ($($name:ident),*) => {$(
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

string_views!(IncidentId, SlackUserId, ChannelId, MessageTs, RequestId);
