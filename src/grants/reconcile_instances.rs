//! The reconciler's pass over the cluster's other instances (issue 16): a firefighter session
//! on a reader whose login holds no active grant is ended there, whatever was lost on the way
//! (a sweep timer Redis forgot, a process that died between the writer's end and the fan-out,
//! sessions left by a grant that ended while the bot could not reach the reader).
//!
//! Owns which reader sessions are entitled: exactly those whose login (the shared role, or a
//! per-person login) is the database user of an active grant. Only sessions that started
//! before the grants were read (less a margin for the clocks) can be ended: a grant issued
//! while the pass runs is never mistaken for none. Every instance is asked at once, each
//! bounded; one that does not answer is logged and asked again at the next pass.

use super::error::GrantError;
use super::instances::{end_on, INSTANCE_CALL_TIMEOUT};
use super::notify::GrantEvent;
use super::reconcile::ReconcileReport;
use super::service::{GrantService, ACTOR_SERVICE};
use crate::broker::{ActionAudit, Instance};
use crate::model::Level;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

impl GrantService {
    pub(crate) async fn reconcile_instances(
        &self,
        report: &mut ReconcileReport,
    ) -> Result<(), GrantError> {
        let list = self.instances.current();
        if list.is_empty() {
            return Ok(());
        }
        let margin = chrono::Duration::from_std(self.settings.reader_session_margin)
            .unwrap_or(chrono::Duration::zero());
        let read_at = self.now() - margin;
        let mut entitled = BTreeSet::new();
        for level in Level::ALL {
            for g in self.active_grants(level).await? {
                entitled.insert(g.db_user().to_owned());
            }
        }
        let passes = list.iter().map(|i| self.reconcile_instance(i, &entitled, read_at));
        for ended in futures::future::join_all(passes).await {
            for (addr, login, n) in ended {
                let role = format!("{login} on {addr}");
                self.emit(GrantEvent::OrphanSessionsEnded { role: &role, sessions_ended: n }).await;
                report.instance_sessions_ended.push((addr, login, n));
            }
        }
        Ok(())
    }

    /// One instance: its firefighter sessions started before `before` whose login is not
    /// `entitled` are ended. Returns `(instance, login, sessions ended)` for each login that
    /// had any.
    async fn reconcile_instance(
        &self,
        instance: &Instance,
        entitled: &BTreeSet<String>,
        before: DateTime<Utc>,
    ) -> Vec<(String, String, i32)> {
        let addr = &instance.addr;
        let listed =
            tokio::time::timeout(INSTANCE_CALL_TIMEOUT, instance.broker.instance_sessions());
        let sessions = match listed.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::warn!(instance = %addr, error = %e, "listing an instance's sessions failed");
                return Vec::new();
            }
            Err(_) => {
                tracing::warn!(instance = %addr, "instance did not answer the reconciler in time");
                return Vec::new();
            }
        };
        let orphans: BTreeSet<&str> = sessions
            .iter()
            .filter(|s| s.backend_start.is_none_or(|t| t < before))
            .map(|s| s.login.as_str())
            .filter(|login| !entitled.contains(*login))
            .collect();
        let mut ended = Vec::new();
        let audit = ActionAudit { incident: "reconcile".into(), actor: ACTOR_SERVICE.into() };
        for login in orphans {
            match end_on(instance, login, before).await {
                Ok(end) if end.sessions_ended > 0 => {
                    tracing::warn!(instance = %addr, login, sessions_ended = end.sessions_ended,
                        "ended sessions on an instance of a login without an active grant");
                    let counts = serde_json::json!({ addr.as_str(): end.sessions_ended });
                    self.record_on_writer(login, &audit, counts).await;
                    ended.push((addr.clone(), login.to_owned(), end.sessions_ended));
                }
                Ok(_) => {}
                Err(why) => tracing::warn!(instance = %addr, login, error = %why,
                    "ending sessions on an instance failed"),
            }
        }
        ended
    }
}
