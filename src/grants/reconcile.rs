//! The reconciler and the status report: the database is the truth for what is live, Redis says
//! when to act.
//!
//! Owns: re-creating a lost Expire timer for a firefighter role whose `VALID UNTIL` is still
//! ahead (or whose grant document has no timer; without the document, at the grant's planned
//! end recorded in its audit row, else at `VALID UNTIL`), expiring the password of and ending
//! sessions of roles that hold no active grant, and expiring grants whose password was never
//! delivered (the issuing process died: the plaintext died with it). At a process's first pass
//! an undelivered grant of another instance is ended at once; later, any undelivered grant
//! older than the delivery deadline.
//! A password without a bounded `VALID UNTIL` (NULL, infinity, or beyond the 2-hour cap: the
//! bot never sets one) is live, and is expired at once (I11-7). Must not issue passwords, and
//! never reads one (the database only has verifiers).

use super::error::GrantError;
use super::notify::GrantEvent;
use super::record::{restored_timer_id, Ending, GrantRecord};
use super::service::{GrantService, ACTOR_SERVICE};
use crate::broker::ActionAudit;
use crate::model::Level;
use crate::timers::{Timer, TimerKind, TimerPayload};
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

/// What one reconcile pass changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Roles whose Expire timer was re-created, with its due time.
    pub restored: Vec<(String, DateTime<Utc>)>,
    /// Roles whose sessions were ended because no grant was active, with the count.
    pub orphan_sessions_ended: Vec<(String, i32)>,
    /// Roles whose grant was expired because its password was never delivered.
    pub undelivered_ended: Vec<String>,
    /// Roles whose password was expired because its `VALID UNTIL` was unbounded (NULL,
    /// infinity) or beyond the cap.
    pub unbounded_expired: Vec<String>,
    /// Per-person logins ended because no active grant names them or they are past their end,
    /// with the sessions ended.
    pub person_logins_ended: Vec<(String, i32)>,
    /// Sessions ended on another instance (`host:port`, login, count) whose login held no
    /// active grant.
    pub instance_sessions_ended: Vec<(String, String, i32)>,
}

impl ReconcileReport {
    pub fn is_empty(&self) -> bool {
        self.restored.is_empty()
            && self.orphan_sessions_ended.is_empty()
            && self.undelivered_ended.is_empty()
            && self.unbounded_expired.is_empty()
            && self.person_logins_ended.is_empty()
            && self.instance_sessions_ended.is_empty()
    }
}

/// One firefighter role as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStatus {
    pub level: Level,
    pub role: String,
    /// `VALID UNTIL` (`None`: no limit or NULL).
    pub valid_until: Option<DateTime<Utc>>,
    pub sessions: usize,
}

/// Active grants, pending timers and the roles' state, for `pgroles status`.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub now: DateTime<Utc>,
    pub grants: Vec<GrantRecord>,
    pub timers: Vec<Timer>,
    /// Empty with `database_error` set when PostgreSQL could not be read.
    pub roles: Vec<RoleStatus>,
    pub database_error: Option<String>,
}

