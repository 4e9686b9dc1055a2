//! Every way the access domain refuses an action, as one enum callers can branch on, and the
//! errors of the `[access]` configuration section.
//!
//! `Display` (from `thiserror`) is for logs; users see `Rejection::user_message` (in
//! [`super::text`]), never this `Display`. Nothing here holds a secret.

use super::ids::{IncidentId, IncidentProblem, SlackUserId};
use super::level::Level;
use chrono::{DateTime, Utc};

/// Which slash command a rejection is about (selects the help text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlashCommand {
    Firefighter,
    Pgroles,
}

/// Why a duration was refused (selects the user-facing wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationProblem {
    Empty,
    Negative,
    Zero,
    /// Not one of the accepted forms.
    Format,
}

/// A refused user action. Every variant has fixed wording in `user_message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("invalid incident id: {problem:?}")]
    InvalidIncident { problem: IncidentProblem, example: String },
    #[error("invalid Slack user id")]
    InvalidUserId,
    #[error("invalid Slack channel id")]
    InvalidChannelId,
    #[error("invalid Slack message timestamp")]
    InvalidMessageTs,
    #[error("invalid request id")]
    InvalidRequestId,
    #[error("invalid duration: {problem:?}")]
    InvalidDuration { problem: DurationProblem, cap_secs: u64 },
    #[error("duration over the cap of {cap_secs} s")]
    DurationOverCap { cap_secs: u64 },
    #[error("command text longer than {max} characters")]
    TextTooLong { max: usize },
    #[error("command text holds a control or format character")]
    ControlCharacter,
    #[error("unknown slash command")]
    UnknownCommand,
    /// `given` is the word the user typed, kept only when it is short plain ASCII.
    #[error("unknown subcommand {given:?} of {command:?}")]
    UnknownSubcommand { command: SlashCommand, given: Option<String>, help: String },
    #[error("missing argument; usage: {usage}")]
    MissingArgument { usage: String },
    #[error("unexpected extra argument; usage: {usage}")]
    UnexpectedArgument { usage: String },
    #[error("argument is not a Slack user mention")]
    InvalidMention { usage: String },
    #[error("access level is not ro or rw")]
    InvalidLevel { usage: String },
    #[error("a reason is required for {level}")]
    ReasonRequired { level: Level, usage: String },
    #[error("invalid reason: {0}")]
    InvalidReason(super::reason::ReasonProblem),
    /// No such target (`given`, when it is short plain ASCII), or none named where several
    /// exist (`given` None).
    #[error("unknown or missing target {given:?}")]
    UnknownTarget { given: Option<String>, targets: Vec<String>, usage: String },
    #[error("requester reacted to approve their own request")]
    SelfApproval,
    #[error("reaction by a user who is not an approver")]
    NotApprover,
    #[error("{level} is held by {holder} for {incident} until {until}")]
    LevelHeld { level: Level, holder: SlackUserId, incident: IncidentId, until: DateTime<Utc> },
    #[error("a request for {level} by {requester} for {incident} is already pending")]
    AlreadyPending { level: Level, requester: SlackUserId, incident: IncidentId },
    #[error("not allowed to revoke {level} held by {holder}")]
    NotAllowedToRevoke { level: Level, holder: SlackUserId },
    #[error("nothing to revoke: nobody holds {level}")]
    NothingToRevoke { level: Level },
    #[error("nothing to resend")]
    NothingToResend,
    #[error("not allowed to cancel the request")]
    NotAllowedToCancel,
    #[error("not allowed to run /pgroles verify")]
    NotAllowedToVerify,
    #[error("access configuration is invalid")]
    Misconfigured,
    #[error("break-glass is off")]
    BreakGlassOff,
    #[error("break-glass before a normal request for the incident timed out")]
    BreakGlassBeforeTimeout,
    #[error("not allowed to break glass")]
    BreakGlassNotAllowed,
    #[error("break-glass needs a reason")]
    BreakGlassReasonRequired { usage: String },
    #[error("only another approver can review a break-glass grant")]
    NotAllowedToReview,
}

/// The `[access]` configuration section is unusable. Messages name the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessConfigError {
    #[error("access.incident_pattern is not a usable regular expression: {0}")]
    IncidentPattern(String),
    #[error(
        "access.incident_example {example:?} is not a valid incident id under access.incident_pattern"
    )]
    ExampleMismatch { example: String },
    #[error("access.{field} contains {value:?}, which is not a Slack user id (like U012AB3CD)")]
    InvalidUserId { field: &'static str, value: String },
    #[error("access.approvals_{level} must be at least 1")]
    ZeroThreshold { level: Level },
    #[error("access.{field} must be at least 1 second")]
    ZeroWindow { field: &'static str },
    #[error(
        "access.default_duration_secs ({default_secs}) and access.max_duration_secs ({max_secs}) \
         must satisfy 1 <= default <= max <= {limit_secs}"
    )]
    Duration { default_secs: u64, max_secs: u64, limit_secs: u64 },
}
