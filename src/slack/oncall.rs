//! The on-call adapter (issue 17): implements `workflow::port::OnCall` with Slack's `users.info`
//! (the requester's profile email) and PagerDuty (`crate::oncall`): the schedule of the level in
//! which the requester is on call now, else `None`.
//!
//! Owns which schedules belong to which level (`access.auto_approve_<level>_schedules`) and the
//! one deadline around both calls (`pagerduty.timeout_ms`, Slack's part included). Anything but
//! a clear "on call" is `None`: Slack failing, no email, PagerDuty's `NotOnCall` or `Unknown`.
//! Logs the outcome, never the email.

use crate::access::SlackUserId;
use crate::config::Config;
use crate::model::Level;
use crate::oncall::{OnCallAnswer, PagerDuty};
use crate::slack::client::SlackApi;
use crate::workflow::port::OnCall;
use std::sync::Arc;
use std::time::Duration;

/// Slack for the email, PagerDuty for the on-calls, the schedules per level.
pub struct SlackPagerDutyOnCall {
    slack: SlackApi,
    pagerduty: PagerDuty,
    ro: Vec<String>,
    rw: Vec<String>,
    deadline: Duration,
}

impl SlackPagerDutyOnCall {
    /// The adapter when `cfg` configures auto-approval (a schedule for some level and a
    /// PagerDuty key); `None` otherwise.
    pub fn from_config(cfg: &Config, slack: SlackApi) -> anyhow::Result<Option<Arc<dyn OnCall>>> {
        let access = &cfg.access;
        if access.auto_approve_ro_schedules.is_empty()
            && access.auto_approve_rw_schedules.is_empty()
        {
            return Ok(None);
        }
        let Some(pagerduty) = PagerDuty::from_config(&cfg.pagerduty)? else { return Ok(None) };
        Ok(Some(Arc::new(SlackPagerDutyOnCall {
            slack,
            pagerduty,
            ro: access.auto_approve_ro_schedules.clone(),
            rw: access.auto_approve_rw_schedules.clone(),
            deadline: Duration::from_millis(cfg.pagerduty.timeout_ms),
        })))
    }

    async fn answer(&self, user: &SlackUserId, schedules: &[String]) -> OnCallAnswer {
        let email = match self.slack.user_email(user.as_str()).await {
            Ok(Some(email)) => email,
            Ok(None) => return OnCallAnswer::Unknown { reason: "no_email" },
            Err(_) => return OnCallAnswer::Unknown { reason: "slack_users_info" },
        };
        self.pagerduty.check(&email, schedules, chrono::Utc::now()).await
    }
}

#[async_trait::async_trait]
impl OnCall for SlackPagerDutyOnCall {
    async fn on_call_schedule(&self, user: &SlackUserId, level: Level) -> Option<String> {
        let schedules = match level {
            Level::Ro => &self.ro,
            Level::Rw => &self.rw,
        };
        if schedules.is_empty() {
            return None;
        }
        let answer = tokio::time::timeout(self.deadline, self.answer(user, schedules))
            .await
            .unwrap_or(OnCallAnswer::Unknown { reason: "timeout" });
        match answer {
            OnCallAnswer::OnCall { schedule } => Some(schedule),
            OnCallAnswer::NotOnCall => None,
            OnCallAnswer::Unknown { reason } => {
                tracing::info!(reason, "on-call status unknown: normal approval");
                None
            }
        }
    }
}
