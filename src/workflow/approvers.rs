//! Who may approve right now: the configured approvers plus the members of the approver user
//! group (`usergroups.users.list`), cached for a while so a burst of reactions costs one call.
//!
//! Owns the cache and its TTL. It must not decide whether a reaction counts (that is
//! [`ApprovalPolicy`]); when Slack cannot be asked, the last known members are used, and
//! without any, only the configured list.

use crate::access::{ApprovalPolicy, SlackUserId};
use crate::config::AccessConfig;
use crate::server::metrics::Metrics;
use crate::slack::client::SlackApi;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The group's members and when they were fetched.
type Cached = Option<(Instant, Vec<SlackUserId>)>;

/// The approval policy with the group resolved, cached for `ttl`.
#[derive(Clone)]
pub struct Approvers {
    access: Arc<AccessConfig>,
    slack: SlackApi,
    metrics: Metrics,
    ttl: Duration,
    cache: Arc<Mutex<Cached>>,
}

impl Approvers {
    pub fn new(
        access: Arc<AccessConfig>,
        slack: SlackApi,
        metrics: Metrics,
        ttl: Duration,
    ) -> Self {
        Approvers { access, slack, metrics, ttl, cache: Arc::new(Mutex::new(None)) }
    }

    /// The policy now. Fails only if the `[access]` section is invalid.
    pub async fn policy(&self) -> anyhow::Result<ApprovalPolicy> {
        let members = self.group_members().await;
        Ok(ApprovalPolicy::from_config(&self.access, &members)?)
    }

    /// How approvers are named in the request message: mentions, and the group.
    pub async fn hint(&self) -> String {
        let mut parts: Vec<String> = self
            .access
            .approvers
            .iter()
            .filter_map(|u| SlackUserId::parse(u.trim()).ok())
            .map(|u| u.mention())
            .collect();
        if let Some(group) = &self.access.approver_group {
            parts.push(format!("<!subteam^{group}>"));
        }
        if parts.is_empty() {
            "nobody is configured".into()
        } else {
            parts.join(", ")
        }
    }

    async fn group_members(&self) -> Vec<SlackUserId> {
        let Some(group) = &self.access.approver_group else { return Vec::new() };
        let mut cache = self.cache.lock().await;
        if let Some((at, members)) = cache.as_ref() {
            if at.elapsed() < self.ttl {
                return members.clone();
            }
        }
        match self.slack.usergroup_members(group).await {
            Ok(ids) => {
                let members: Vec<SlackUserId> =
                    ids.iter().filter_map(|u| SlackUserId::parse(u).ok()).collect();
                *cache = Some((Instant::now(), members.clone()));
                members
            }
            Err(e) => {
                self.metrics.slack_error(e.method, &e.code);
                tracing::warn!(code = %e.code, "could not resolve the approver group; using the last known members");
                cache.as_ref().map(|(_, m)| m.clone()).unwrap_or_default()
            }
        }
    }
}
