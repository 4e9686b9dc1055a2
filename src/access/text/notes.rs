//! The notes in a request's thread (the audit trail): approvals and their withdrawal, the
//! decision, the issue and its failure, and why a reaction did not count.

use crate::access::ids::{IncidentId, SlackUserId};
use crate::access::level::Level;

/// Who reacted, for a note about a transition (a timer has no actor).
pub fn actor(user: Option<&SlackUserId>) -> String {
    user.map(SlackUserId::mention).unwrap_or_else(|| "someone".into())
}

pub fn approval_recorded(who: &str, count: u32, needed: u32) -> String {
    format!("{who} approved ({count} of {needed}).")
}

pub fn approval_withdrawn(who: &str, count: u32, needed: u32) -> String {
    format!("{who} withdrew their approval ({count} of {needed}).")
}

pub fn approved(who: &str, needed: u32) -> String {
    format!("{who} approved; all {needed} approval(s) are in. Issuing access…")
}

/// On-call auto-approval: why no approver reacted.
pub fn auto_approved(requester: &SlackUserId, schedule: &str) -> String {
    format!(
        "Approved automatically: {} is on call right now in PagerDuty schedule {schedule}, \
         which is configured to approve this level. Issuing access…",
        requester.mention()
    )
}

pub fn denied(by: &SlackUserId) -> String {
    format!("Denied by {}.", by.mention())
}

pub fn cancelled(by: &SlackUserId) -> String {
    format!("Cancelled by {}.", by.mention())
}

pub const TIMED_OUT: &str = "Timed out: not enough approvals arrived in time. Nothing was granted.";

/// The request was posted but could not be stored, so it is discarded.
pub const VOID: &str = "This request could not be recorded, so it is void.";

/// The password was issued and delivered; `expiry` is formatted (`format_expiry`).
pub fn issued(holder: &SlackUserId, level: Level, incident: &IncidentId, expiry: &str) -> String {
    format!(
        "Access issued: {} holds {level} for {incident} until {expiry}. The password was sent to \
         them in a DM (visible only to them).",
        holder.mention()
    )
}

/// The issue failed; `why` is the error's user message.
pub fn not_issued(why: &str) -> String {
    format!("Access could not be issued: {why}")
}

/// The process that was issuing stopped before it finished (thread note).
pub const ISSUE_INTERRUPTED: &str = "Issuing access did not finish: the bot stopped while \
    issuing. No password is active for this request; request again if access is still needed.";

/// The process that was issuing stopped before it finished (the reason in the requester's DM
/// and the alert).
pub const ISSUE_INTERRUPTED_REASON: &str =
    "issuing did not finish (the bot stopped); no password is active.";

pub fn self_approval(user: &SlackUserId) -> String {
    format!(
        "{} reacted to their own request; that does not count, another approver has to approve.",
        user.mention()
    )
}

pub fn not_an_approver(user: &SlackUserId) -> String {
    format!("{} is not an approver, so their reaction does not count.", user.mention())
}

/// A reaction on a request that is no longer pending; `state` as the request names it.
pub fn reaction_too_late(user: &SlackUserId, state: &str) -> String {
    format!(
        "{}'s reaction came after the request was {}; it does not count.",
        user.mention(),
        state.replace('_', " ")
    )
}

pub fn approval_superseded(user: &SlackUserId) -> String {
    format!(
        "{} removed their approval after giving it; it does not count. React again to approve.",
        user.mention()
    )
}

/// A reaction that could not be recorded (`contended`: the request kept changing; otherwise
/// the state store did not answer), and how to retry.
pub fn reaction_not_recorded(
    user: &SlackUserId,
    added: bool,
    emoji: &str,
    contended: bool,
) -> String {
    let what = if added { "reaction" } else { "removed reaction" };
    let cause = if contended {
        "the request was changing at the same moment"
    } else {
        "the bot's state store did not answer"
    };
    format!(
        "I could not record {}'s {what} :{emoji}: just now ({cause}), so it has not changed this \
         request. {}, please remove the reaction and add it again (or, to withdraw, add and \
         remove it again) in a minute.",
        user.mention(),
        user.mention()
    )
}
