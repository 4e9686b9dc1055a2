//! The notes and DMs of grant events after issuing: the reminder, expiry, revocation, takeover,
//! a failed delivery or a delayed expiry, and what the reconciler found. Times come formatted
//! (`format_expiry`, `format_utc_time`); pure.

use super::activity::{activity_summary, code_span};
use super::mention_or_name;
use crate::access::activity::PersonActivity;
use crate::access::ids::{IncidentId, SlackUserId};
use crate::access::level::Level;

/// `1 session`, `3 sessions`.
pub fn sessions(n: i32) -> String {
    if n == 1 {
        "1 session".into()
    } else {
        format!("{n} sessions")
    }
}

/// To the holder, before expiry; `when` is formatted (`format_expiry`).
pub fn reminder(level: Level, incident: &IncidentId, when: &str) -> String {
    format!(
        "Your {level} access for {incident} ends at {when}. Request it again if you still need it."
    )
}

/// In the thread: the reminder reached the holder.
pub fn reminder_sent(holder: &SlackUserId, when: &str) -> String {
    format!("Reminder sent to {}: access ends at {when}.", holder.mention())
}

/// In the thread: the reminder DM failed (`code`: Slack's error code).
pub fn reminder_failed(holder: &SlackUserId, code: &str, when: &str) -> String {
    format!("Could not remind {} by DM ({code}); access ends at {when}.", holder.mention())
}

/// In the thread: the grant ended at its time; `at` is formatted (`format_utc_time`).
pub fn expired(
    level: Level,
    holder: &SlackUserId,
    incident: &IncidentId,
    at: &str,
    n: i32,
) -> String {
    format!(
        "Password expired: {level} access of {} for {incident} ended at {at}; {} ended.",
        holder.mention(),
        sessions(n)
    )
}

/// In the thread: `by` (a Slack user id, or an actor such as `cli`) revoked the grant.
pub fn revoked(by: &str, level: Level, holder: &SlackUserId, n: i32) -> String {
    if by == holder.as_str() {
        return format!(
            "Released early by {}: the {level} password expired; {} ended.",
            holder.mention(),
            sessions(n)
        );
    }
    format!(
        "Access revoked by {}: the {level} password of {} expired; {} ended.",
        mention_or_name(by),
        holder.mention(),
        sessions(n)
    )
}

/// In the thread: an extension was approved by `by`; the grant now ends `until`.
pub fn extended(by: &str, level: Level, holder: &SlackUserId, until: &str) -> String {
    format!(
        "Extended by {}: the {level} access of {} now ends {until} (the database's VALID UNTIL \
         moved with it).",
        mention_or_name(by),
        holder.mention()
    )
}

/// In the previous grant's thread: `holder` took the level over from `previous`.
pub fn taken_over(
    holder: &SlackUserId,
    level: Level,
    incident: &IncidentId,
    previous: &SlackUserId,
) -> String {
    format!(
        "{} took {level} over for {incident}; the previous password of {} no longer works.",
        holder.mention(),
        previous.mention()
    )
}

/// In the thread: the password could not be delivered, so it was expired again.
pub fn delivery_failed(holder: &SlackUserId, reason: &str) -> String {
    format!(
        "The password could not be delivered to {} by DM ({reason}), so it was expired again \
         right away. Please request access again.",
        holder.mention()
    )
}

/// In the thread: expiry is retried; `cap` is the database's own cap (`format_utc_time`).
pub fn expiry_delayed(level: Level, holder: &SlackUserId, cap: &str) -> String {
    format!(
        "The {level} password of {} could not be expired yet (database unreachable); retrying. \
         The database itself caps it at {cap}.",
        holder.mention()
    )
}

/// In the thread: sessions could not be ended on these instances; retried until they answer.
pub fn instances_unreachable(login: &str, instances: &[String]) -> String {
    format!(
        "Could not reach {} to end the sessions of {} there; the access itself is already \
         ended. Retrying until it answers.",
        instances.iter().map(|i| code_span(i, 255)).collect::<Vec<_>>().join(", "),
        code_span(login, 63)
    )
}

/// In the thread: a retried instance answered (`Some(n)`), or never did (`None`).
pub fn instance_swept(login: &str, instance: &str, sessions_ended: Option<i32>) -> String {
    match sessions_ended {
        Some(n) => format!(
            "{} answers again: {} of {} ended there.",
            code_span(instance, 255),
            sessions(n),
            code_span(login, 63)
        ),
        None => format!(
            "Gave up on {} after 24 hours: it never answered, so sessions of {} that were open \
             there may still be. Check it by hand (docs/runbook.md).",
            code_span(instance, 255),
            code_span(login, 63)
        ),
    }
}

/// In the audit channel: the reconciler found a live role without a timer.
pub fn restored(role: &str, at: &str) -> String {
    format!("Found {role} with a live password and no expiry timer; it will be expired at {at}.")
}

/// In the audit channel: sessions of a role without a grant were ended.
pub fn orphan_sessions_ended(role: &str, n: i32) -> String {
    format!("Ended {} of {role}, which holds no active grant.", sessions(n))
}

/// An ending note with the person's own login named (per-person logins) and, where it could be
/// read, what that login did (`activity_summary`: normalized statements, never literals).
pub fn with_login_and_activity(
    text: &str,
    login: Option<&str>,
    activity: Option<&PersonActivity>,
) -> String {
    let mut out = text.to_owned();
    if let Some(login) = login {
        out.push_str(&format!(" Database login: {}.", code_span(login, 63)));
    }
    if let Some(activity) = activity {
        out.push('\n');
        out.push_str(&activity_summary(activity));
    }
    out
}
