//! The wording of the App Home tab (issue 17): headings, a live grant's line (with how to
//! release or extend it), a request waiting for the viewer's approval, the empty states. Plain
//! text, no I/O.

use crate::access::ids::{IncidentId, SlackUserId};
use crate::access::level::Level;

pub const LIVE_HEADING: &str = "Your access now";
pub const WAITING_HEADING: &str = "Waiting for your approval";
pub const HISTORY_HEADING: &str = "Your last 7 days";
pub const NOTHING_LIVE: &str =
    "You hold no firefighter access. Ask with /firefighter ro|rw <incident> [duration] [reason].";
pub const NOTHING_WAITING: &str = "Nothing is waiting for your approval.";
pub const NO_HISTORY: &str = "No firefighter access in the last 7 days.";
pub const UNAVAILABLE: &str = "(some grants could not be read right now)";

/// One live grant of the viewer.
pub fn live(
    level: Level,
    target: &str,
    incident: &IncidentId,
    until: &str,
    login: Option<&str>,
) -> String {
    let target = if target.is_empty() { String::new() } else { format!(" {target}") };
    let login = login.map(|l| format!(" as `{l}`")).unwrap_or_default();
    format!(
        "• *{level}*{target} for {incident}{login}, ends {until}. Finished? /firefighter done. \
         Need longer? /firefighter extend <duration>."
    )
}

/// A pending request the viewer may approve.
pub fn waiting(
    requester: &SlackUserId,
    level: Level,
    target: &str,
    incident: &IncidentId,
    have: usize,
    needed: u32,
) -> String {
    let target = if target.is_empty() { String::new() } else { format!(" on `{target}`") };
    format!(
        "• {} asks for {level}{target} for {incident}: {have} of {needed} approval(s). Approve on \
         the request message in the audit channel.",
        requester.mention()
    )
}
