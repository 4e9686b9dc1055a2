//! An ask to extend a live grant (issue 17, `/firefighter extend`): the holder asks in the
//! grant's thread, approvers react to the ask. `ro` needs one approval, `rw` the level's
//! configured count; never the holder's own; within the approval window; decided once.
//!
//! Pure: the state and its transitions. Storing it (compare-and-swap), posting the ask and
//! moving the grant's end are the workflow's and the grant service's.

use super::ids::{IncidentId, SlackUserId};
use super::level::Level;
use super::policy::{ApprovalPolicy, Reaction};
use super::request::MessageRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an extension ask stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExtensionState {
    Pending,
    /// Enough approvals: the grant service is asked to extend (once).
    Approved,
    Denied {
        by: SlackUserId,
    },
    /// The window ran out before enough approvals.
    TimedOut,
}

/// One ask to extend `holder`'s grant of `level` by `by_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub id: String,
    /// The fleet target (`None`: the one default target).
    pub target: Option<String>,
    pub level: Level,
    pub holder: SlackUserId,
    pub incident: IncidentId,
    pub by_secs: u64,
    pub needed: u32,
    pub approvals: Vec<SlackUserId>,
    pub deadline: DateTime<Utc>,
    pub state: ExtensionState,
    /// The ask in the grant's thread (approvers react to it).
    pub ask: MessageRef,
    /// The grant's thread.
    pub thread: MessageRef,
}

/// What a reaction on the ask did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionVerdict {
    /// Not the approve or deny emoji, or the ask is decided already.
    Ignored,
    /// The holder reacted: their own approval does not count.
    SelfApproval,
    NotApprover,
    /// After the window.
    TooLate,
    /// Counted; more are needed.
    Recorded {
        have: u32,
        needed: u32,
    },
    /// The last approval needed: extend now.
    Approved,
    Denied,
}

impl Extension {
    /// Approvals an extension of `level` needs: one for `ro`, the level's count for `rw`.
    pub fn needed(level: Level, policy: &ApprovalPolicy) -> u32 {
        match level {
            Level::Ro => 1,
            Level::Rw => policy.threshold(Level::Rw).max(1),
        }
    }

    /// Applies `user`'s `reaction` (an added one) at `now`.
    pub fn on_reaction(
        &mut self,
        user: &SlackUserId,
        reaction: Reaction,
        policy: &ApprovalPolicy,
        now: DateTime<Utc>,
    ) -> ExtensionVerdict {
        if self.state != ExtensionState::Pending || reaction == Reaction::Other {
            return ExtensionVerdict::Ignored;
        }
        if now > self.deadline {
            self.state = ExtensionState::TimedOut;
            return ExtensionVerdict::TooLate;
        }
        if *user == self.holder {
            return if reaction == Reaction::Approve {
                ExtensionVerdict::SelfApproval
            } else {
                ExtensionVerdict::Ignored
            };
        }
        if !policy.is_approver(user) {
            return ExtensionVerdict::NotApprover;
        }
        if reaction == Reaction::Deny {
            self.state = ExtensionState::Denied { by: user.clone() };
            return ExtensionVerdict::Denied;
        }
        if !self.approvals.contains(user) {
            self.approvals.push(user.clone());
        }
        let have = u32::try_from(self.approvals.len()).unwrap_or(u32::MAX);
        if have >= self.needed {
            self.state = ExtensionState::Approved;
            return ExtensionVerdict::Approved;
        }
        ExtensionVerdict::Recorded { have, needed: self.needed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::settings::AccessConfig;

    fn user(s: &str) -> SlackUserId {
        SlackUserId::parse(s).unwrap()
    }

    fn ask(level: Level, needed: u32, now: DateTime<Utc>) -> Extension {
        let at = MessageRef { channel: "C0AUDIT001".into(), ts: "1.000001".into() };
        Extension {
            id: "x".into(),
            target: None,
            level,
            holder: user("U0HOLDER1"),
            incident: IncidentId::parse(
                "INC-1",
                &crate::access::IncidentPattern::new("INC-[0-9]+", "INC-1").unwrap(),
            )
            .unwrap(),
            by_secs: 1800,
            needed,
            approvals: vec![],
            deadline: now + chrono::Duration::minutes(10),
            state: ExtensionState::Pending,
            ask: at.clone(),
            thread: at,
        }
    }

    fn policy() -> ApprovalPolicy {
        let cfg = AccessConfig {
            approvers: vec!["U0APPR001".into(), "U0APPR002".into()],
            approvals_rw: 2,
            ..AccessConfig::default()
        };
        ApprovalPolicy::from_config(&cfg, &[]).unwrap()
    }

    #[test]
    fn ro_needs_one_approval_and_never_the_holders_own() {
        let now = Utc::now();
        let p = policy();
        assert_eq!(Extension::needed(Level::Ro, &p), 1);
        assert_eq!(Extension::needed(Level::Rw, &p), 2);
        let mut e = ask(Level::Ro, 1, now);
        assert_eq!(
            e.on_reaction(&user("U0HOLDER1"), Reaction::Approve, &p, now),
            ExtensionVerdict::SelfApproval
        );
        assert_eq!(
            e.on_reaction(&user("U0OUTSIDE1"), Reaction::Approve, &p, now),
            ExtensionVerdict::NotApprover
        );
        assert_eq!(
            e.on_reaction(&user("U0APPR001"), Reaction::Approve, &p, now),
            ExtensionVerdict::Approved
        );
        assert_eq!(
            e.on_reaction(&user("U0APPR002"), Reaction::Approve, &p, now),
            ExtensionVerdict::Ignored,
            "once"
        );
    }

    #[test]
    fn rw_counts_distinct_approvers_and_a_deny_or_the_window_closes_it() {
        let now = Utc::now();
        let p = policy();
        let mut e = ask(Level::Rw, 2, now);
        let a1 = user("U0APPR001");
        assert_eq!(
            e.on_reaction(&a1, Reaction::Approve, &p, now),
            ExtensionVerdict::Recorded { have: 1, needed: 2 }
        );
        assert_eq!(
            e.on_reaction(&a1, Reaction::Approve, &p, now),
            ExtensionVerdict::Recorded { have: 1, needed: 2 }
        );
        assert_eq!(
            e.on_reaction(&user("U0APPR002"), Reaction::Deny, &p, now),
            ExtensionVerdict::Denied
        );
        let mut late = ask(Level::Ro, 1, now);
        let after = now + chrono::Duration::minutes(11);
        assert_eq!(late.on_reaction(&a1, Reaction::Approve, &p, after), ExtensionVerdict::TooLate);
        assert_eq!(late.state, ExtensionState::TimedOut);
    }
}
