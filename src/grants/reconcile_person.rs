//! The reconciler's pass over per-person logins (`access.identity = "per_person"`): the
//! database's record of live logins (`db_admin.person_logins`) against the grant documents.
//!
//! Owns: re-creating a lost Expire timer of an active per-person grant (at the grant's own
//! `expires_at`), and ending every live login that has no active grant document or is past its
//! planned end (Redis lost the grant, a process died between creating and recording, a timer
//! was lost past its end). Sessions end before the login is dropped (`end_person_login`). Runs
//! whatever `access.identity` says now: logins left by a switch of identity are ended too.

use super::error::GrantError;
use super::notify::GrantEvent;
use super::reconcile::ReconcileReport;
use super::record::GrantRecord;
use super::service::{GrantService, ACTOR_SERVICE};
use crate::model::Level;
use crate::timers::{Timer, TimerKind};

/// A login is past its planned end when the database's clock passed it by this much (the two
/// clocks may disagree by a little; the Expire timer is the punctual path).
const PAST_END_MARGIN_SECS: i64 = 60;

impl GrantService {
    pub(crate) async fn reconcile_person_logins(
        &self,
        report: &mut ReconcileReport,
    ) -> Result<(), GrantError> {
        let mut grants: Vec<GrantRecord> = Vec::new();
        for level in Level::ALL {
            let all = self.load_all(level).await?;
            grants.extend(all.into_iter().map(|(g, _)| g).filter(|g| g.login.is_some()));
        }
        let now = self.now();
        for g in grants.iter().filter(|g| g.is_active(now)) {
            let login = g.db_user();
            if !self.queue.has_pending_expire(login).await? {
                let timer =
                    Timer::new(g.expire_timer_id(), TimerKind::Expire, g.expires_at, g.payload());
                self.queue.schedule(&timer).await?;
                tracing::warn!(grant_id = %g.id, login, due = %g.expires_at,
                    "re-created a lost expiry timer of a per-person grant");
                self.emit(GrantEvent::Restored { role: login, expires_at: g.expires_at }).await;
                report.restored.push((login.to_owned(), g.expires_at));
            }
        }
        let margin = chrono::Duration::seconds(PAST_END_MARGIN_SECS);
        for row in self.broker.person_logins(false).await? {
            let granted =
                grants.iter().any(|g| g.login.as_deref() == Some(&row.login) && g.is_active(now));
            if granted && row.planned_end + margin > now {
                continue;
            }
            let end = self.broker.end_person_login(&row.login, ACTOR_SERVICE).await?;
            tracing::warn!(login = %row.login, granted, planned_end = %row.planned_end,
                outcome = %end.outcome, sessions_ended = end.sessions_ended,
                "ended a per-person login without an active grant or past its end");
            if end.sessions_ended > 0 {
                let sessions_ended = end.sessions_ended;
                self.emit(GrantEvent::OrphanSessionsEnded { role: &row.login, sessions_ended })
                    .await;
            }
            report.person_logins_ended.push((row.login, end.sessions_ended));
        }
        Ok(())
    }
}
