//! What break-glass says: the loud notice in the audit channel, the approvers' DMs, the thread
//! notes of the request, the review and its reminders. Mentions only through `SlackUserId` and
//! the approvers hint; the reason is always the escaped [`Reason::rendered`].
//!
//! [`Reason::rendered`]: crate::access::reason::Reason::rendered

use super::{format_duration, format_expiry};
use crate::access::Request;
use chrono::{DateTime, Utc};

/// The marker every break-glass record carries (request message, notes, the database's audit
/// row lists it among the approvers: no Slack user id has a hyphen).
pub const MARK: &str = "BREAK-GLASS";

fn what(req: &Request) -> String {
    let on = req.target().map(|t| format!(" on `{t}`")).unwrap_or_default();
    let reason = req.reason().map(|r| r.rendered()).unwrap_or_default();
    format!(
        "{} took {} access{on} for {} for {} without approval. Reason: {reason}",
        req.requester().mention(),
        req.level(),
        req.incident(),
        format_duration(req.duration().as_secs()),
    )
}

/// Top level in the audit channel, for everyone there and the approvers.
pub fn notice(req: &Request, approvers_hint: &str, now: DateTime<Utc>) -> String {
    let due = req.break_glass().map(|bg| format_expiry(bg.review_by, now)).unwrap_or_default();
    format!(
        "<!here> :rotating_light: {MARK}: {} Approvers ({approvers_hint}): review it before \
         {due}: press Reviewed on the request or react to it.",
        what(req)
    )
}

/// The thread note on the request (the audit trail).
pub fn thread_note(req: &Request) -> String {
    format!("{MARK}: {} Issuing access now; an approver must review it afterwards.", what(req))
}

/// The DM to every approver.
pub fn approver_dm(req: &Request, now: DateTime<Utc>) -> String {
    let due = req.break_glass().map(|bg| format_expiry(bg.review_by, now)).unwrap_or_default();
    format!(
        "{MARK}: {} Please review it in the audit channel before {due} (press Reviewed on the \
         request, or react to it).",
        what(req)
    )
}

/// The thread note once an approver reviewed it.
pub fn reviewed(req: &Request) -> String {
    let by = req.break_glass().and_then(|bg| bg.reviewed.as_ref());
    match by {
        Some(r) => format!("{MARK} reviewed by {}.", r.by.mention()),
        None => format!("{MARK} reviewed."),
    }
}

/// The reminder while nobody has reviewed it: in the thread, and top level for the approvers.
pub fn review_reminder(req: &Request, approvers_hint: &str, now: DateTime<Utc>) -> String {
    let Some(bg) = req.break_glass() else { return String::new() };
    let when = if bg.overdue(now) {
        format!("The review is overdue (it was due {}).", format_expiry(bg.review_by, now))
    } else {
        format!("It is due {}.", format_expiry(bg.review_by, now))
    };
    format!(
        "{MARK} not reviewed yet: {} {when} Approvers ({approvers_hint}): press Reviewed on \
         the request, or react to it.",
        what(req)
    )
}

/// The request message's line while a review is outstanding, or who reviewed it.
pub fn status_line(req: &Request) -> Option<String> {
    let bg = req.break_glass()?;
    Some(match &bg.reviewed {
        Some(r) => format!("{MARK}: reviewed by {}.", r.by.mention()),
        None => format!("{MARK}: issued without approval; an approver must review it."),
    })
}