impl GrantService {
    /// One pass over both firefighter roles (see the module docs). Fails if PostgreSQL or
    /// Redis cannot be read; the worker retries on its next period.
    pub async fn reconcile(&self) -> Result<ReconcileReport, GrantError> {
        let mut report = ReconcileReport::default();
        let first_pass = !self.reconciled_once.load(std::sync::atomic::Ordering::SeqCst);
        for level in Level::ALL {
            self.end_if_undelivered(level, first_pass, &mut report).await?;
        }
        self.reconciled_once.store(true, std::sync::atomic::Ordering::SeqCst);
        let sessions = self.broker.sessions().await?;
        for level in Level::ALL {
            let now = self.now();
            let role = self.names().firefighter(level);
            let mut valid_until = self.broker.role_valid_until(level).await?;
            if unbounded(valid_until, now) {
                let audit =
                    ActionAudit { incident: "reconcile".into(), actor: ACTOR_SERVICE.into() };
                self.broker.expire(level, &audit).await?;
                tracing::warn!(role = %role, level = %level, valid_until = ?valid_until,
                    "expired a password whose VALID UNTIL was unbounded or beyond the cap");
                report.unbounded_expired.push(role.clone());
                valid_until = Some(DateTime::UNIX_EPOCH);
            }
            let live = valid_until.is_some_and(|t| t > now);
            let record = self.load(level).await?.map(|(g, _)| g);
            if !self.queue.has_pending_expire(&role).await? {
                let due = match (&record, valid_until.filter(|_| live)) {
                    (Some(g), Some(vu)) => Some(g.expires_at.min(vu)),
                    (Some(g), None) => Some(g.expires_at.min(now)),
                    // Redis lost the grant: its planned end is in the audit row.
                    (None, Some(vu)) => {
                        let planned = self.broker.planned_end(level).await?;
                        Some(planned.map_or(vu, |end| end.min(vu)))
                    }
                    (None, None) => None,
                };
                if let Some(due) = due {
                    let timer = restore_timer(&role, level, record.as_ref(), due);
                    self.queue.schedule(&timer).await?;
                    tracing::warn!(role = %role, level = %level, timer_id = %timer.id,
                        due = %due, "re-created a lost expiry timer");
                    self.emit(GrantEvent::Restored { role: &role, expires_at: due }).await;
                    report.restored.push((role.clone(), due));
                }
            }
            let open = sessions.iter().filter(|s| s.level == Some(level)).count();
            let granted = record.as_ref().is_some_and(|g| g.is_active(now));
            if !live && !granted && open > 0 {
                let audit =
                    ActionAudit { incident: "reconcile".into(), actor: ACTOR_SERVICE.into() };
                // The password ended at its VALID UNTIL (the grant's planned end) with nobody
                // to expire it: clear it too, so the role is left as an expiry leaves it.
                self.broker.expire(level, &audit).await?;
                let ended = self.broker.terminate_sessions(level, &audit).await?;
                tracing::warn!(role = %role, level = %level, sessions_ended = ended,
                    "ended sessions of a role without an active grant");
                self.emit(GrantEvent::OrphanSessionsEnded { role: &role, sessions_ended: ended })
                    .await;
                report.orphan_sessions_ended.push((role, ended));
            }
        }
        self.reconcile_person_logins(&mut report).await?;
        self.reconcile_instances(&mut report).await?;
        Ok(report)
    }

    /// Ends the grant of `level` if its password was never delivered and its issuer is gone
    /// (another instance, at this process's first pass) or overdue (past the delivery deadline).
    async fn end_if_undelivered(
        &self,
        level: Level,
        first_pass: bool,
        report: &mut ReconcileReport,
    ) -> Result<(), GrantError> {
        for (rec, _) in self.load_all(level).await? {
            if rec.delivered {
                continue;
            }
            let age = (self.now() - rec.granted_at).to_std().unwrap_or_default();
            let orphaned = first_pass && rec.issuer != self.instance;
            if !orphaned && age < self.settings.delivery_deadline {
                continue;
            }
            let reason = "the password was never delivered (the bot stopped while delivering it)";
            tracing::warn!(grant_id = %rec.id, level = %level, issuer = %rec.issuer,
                "expiring an undelivered grant");
            self.end_grant(&rec, Ending::DeliveryFailed { reason }, ACTOR_SERVICE, None).await?;
            report.undelivered_ended.push(rec.db_user().to_owned());
        }
        Ok(())
    }

    /// Active grants and pending timers from Redis, and the roles from PostgreSQL (if it can be
    /// reached: a database outage is reported in the status, not as an error).
    pub async fn status(&self) -> Result<Status, GrantError> {
        let now = self.now();
        let mut grants = Vec::new();
        for level in Level::ALL {
            grants.extend(self.load_all(level).await?.into_iter().map(|(g, _)| g));
        }
        let timers = self.queue.pending().await?;
        let mut status = Status { now, grants, timers, roles: Vec::new(), database_error: None };
        match self.roles().await {
            Ok(roles) => status.roles = roles,
            Err(e) => status.database_error = Some(e.to_string()),
        }
        Ok(status)
    }

