//! The approval policy: who may approve, how many distinct approvals each level needs, how long
//! a request waits, and which reaction emojis mean approve and deny.
//!
//! Built from `AccessConfig` plus the members of the approver user group, which the caller
//! resolves (this module does no I/O). The emojis come from `slack.*_emoji`: `config` builds
//! them (`ReactionEmojis::from_config`), so this module does not know the Slack section.

use super::ids::SlackUserId;
use super::level::Level;
use super::rejection::AccessConfigError;
use super::settings::AccessConfig;
use chrono::TimeDelta;
use std::collections::BTreeSet;

/// Who approves, and how many approvals each level needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPolicy {
    approvers: BTreeSet<SlackUserId>,
    threshold_ro: u32,
    threshold_rw: u32,
    approval_window: TimeDelta,
}

impl ApprovalPolicy {
    /// `group_members`: the resolved members of `access.approver_group` (empty if none).
    pub fn from_config(
        cfg: &AccessConfig,
        group_members: &[SlackUserId],
    ) -> Result<Self, AccessConfigError> {
        let mut approvers: BTreeSet<SlackUserId> =
            parse_user_ids("approvers", &cfg.approvers)?.into_iter().collect();
        approvers.extend(group_members.iter().cloned());
        for (level, n) in [(Level::Ro, cfg.approvals_ro), (Level::Rw, cfg.approvals_rw)] {
            if n == 0 {
                return Err(AccessConfigError::ZeroThreshold { level });
            }
        }
        let window = i64::try_from(cfg.approval_window_secs)
            .ok()
            .filter(|s| *s > 0)
            .and_then(TimeDelta::try_seconds)
            .ok_or(AccessConfigError::ZeroWindow { field: "approval_window_secs" })?;
        Ok(ApprovalPolicy {
            approvers,
            threshold_ro: cfg.approvals_ro,
            threshold_rw: cfg.approvals_rw,
            approval_window: window,
        })
    }

    pub fn is_approver(&self, user: &SlackUserId) -> bool {
        self.approvers.contains(user)
    }

    /// Distinct approvals (the requester's never counts) a request at `level` needs.
    pub fn threshold(&self, level: Level) -> u32 {
        match level {
            Level::Ro => self.threshold_ro,
            Level::Rw => self.threshold_rw,
        }
    }

    /// How long a request waits for approvals.
    pub fn approval_window(&self) -> TimeDelta {
        self.approval_window
    }

    pub fn approvers(&self) -> impl Iterator<Item = &SlackUserId> {
        self.approvers.iter()
    }

    /// Whether enough approvers other than `requester` exist for a request at `level`.
    pub fn can_be_satisfied(&self, level: Level, requester: &SlackUserId) -> bool {
        let others = self.approvers.iter().filter(|a| *a != requester).count();
        u32::try_from(others).unwrap_or(u32::MAX) >= self.threshold(level)
    }
}

/// Parses a configured list of user ids, naming the key (`access.<field>`) on failure.
pub fn parse_user_ids(
    field: &'static str,
    values: &[String],
) -> Result<Vec<SlackUserId>, AccessConfigError> {
    values
        .iter()
        .map(|v| {
            SlackUserId::parse(v.trim())
                .map_err(|_| AccessConfigError::InvalidUserId { field, value: v.clone() })
        })
        .collect()
}

/// What a reaction means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Approve,
    Deny,
    Other,
}

/// The approve and deny emoji names, without colons (`white_check_mark`, `x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionEmojis {
    approve: String,
    deny: String,
}

impl ReactionEmojis {
    pub fn new(approve: &str, deny: &str) -> ReactionEmojis {
        ReactionEmojis { approve: normalize(approve), deny: normalize(deny) }
    }

    /// Classifies a reaction name as Slack reports it (`+1::skin-tone-3` counts as `+1`).
    pub fn classify(&self, emoji: &str) -> Reaction {
        let name = normalize(emoji);
        if name.is_empty() {
            Reaction::Other
        } else if name == self.approve {
            Reaction::Approve
        } else if name == self.deny {
            Reaction::Deny
        } else {
            Reaction::Other
        }
    }

    pub fn approve(&self) -> &str {
        &self.approve
    }

    pub fn deny(&self) -> &str {
        &self.deny
    }
}

/// Drops surrounding colons and a skin-tone modifier, lower-cases.
fn normalize(emoji: &str) -> String {
    let bare = emoji.trim().trim_matches(':');
    let base = bare.split("::").next().unwrap_or(bare);
    base.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> SlackUserId {
        SlackUserId::parse(s).unwrap()
    }

    fn cfg(approvers: &[&str]) -> AccessConfig {
        AccessConfig {
            approvers: approvers.iter().map(|s| s.to_string()).collect(),
            ..AccessConfig::default()
        }
    }

    #[test]
    fn approvers_come_from_config_and_the_resolved_group() {
        let policy = ApprovalPolicy::from_config(&cfg(&["UA1"]), &[user("UG1")]).unwrap();
        assert!(policy.is_approver(&user("UA1")));
        assert!(policy.is_approver(&user("UG1")));
        assert!(!policy.is_approver(&user("UX1")));
    }

    #[test]
    fn thresholds_follow_the_config() {
        let policy = ApprovalPolicy::from_config(&cfg(&[]), &[]).unwrap();
        assert_eq!(policy.threshold(Level::Ro), 1);
        assert_eq!(policy.threshold(Level::Rw), 2);
        assert_eq!(policy.approval_window(), TimeDelta::seconds(900));
    }

    #[test]
    fn an_invalid_approver_id_names_the_key_and_value() {
        let err = ApprovalPolicy::from_config(&cfg(&["@alice"]), &[]).unwrap_err();
        assert_eq!(
            err,
            AccessConfigError::InvalidUserId { field: "approvers", value: "@alice".into() }
        );
    }

    #[test]
    fn a_zero_approval_window_is_rejected() {
        let c = AccessConfig { approval_window_secs: 0, ..AccessConfig::default() };
        assert!(ApprovalPolicy::from_config(&c, &[]).is_err());
    }

    #[test]
    fn requester_does_not_count_towards_satisfiability() {
        let policy = ApprovalPolicy::from_config(&cfg(&["UA1", "UA2"]), &[]).unwrap();
        assert!(policy.can_be_satisfied(Level::Rw, &user("UX1")));
        assert!(!policy.can_be_satisfied(Level::Rw, &user("UA1")));
        assert!(policy.can_be_satisfied(Level::Ro, &user("UA1")));
    }

    #[test]
    fn reactions_are_classified_with_colons_and_skin_tones_ignored() {
        let emojis = ReactionEmojis::new(":+1:", "x");
        assert_eq!(emojis.classify("+1"), Reaction::Approve);
        assert_eq!(emojis.classify("+1::skin-tone-4"), Reaction::Approve);
        assert_eq!(emojis.classify(":x:"), Reaction::Deny);
        assert_eq!(emojis.classify("heart"), Reaction::Other);
        assert_eq!(emojis.classify(""), Reaction::Other);
        assert_eq!(emojis.classify("::"), Reaction::Other);
    }
}
