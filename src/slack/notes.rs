//! The wording of the state-change DMs to a requester (denied, timed out, revoked, not
//! issued), the resend note and the failed-issue alert. Plain sentences, no I/O, no clock;
//! never a secret (these go through the outbox into Redis).
//!
//! Owns these sentences only; the request message and thread notes of the workflow stay in
//! [`crate::access::text`].

use crate::access::SlackUserId;

fn mention(user: &str) -> String {
    SlackUserId::parse(user).map(|u| u.mention()).unwrap_or_else(|_| user.to_owned())
}

/// To the requester: an approver denied the request.
pub fn denied(level: &str, incident: &str, by: &str) -> String {
    format!(
        "Your {level} request for {incident} was denied by {}. Nothing was granted.",
        mention(by)
    )
}

/// To the requester: the approval window ran out.
pub fn timed_out(level: &str, incident: &str) -> String {
    format!(
        "Your {level} request for {incident} timed out: not enough approvals arrived in time. \
         Nothing was granted; run the command again if you still need access."
    )
}

/// To the holder: someone ended their access early.
pub fn revoked(level: &str, incident: &str, by: &str, sessions: &str) -> String {
    format!(
        "Your {level} access for {incident} was revoked by {}: the password no longer works \
         and {sessions} ended.",
        mention(by)
    )
}

/// To the requester: approved, but no access was granted.
pub fn not_issued(level: &str, incident: &str, reason: &str) -> String {
    format!("Your {level} request for {incident} was approved, but no access was granted: {reason}")
}

/// In the request's thread: the holder rotated their password.
pub fn resent(level: &str, holder: &str) -> String {
    format!(
        "{} asked for a new {level} password: the previous one no longer works, and the new one \
         was sent to them in a DM (visible only to them).",
        mention(holder)
    )
}

/// In the audit channel, for the alert group: an approved request was not issued.
pub fn issue_failed_alert(level: &str, incident: &str, requester: &str, reason: &str) -> String {
    format!(
        "Access could not be issued: {level} for {incident}, requested by {} and approved. \
         {reason} Please look now: the requester has no access.",
        mention(requester)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_mention_people_and_say_what_happened() {
        let d = denied("rw", "INC-1", "U0APP00001");
        assert!(d.contains("<@U0APP00001>") && d.contains("denied"), "{d}");
        assert!(timed_out("ro", "INC-1").contains("timed out"));
        let r = revoked("ro", "INC-1", "U0ADM00001", "2 sessions");
        assert!(r.contains("revoked by <@U0ADM00001>") && r.contains("2 sessions ended"), "{r}");
        let a = issue_failed_alert("ro", "INC-1", "U0REQ00001", "The database is down.");
        assert!(a.contains("<@U0REQ00001>") && a.contains("INC-1"), "{a}");
    }
}