    async fn roles(&self) -> Result<Vec<RoleStatus>, GrantError> {
        let sessions = self.broker.sessions().await?;
        let mut out = Vec::new();
        for level in Level::ALL {
            out.push(RoleStatus {
                level,
                role: self.names().firefighter(level),
                valid_until: self.broker.role_valid_until(level).await?,
                sessions: sessions.iter().filter(|s| s.level == Some(level)).count(),
            });
        }
        Ok(out)
    }
}

/// Whether `VALID UNTIL` (`None`: NULL or infinity) lets a password live longer than the
/// broker's cap (2 hours, plus a minute for clock skew) from `now`. Such a password was not set
/// by the bot; a NULL one may also be a role that never had a password (expiring it is
/// harmless: it has none, and it then reads as expired).
fn unbounded(valid_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let cap = chrono::Duration::seconds(crate::model::expected::MAX_FIREFIGHTER_VALIDITY_SECS + 60);
    valid_until.is_none_or(|t| t > now + cap)
}

/// The Expire timer for a live role: the grant's own id if its document survived.
fn restore_timer(
    role: &str,
    level: Level,
    record: Option<&GrantRecord>,
    due: DateTime<Utc>,
) -> Timer {
    match record {
        Some(g) => Timer::new(g.expire_timer_id(), TimerKind::Expire, due, g.payload()),
        None => Timer::new(
            restored_timer_id(role),
            TimerKind::Expire,
            due,
            TimerPayload {
                role: Some(role.to_owned()),
                level: Some(level.as_str().to_owned()),
                incident: Some("reconcile".into()),
                ..TimerPayload::default()
            },
        ),
    }
}

impl std::fmt::Display for Status {
    /// Human-readable status for `pgroles status`. Holds no secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        let _ = writeln!(out, "Now: {}", self.now.to_rfc3339());
        if self.grants.is_empty() {
            let _ = writeln!(out, "Grants: none");
        } else {
            let _ = writeln!(out, "Grants:");
            for g in &self.grants {
                let state = if g.is_active(self.now) { "active" } else { "ending" };
                let _ = writeln!(
                    out,
                    "  {} {} ({state}): holder {}, incident {}, expires {}, database cap {}, id {}",
                    g.level,
                    g.db_user(),
                    g.holder,
                    g.incident,
                    crate::access::text::format_expiry(g.expires_at, self.now),
                    g.db_valid_until.to_rfc3339(),
                    g.id
                );
            }
        }
        if self.timers.is_empty() {
            let _ = writeln!(out, "Pending timers: none");
        } else {
            let _ = writeln!(out, "Pending timers:");
            for t in &self.timers {
                let _ = writeln!(
                    out,
                    "  {} {} due {}",
                    t.kind.as_str(),
                    t.id,
                    crate::access::text::format_expiry(t.due_at, self.now)
                );
            }
        }
        match &self.database_error {
            Some(e) => {
                let _ = writeln!(out, "Database: {e}");
            }
            None => {
                let _ = writeln!(out, "Database roles:");
                for r in &self.roles {
                    let until = match r.valid_until {
                        Some(t) if t > self.now => format!("valid until {}", t.to_rfc3339()),
                        Some(_) => "expired".to_owned(),
                        None => "no VALID UNTIL".to_owned(),
                    };
                    let _ = writeln!(
                        out,
                        "  {} {}: {until}, {} open sessions",
                        r.level, r.role, r.sessions
                    );
                }
            }
        }
        f.write_str(out.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_infinity_and_beyond_the_cap_are_unbounded() {
        let now = Utc::now();
        assert!(unbounded(None, now));
        assert!(unbounded(Some(now + chrono::Duration::hours(3)), now));
        assert!(unbounded(Some(now + chrono::Duration::minutes(122)), now));
        assert!(!unbounded(Some(now + chrono::Duration::minutes(120)), now));
        assert!(!unbounded(Some(DateTime::UNIX_EPOCH), now));
    }
}
