//! Break-glass (issue 17): access issued at once, without approvals, when nobody answers, with a
//! loud trail and a review afterwards. Owns the mode (`access.break_glass`), who may use it,
//! its shorter cap, and the review rule: within `break_glass_review_secs` an approver other than
//! the requester must review it (the Reviewed button or the approve reaction), and until then
//! the bot reminds. Pure: no I/O, time passed in.

use super::ids::SlackUserId;
use super::rejection::Rejection;
use super::settings::AccessConfig;
pub use super::settings::BreakGlassMode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The break-glass rules, from `[access]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassRules {
    pub mode: BreakGlassMode,
    /// Who may break glass; empty: anyone.
    pub users: Vec<SlackUserId>,
    /// The longest a break-glass grant lasts.
    pub cap: Duration,
    /// Within how long an approver must review it.
    pub review_within: Duration,
    /// How often the review is asked for until it is done.
    pub remind_every: Duration,
}

impl BreakGlassRules {
    pub fn from_config(cfg: &AccessConfig) -> Result<BreakGlassRules, super::AccessConfigError> {
        let users = super::parse_user_ids("break_glass_users", &cfg.break_glass_users)?;
        Ok(BreakGlassRules {
            mode: cfg.break_glass,
            users,
            cap: Duration::from_secs(cfg.break_glass_max_secs.min(cfg.max_duration_secs)),
            review_within: Duration::from_secs(cfg.break_glass_review_secs),
            remind_every: Duration::from_secs(cfg.break_glass_reminder_secs.max(1)),
        })
    }

    /// May `user` break glass now? `timed_out` says whether a normal request for the same
    /// incident timed out recently (asked only in `after_timeout` mode).
    pub fn admit(&self, user: &SlackUserId, timed_out: bool) -> Result<(), Rejection> {
        match self.mode {
            BreakGlassMode::Off => return Err(Rejection::BreakGlassOff),
            BreakGlassMode::AfterTimeout if !timed_out => {
                return Err(Rejection::BreakGlassBeforeTimeout)
            }
            BreakGlassMode::AfterTimeout | BreakGlassMode::Immediate => {}
        }
        if !self.users.is_empty() && !self.users.contains(user) {
            return Err(Rejection::BreakGlassNotAllowed);
        }
        Ok(())
    }
}

/// A break-glass request's review state, stored with the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlass {
    /// When the review is due (issue time + `break_glass_review_secs`).
    pub review_by: DateTime<Utc>,
    /// Who reviewed it, and when (`None`: not yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<Review>,
}

/// An approver's review of a break-glass grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub by: SlackUserId,
    pub at: DateTime<Utc>,
}

impl BreakGlass {
    pub fn new(now: DateTime<Utc>, review_within: Duration) -> BreakGlass {
        let within = chrono::Duration::from_std(review_within).unwrap_or(chrono::Duration::MAX);
        BreakGlass { review_by: now.checked_add_signed(within).unwrap_or(now), reviewed: None }
    }

    /// Past the review deadline and still not reviewed.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.reviewed.is_none() && now >= self.review_by
    }
}

#[cfg(test)]
#[path = "break_glass_tests.rs"]
mod tests;
