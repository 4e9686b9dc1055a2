//! Extending a live grant (issue 17, `/firefighter extend`): its planned end moves later, never
//! past [`MAX_GRANT`] after it was issued; the database's VALID UNTIL moves with it (checked
//! again there, against the database's own record of the issue), then the Expire and Reminder
//! timers, then the grant document.
//!
//! Owns the order of effects, which fails safe: the database first (a refusal changes nothing);
//! if the document cannot follow, the timers go back to the old end, and the old Expire timer
//! still ends the grant then (an expire sets no password, so the later VALID UNTIL does not
//! matter). Must not decide who may extend (the caller does); no password is involved.

use super::error::GrantError;
use super::notify::GrantEvent;
use super::record::GrantRecord;
use super::service::GrantService;
use crate::access::SlackUserId;
use crate::broker::ActionAudit;
use crate::model::Level;
use chrono::{DateTime, Duration, Utc};

/// The longest a grant may run from its issue: the database's cap on a password.
pub const MAX_GRANT: Duration = Duration::hours(2);

/// The latest end an extension of `grant` may ask for.
pub fn extension_cap(grant: &GrantRecord) -> DateTime<Utc> {
    grant.granted_at + MAX_GRANT
}

impl GrantService {
    /// Moves the end of `holder`'s grant of `level` `by` later (`actor` is recorded). Refused
    /// past [`extension_cap`] ([`GrantError::BeyondCap`]) and for a grant that is not active.
    pub async fn extend(
        &self,
        level: Level,
        holder: &SlackUserId,
        by: std::time::Duration,
        actor: &str,
    ) -> Result<GrantRecord, GrantError> {
        let now = self.now();
        let all = self.load_all(level).await?;
        let Some((old, version)) =
            all.into_iter().find(|(g, _)| g.is_active(now) && g.holder == *holder)
        else {
            return Err(GrantError::NotActive);
        };
        let by = Duration::from_std(by).unwrap_or(MAX_GRANT);
        let wanted = old.expires_at + by;
        let cap = extension_cap(&old);
        if wanted > cap {
            return Err(GrantError::BeyondCap { cap });
        }
        let audit = ActionAudit { incident: old.incident.to_string(), actor: actor.to_owned() };
        let until = self.broker.extend(old.db_user(), wanted, &audit).await?;
        let mut rec = old.clone();
        rec.expires_at = wanted;
        rec.db_valid_until = until;
        self.queue.schedule_many(&rec.timers(self.settings.reminder_before, now)).await?;
        let written = self.store.cas(&rec.key(), version, &rec, self.record_ttl(&rec)).await;
        if !matches!(written, Ok(true)) {
            // The old end stands: its timers come back (the Expire timer ends the grant then).
            let _ = self.queue.schedule_many(&old.timers(self.settings.reminder_before, now)).await;
            return Err(match written {
                Err(e) => e.into(),
                _ => GrantError::Conflict,
            });
        }
        tracing::info!(grant_id = %rec.id, level = %level, incident = %rec.incident,
            expires_at = %rec.expires_at, "grant extended");
        self.emit(GrantEvent::Extended { grant: &rec, by: actor }).await;
        Ok(rec)
    }
}
