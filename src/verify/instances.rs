//! Issue 16: a report's open firefighter sessions include those on the cluster's other
//! instances (Aurora readers): each is asked at once through `db_admin.instance_firefighter_
//! sessions()`, bounded; one that does not answer is named in the report instead.
//!
//! Owns the merge into [`Report`]; reading the instances is the broker's. Must not change
//! anything on any instance.

use super::catalog::Session;
use super::report::Report;
use crate::broker::Instances;
use std::time::Duration;

/// The longest one instance may take to list its sessions.
pub const INSTANCE_LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// Adds the open firefighter sessions of every instance in `instances` to `report`.
pub async fn add_instance_sessions(report: &mut Report, instances: &Instances) {
    let list = instances.current();
    let calls = list.iter().map(|i| async move {
        let listed = tokio::time::timeout(INSTANCE_LIST_TIMEOUT, i.broker.instance_sessions());
        (i.addr.clone(), listed.await)
    });
    for (addr, listed) in futures::future::join_all(calls).await {
        match listed {
            Ok(Ok(sessions)) => report.sessions.extend(sessions.into_iter().map(|s| Session {
                pid: s.pid,
                role: s.login,
                client_addr: s.client_addr,
                since: s.backend_start,
                state: s.state,
                instance: Some(addr.clone()),
            })),
            Ok(Err(e)) => {
                tracing::warn!(instance = %addr, error = %e, "listing an instance's sessions failed");
                report.unreachable_instances.push(addr);
            }
            Err(_) => {
                tracing::warn!(instance = %addr, "instance did not list its sessions in time");
                report.unreachable_instances.push(addr);
            }
        }
    }
    report.summary.open_firefighter_sessions = report.sessions.len();
}
