//! Who may approve right now: the configured approvers plus the members of the approver user
//! group ([`UserGroups`]: Slack's `usergroups.users.list`), cached so a burst of reactions costs one call.
//!
//! Owns the cache and the policy when Slack cannot be asked. The cache is a `moka` future cache
//! (chosen over a hand-rolled mutex: concurrent lookups share one Slack call (single-flight)
//! without holding a lock across it, and entries expire per kind): a good answer is kept for
//! `ttl`, a failed lookup for [`FAILURE_TTL`], so during a Slack outage reactions, requests and
//! revokes do not queue behind retries; one lookup is bounded by [`LOOKUP_TIMEOUT`].
//!
//! Policy when the lookup fails: the last good membership is served for at most
//! [`STALE_FOR`] after it was fetched; after that the group counts as empty (fail closed: only
//! the configured `access.approvers` can approve) until Slack answers again. It must not decide
//! whether a reaction counts (that is [`ApprovalPolicy`]).

use crate::access::{ApprovalPolicy, SlackUserId};
use crate::config::AccessConfig;
use crate::metrics::Metrics;
use crate::workflow::port::UserGroups;
use moka::future::Cache;
use moka::Expiry;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A failed lookup is not retried for this long.
pub const FAILURE_TTL: Duration = Duration::from_secs(30);
/// The longest one lookup may take (Slack retries included); then it counts as failed.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// The last good membership is served this long after it was fetched, while Slack fails.
pub const STALE_FOR: Duration = Duration::from_secs(15 * 60);

/// The last good membership and when it was fetched.
type LastGood = Option<(Instant, Arc<Vec<SlackUserId>>)>;

/// One lookup's result.
#[derive(Clone)]
enum Lookup {
    Members(Arc<Vec<SlackUserId>>),
    Failed,
}

/// Good answers live `ttl`, failures [`FAILURE_TTL`].
struct PerKind {
    ttl: Duration,
}

impl Expiry<(), Lookup> for PerKind {
    fn expire_after_create(&self, _: &(), value: &Lookup, _: Instant) -> Option<Duration> {
        Some(match value {
            Lookup::Members(_) => self.ttl,
            Lookup::Failed => FAILURE_TTL.min(self.ttl),
        })
    }
}

/// The approval policy with the group resolved, cached for `ttl`.
#[derive(Clone)]
pub struct Approvers {
    access: Arc<AccessConfig>,
    groups: Arc<dyn UserGroups>,
    metrics: Metrics,
    cache: Cache<(), Lookup>,
    /// The last good membership and when it was fetched (never held across an await).
    last_good: Arc<Mutex<LastGood>>,
    stale_for: Duration,
}

impl Approvers {
    pub fn new(
        access: Arc<AccessConfig>,
        groups: Arc<dyn UserGroups>,
        metrics: Metrics,
        ttl: Duration,
    ) -> Self {
        Approvers::with_stale_for(access, groups, metrics, ttl, STALE_FOR)
    }

    /// As [`new`](Self::new) with another stale window (tests).
    pub(crate) fn with_stale_for(
        access: Arc<AccessConfig>,
        groups: Arc<dyn UserGroups>,
        metrics: Metrics,
        ttl: Duration,
        stale_for: Duration,
    ) -> Self {
        let cache = Cache::builder().max_capacity(1).expire_after(PerKind { ttl }).build();
        Approvers { access, groups, metrics, cache, last_good: Arc::default(), stale_for }
    }

    /// The policy now. Fails only if the `[access]` section is invalid.
    pub async fn policy(&self) -> anyhow::Result<ApprovalPolicy> {
        let members = self.group_members().await;
        Ok(ApprovalPolicy::from_config(&self.access, &members)?)
    }

    /// How approvers are named in the request message: mentions, and the group.
    pub async fn hint(&self) -> String {
        let approvers: Vec<SlackUserId> = self
            .access
            .approvers
            .iter()
            .filter_map(|u| SlackUserId::parse(u.trim()).ok())
            .collect();
        crate::access::text::approvers_hint(&approvers, self.access.approver_group.as_deref())
    }

    async fn group_members(&self) -> Vec<SlackUserId> {
        let Some(group) = &self.access.approver_group else { return Vec::new() };
        let lookup = self.cache.get_with((), self.lookup(group)).await;
        match lookup {
            Lookup::Members(m) => m.as_ref().clone(),
            Lookup::Failed => {
                let last = self.last_good.lock().unwrap_or_else(|p| p.into_inner()).clone();
                match last {
                    Some((at, m)) if at.elapsed() <= self.stale_for => {
                        tracing::warn!(
                            age_secs = at.elapsed().as_secs(),
                            "approver group unavailable; using the last good members"
                        );
                        m.as_ref().clone()
                    }
                    _ => {
                        tracing::warn!(
                            "approver group unavailable and no recent members: only the \
                             configured approvers count (fail closed)"
                        );
                        Vec::new()
                    }
                }
            }
        }
    }

    /// One bounded lookup; a good answer also becomes the last good membership.
    async fn lookup(&self, group: &str) -> Lookup {
        match tokio::time::timeout(LOOKUP_TIMEOUT, self.groups.members(group)).await {
            Ok(Ok(ids)) => {
                let members: Arc<Vec<SlackUserId>> =
                    Arc::new(ids.iter().filter_map(|u| SlackUserId::parse(u).ok()).collect());
                *self.last_good.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), members.clone()));
                Lookup::Members(members)
            }
            Ok(Err(e)) => {
                self.metrics.slack_error(e.method, &e.code);
                tracing::warn!(code = %e.code, "could not resolve the approver group");
                Lookup::Failed
            }
            Err(_) => {
                self.metrics.slack_error("usergroups.users.list", "timeout");
                tracing::warn!("resolving the approver group timed out");
                Lookup::Failed
            }
        }
    }
}

#[cfg(test)]
#[path = "approvers_tests.rs"]
mod tests;
