//! The answers to slash commands (ephemeral replies and response_url follow-ups): opening a
//! request, `status`, `revoke`, `resend`, `verify`, and the fixed "state store down" text that
//! the HTTP listener, Socket Mode and the workflow share.

use super::time::format_duration;
use crate::access::ids::{IncidentId, SlackUserId};
use crate::access::level::Level;

/// What a user is told when Redis cannot be reached (HTTP, Socket Mode and the workflow alike).
pub const STATE_STORE_DOWN: &str = "The bot cannot reach its state store (Redis) right now, so \
    it cannot take requests; no access was granted. Try again in a minute; if it persists, tell \
    the platform team.";

/// The immediate answer to `status`, `revoke` and `resend` (the result follows).
pub const WORKING_ON_IT: &str = "Working on it…";

/// The immediate answer to `/pgroles verify` (the report follows).
pub const CHECKING_THE_DATABASE: &str = "Checking the database against the role model…";

/// The immediate answer to a request whose checks take longer than the acknowledgement allows.
pub fn checking_level(level: Level) -> String {
    format!("Checking whether {level} can be requested now…")
}

/// The immediate answer to an admitted request, before it is posted.
pub fn asking_approvers(level: Level, incident: &IncidentId, duration_secs: u64) -> String {
    format!(
        "Asking the approvers for {level} access for {incident} ({})…",
        format_duration(duration_secs)
    )
}

/// The request was posted; `link` is its permalink (or [`APPROVERS_CHANNEL`]).
pub fn request_posted(
    level: Level,
    incident: &IncidentId,
    duration_secs: u64,
    link: &str,
    needed: u32,
) -> String {
    format!(
        "Your request for {level} access for {incident} ({}) is posted: {link}\nIt needs {needed} \
         approval(s). Once approved, I will send you the password in a DM.",
        format_duration(duration_secs)
    )
}

/// Stands in for the request's permalink when Slack does not give one.
pub const APPROVERS_CHANNEL: &str = "the approvers' channel";

/// The level is held by someone the domain cannot describe in full.
pub fn held_until_it_expires(level: Level, holder: &SlackUserId) -> String {
    format!("{level} is held by {} until it expires.", holder.mention())
}

/// Fewer approvers (other than the requester) are configured than the level needs.
pub fn not_enough_approvers(level: Level, threshold: u32) -> String {
    format!(
        "{level} needs {threshold} approval(s) from approvers other than you, and not enough are \
         configured. Ask the platform team."
    )
}

/// The request message could not be posted (`code`: Slack's error code).
pub fn request_not_posted(code: &str) -> String {
    format!(
        "I could not post your request to the approvers' channel (Slack said {code}), so nothing \
         was requested. Please tell the platform team."
    )
}

/// Another request for the level holds its claim but is not listed (yet) as pending.
pub fn request_being_opened(level: Level) -> String {
    format!(
        "Another request for {level} is being opened or decided right now; try again in a moment."
    )
}

/// `/firefighter status`: a held level, in full.
pub fn status_held_by(
    level: Level,
    holder: &SlackUserId,
    incident: &IncidentId,
    expiry: &str,
) -> String {
    format!("{level}: held by {} for {incident} until {expiry}", holder.mention())
}

/// `/firefighter status`: a held level, for someone who may not see by whom.
pub fn status_held(level: Level) -> String {
    format!("{level}: held")
}

/// `/firefighter status`: a free level.
pub fn status_free(level: Level) -> String {
    format!("{level}: nobody holds it")
}

/// `/firefighter status`: one pending request.
pub fn status_pending(
    level: Level,
    requester: &SlackUserId,
    incident: &IncidentId,
    approvals: usize,
    needed: u32,
    deadline: &str,
) -> String {
    format!(
        "{level} requested by {} for {incident}: {approvals} of {needed} approvals, waiting until \
         {deadline}",
        requester.mention()
    )
}

