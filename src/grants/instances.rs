//! Firefighter sessions on the cluster's other instances (Aurora readers, issue 16): when a
//! grant ends, its role's sessions end on every instance too, not only on the writer.
//!
//! Owns the fan-out (every instance at once, each bounded), the per-instance audit row on the
//! writer, and what an unreachable instance means here: it is logged and reported back; it never
//! stops the password from being ended on the writer (the caller did that first). Must not
//! decide who may end a grant.

use super::service::GrantService;
use crate::broker::{ActionAudit, Instance, InstanceEnd, Instances};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The longest one instance's call may take (login plus the 5 s wait of the function).
pub const INSTANCE_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What ending sessions on the other instances did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceReport {
    /// `host:port` and the sessions ended there.
    pub ended: Vec<(String, i32)>,
    /// `host:port` of the instances that could not be reached or refused.
    pub failed: Vec<String>,
}

impl InstanceReport {
    /// Sessions ended on the other instances.
    pub fn total(&self) -> i32 {
        self.ended.iter().map(|(_, n)| *n).sum()
    }
}

impl GrantService {
    /// Adds the cluster's other instances: every grant that ends, ends there too.
    pub fn with_instances(mut self, instances: Instances) -> GrantService {
        self.instances = instances;
        self
    }

    /// Shares `watch` (one heartbeat and one set of expiry metrics for all of a fleet's
    /// targets).
    pub fn with_watch(mut self, watch: std::sync::Arc<super::watch::ExpiryWatch>) -> GrantService {
        self.watch = watch;
        self
    }

    /// The cluster's other instances.
    pub fn instances(&self) -> &Instances {
        &self.instances
    }

    /// Ends `rec`'s sessions (its login's, started until now) on every other instance, and
    /// schedules a sweep of each instance that could not be reached.
    pub(crate) async fn end_elsewhere(
        &self,
        rec: &super::GrantRecord,
        audit: &ActionAudit,
    ) -> InstanceReport {
        let before = self.now();
        let report = self.end_on_instances(rec.db_user(), audit, before).await;
        if !report.failed.is_empty() {
            self.schedule_sweeps(rec, &report.failed, before).await;
        }
        report
    }

    /// Ends `role`'s sessions started before `before` on every other instance, in parallel, and
    /// records the count per instance on the writer. Never fails: a failed instance is listed.
    pub(crate) async fn end_on_instances(
        &self,
        role: &str,
        audit: &ActionAudit,
        before: DateTime<Utc>,
    ) -> InstanceReport {
        let mut report = InstanceReport::default();
        let list = self.instances.current();
        if list.is_empty() {
            return report;
        }
        let calls =
            list.iter().map(|i| async move { (i.addr.clone(), end_on(i, role, before).await) });
        let mut counts = serde_json::Map::new();
        for (addr, res) in futures::future::join_all(calls).await {
            match res {
                Ok(end) => {
                    if end.sessions_left > 0 {
                        tracing::warn!(instance = %addr, role, left = end.sessions_left,
                            "firefighter sessions still open on an instance");
                    }
                    counts.insert(addr.clone(), end.sessions_ended.into());
                    report.ended.push((addr, end.sessions_ended));
                }
                Err(why) => {
                    tracing::warn!(instance = %addr, role, error = %why,
                        "ending firefighter sessions on an instance failed");
                    counts.insert(addr.clone(), "unreachable".into());
                    report.failed.push(addr);
                }
            }
        }
        self.record_on_writer(role, audit, serde_json::Value::Object(counts)).await;
        tracing::info!(
            role,
            ended = report.total(),
            failed = report.failed.len(),
            "firefighter sessions ended on the other instances"
        );
        report
    }

    /// On the writer: one audit row with `counts` (`{"host:port": n or "unreachable"}`). Best
    /// effort: a failure is logged, never stops an ending.
    pub(crate) async fn record_on_writer(
        &self,
        role: &str,
        audit: &ActionAudit,
        counts: serde_json::Value,
    ) {
        if let Err(e) = self.broker.record_instance_sessions_ended(role, audit, &counts).await {
            tracing::warn!(role, error = %e, "recording the per-instance counts failed");
        }
    }
}

/// Ends `role`'s sessions started before `before` on `instance`, bounded by
/// [`INSTANCE_CALL_TIMEOUT`]; `Err`: why it could not (unreachable, refused, too slow).
pub(crate) async fn end_on(
    instance: &Instance,
    role: &str,
    before: DateTime<Utc>,
) -> Result<InstanceEnd, String> {
    let call = instance.broker.end_instance_sessions(role, before);
    match tokio::time::timeout(INSTANCE_CALL_TIMEOUT, call).await {
        Ok(Ok(end)) => Ok(end),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {INSTANCE_CALL_TIMEOUT:?}")),
    }
}
