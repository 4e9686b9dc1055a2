//! The wording of `/firefighter extend` (issue 17): the ask in the grant's thread, the answers
//! to the holder, and the thread notes of the approvers' reactions. Plain text, no I/O.

use super::time::format_duration;
use crate::access::ids::{IncidentId, SlackUserId};
use crate::access::level::Level;

/// The ask, posted in the grant's thread; approvers react to it.
#[allow(clippy::too_many_arguments)]
pub fn ask(
    holder: &SlackUserId,
    level: Level,
    incident: &IncidentId,
    by_secs: u64,
    until: &str,
    needed: u32,
    approve: &str,
    deny: &str,
) -> String {
    format!(
        "{} asks to extend their {level} access for {incident} by {}, to end {until}. Needs {needed} \
         approval(s): approvers react with :{approve}: to this message (or :{deny}: to refuse).",
        holder.mention(),
        format_duration(by_secs)
    )
}

/// To the holder: the ask is posted.
pub fn asked(level: Level, by_secs: u64) -> String {
    format!(
        "I asked the approvers in the incident's thread to extend your {level} access by {}. I \
         will tell you when it is decided.",
        format_duration(by_secs)
    )
}

/// To the holder: they hold nothing to extend.
pub const NOTHING_TO_EXTEND: &str =
    "You hold no firefighter access right now, so there is nothing to extend.";

/// To the holder: several grants match; name the level (and the target).
pub const WHICH_TO_EXTEND: &str = "You hold more than one grant: name the one to extend, \
     /firefighter extend [target] ro|rw <duration>.";

/// To the holder: the grant has no thread to ask in (it was issued outside Slack).
pub const NO_THREAD: &str =
    "This grant was not issued through Slack, so there is no thread to ask in. Request access again.";

/// In the thread: an approval was counted.
pub fn approval(by: &SlackUserId, have: u32, needed: u32) -> String {
    format!("{} approved the extension ({have} of {needed}).", by.mention())
}

/// In the thread: a reaction that does not count.
pub fn self_approval(holder: &SlackUserId) -> String {
    format!("{} reacted to their own extension; that does not count.", holder.mention())
}

pub fn not_approver(user: &SlackUserId) -> String {
    format!("{} is not an approver; their reaction does not count.", user.mention())
}

/// In the thread: the ask was refused.
pub fn denied(by: &SlackUserId) -> String {
    format!("Extension denied by {}. The access ends as planned.", by.mention())
}

/// In the thread: the window ran out.
pub const TOO_LATE: &str =
    "This extension ask timed out before enough approvals. Ask again with /firefighter extend.";

/// In the thread: approved, but the grant could not be extended (`why`: fixed text).
pub fn failed(why: &str) -> String {
    format!("The extension was approved, but the access could not be extended: {why}")
}