/// `/firefighter status`: Redis could not list the pending requests.
pub const STATUS_PENDING_UNAVAILABLE: &str =
    "(pending requests could not be listed: Redis is unavailable)";

/// `/firefighter status`: the footer for someone who sees only their own.
pub const STATUS_ONLY_YOURS: &str = "Only approvers and admins see who holds access and who is \
    waiting; shown here is what is yours.";

/// `/firefighter revoke` of a grant without a Slack holder, by someone else.
pub fn revoke_needs_approver(level: Level) -> String {
    format!("Only an approver or an admin can revoke {level} here.")
}

/// `/firefighter revoke` done.
/// `/firefighter done` ended the caller's `level` grant.
pub fn released(level: Level, sessions_ended: i32) -> String {
    format!("Released {level}: the password expired and {sessions_ended} session(s) ended.")
}

/// `/firefighter done` by someone who holds nothing.
pub const NOTHING_TO_RELEASE: &str =
    "You hold no firefighter access right now, so there is nothing to release.";

pub fn revoked(level: Level, sessions_ended: i32) -> String {
    format!("Revoked {level}: the password expired and {sessions_ended} session(s) ended.")
}

/// `/firefighter resend` done.
pub fn resent(level: Level) -> String {
    format!("I sent a new {level} password to our DM; the previous one no longer works.")
}

/// `/pgroles verify post`: the report could not be posted here (`code`: Slack's error code).
pub fn verify_not_posted(code: &str) -> String {
    format!(
        "I could not post the report in this channel (Slack said {code}); invite me or run \
         /pgroles verify without post."
    )
}

/// `/pgroles verify` while another runs in this process.
pub const VERIFY_BUSY: &str = "Another verification is running right now; try again in a minute.";

/// `/pgroles verify` failed (details in the logs only).
pub const VERIFY_FAILED: &str = "The verification could not run (the database did not answer as \
    expected). The details are in the bot's logs.";

/// A status or note line with the person's own database login (`access.identity =
/// "per_person"`).
pub fn with_login(line: &str, login: &str) -> String {
    format!("{line} as `{login}`")
}

/// `/firefighter revoke ro @user` for someone who holds nothing at that level.
pub fn holds_nothing(level: Level, holder: &SlackUserId) -> String {
    format!(
        "{} holds no {level} access right now, so there is nothing to revoke.",
        holder.mention()
    )
}

/// `/firefighter revoke ro` without a name, when several people hold the level.
/// `revoke` named no target and the level is held on several.
pub fn revoke_which_target(level: Level, targets: &[String]) -> String {
    format!(
        "{level} is held on {} databases: {}. Name the one: /firefighter revoke {level} <target> [@user].",
        targets.len(),
        targets.join(", ")
    )
}

pub fn revoke_which(level: Level, holders: &[SlackUserId]) -> String {
    let names: Vec<String> = holders.iter().map(SlackUserId::mention).collect();
    format!(
        "{} people hold {level}: {}. Name the one to revoke: /firefighter revoke {level} @user.",
        holders.len(),
        names.join(", ")
    )
}

/// `/firefighter activity @user` by someone who may not see other people's access.
pub const ACTIVITY_NOT_YOURS: &str =
    "Only approvers and admins can see someone else's activity; /firefighter activity shows yours.";

/// `/firefighter activity` on a shared-role grant: the database cannot tell holders apart.
pub fn activity_shared(level: Level) -> String {
    format!(
        "{level}: granted through the shared role, so the database cannot attribute statements \
         to one person (access.identity = \"shared\")."
    )
}

/// `/firefighter activity`: the database could not be asked.
pub fn activity_unavailable(level: Level) -> String {
    format!("{level}: I could not read the activity from the database just now; try again shortly.")
}

/// `/firefighter activity [@user]` for someone without live access.
pub fn holds_nothing_at_all(holder: &SlackUserId) -> String {
    format!("{} holds no firefighter access right now.", holder.mention())
}
