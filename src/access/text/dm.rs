//! The wording of the state-change DMs to a requester (denied, timed out, revoked, not
//! issued), the resend note and the failed-issue alert. Plain sentences, no I/O, no clock;
//! never a secret (these go through the outbox into Redis).

use super::mention_or_name;
use crate::access::ids::{IncidentId, SlackUserId};
use crate::access::level::Level;

/// To the requester: an approver denied the request.
pub fn denied(level: Level, incident: &IncidentId, by: &SlackUserId) -> String {
    format!(
        "Your {level} request for {incident} was denied by {}. Nothing was granted.",
        by.mention()
    )
}

/// To the requester: the approval window ran out.
pub fn timed_out(level: Level, incident: &IncidentId) -> String {
    format!(
        "Your {level} request for {incident} timed out: not enough approvals arrived in time. \
         Nothing was granted; run the command again if you still need access."
    )
}

/// To the holder: someone (`by`: a Slack user id, or an actor such as `cli`) ended their
/// access early.
pub fn revoked(level: Level, incident: &IncidentId, by: &str, sessions: &str) -> String {
    format!(
        "Your {level} access for {incident} was revoked by {}: the password no longer works \
         and {sessions} ended.",
        mention_or_name(by)
    )
}

/// To the holder: their access was extended.
pub fn extended(level: Level, incident: &IncidentId, until: &str) -> String {
    format!("Your {level} access for {incident} was extended: it now ends {until}. Same password.")
}

/// To the holder: they ended their own access (`/firefighter done`).
pub fn released(level: Level, incident: &IncidentId, sessions: &str) -> String {
    format!(
        "You released your {level} access for {incident}: the password no longer works and \
         {sessions} ended. Thanks for handing it back early."
    )
}

/// To the requester: approved, but no access was granted.
pub fn not_issued(level: Level, incident: &IncidentId, reason: &str) -> String {
    format!("Your {level} request for {incident} was approved, but no access was granted: {reason}")
}

/// In the request's thread: the holder rotated their password.
pub fn resent(level: Level, holder: &SlackUserId) -> String {
    format!(
        "{} asked for a new {level} password: the previous one no longer works, and the new one \
         was sent to them in a DM (visible only to them).",
        holder.mention()
    )
}

/// In the audit channel, for the alert group: an approved request was not issued.
pub fn issue_failed_alert(
    level: Level,
    incident: &IncidentId,
    requester: &SlackUserId,
    reason: &str,
) -> String {
    format!(
        "Access could not be issued: {level} for {incident}, requested by {} and approved. \
         {reason} Please look now: the requester has no access.",
        requester.mention()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::IncidentPattern;

    fn incident() -> IncidentId {
        IncidentId::parse("INC-1", &IncidentPattern::new("INC-[0-9]+", "INC-1").unwrap()).unwrap()
    }

    fn user(id: &str) -> SlackUserId {
        SlackUserId::parse(id).unwrap()
    }

    #[test]
    fn notes_mention_people_and_say_what_happened() {
        let d = denied(Level::Rw, &incident(), &user("U0APP00001"));
        assert!(d.contains("<@U0APP00001>") && d.contains("denied"), "{d}");
        assert!(timed_out(Level::Ro, &incident()).contains("timed out"));
        let r = revoked(Level::Ro, &incident(), "U0ADM00001", "2 sessions");
        assert!(r.contains("revoked by <@U0ADM00001>") && r.contains("2 sessions ended"), "{r}");
        let c = revoked(Level::Ro, &incident(), "cli", "1 session");
        assert!(c.contains("revoked by cli:"), "{c}");
        let a = issue_failed_alert(Level::Ro, &incident(), &user("U0REQ00001"), "The DB is down.");
        assert!(a.contains("<@U0REQ00001>") && a.contains("INC-1"), "{a}");
    }
}
