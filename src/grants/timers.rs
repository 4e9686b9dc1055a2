//! The timer handlers of grants: Expire (end the grant it names) and Reminder (Sweep is
//! `sweep`'s).
//!
//! Owns what a fired timer means for a grant. Handlers are idempotent (timers are delivered at
//! least once): a timer acts only on the grant it names, so an old timer never ends a newer grant
//! of the same level, and a re-run after the grant ended changes nothing. An `Err` means "retry
//! later" (PostgreSQL or Redis down); it never carries a secret.

use super::error::GrantError;
use super::notify::GrantEvent;
use super::record::{payload_key, payload_level, Ending, GrantRecord};
use super::service::{GrantService, ACTOR_TIMER};
use crate::broker::ActionAudit;
use crate::model::Level;
use crate::timers::{Timer, TimerKind};
use chrono::{DateTime, Duration, Utc};

/// What [`GrantService::handle_timer`] did with a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerOutcome {
    /// Done (including "nothing left to do"): ack it.
    Handled,
    /// Not a grant timer (an approval timeout): the bot's handler takes it.
    NotMine,
}

impl GrantService {
    /// Runs one fired timer. `Err` leaves it for a retry after its lease.
    pub async fn handle_timer(&self, timer: &Timer) -> Result<TimerOutcome, GrantError> {
        match timer.kind {
            TimerKind::ApprovalTimeout | TimerKind::BreakGlassReview => Ok(TimerOutcome::NotMine),
            TimerKind::Reminder => self.on_reminder(timer).await,
            TimerKind::Expire => self.on_expire(timer).await,
            TimerKind::Sweep => self.on_sweep(timer).await,
        }
    }

    fn timer_level(&self, timer: &Timer) -> Option<Level> {
        let level = payload_level(&timer.payload, self.names());
        if level.is_none() {
            tracing::warn!(timer_id = %timer.id, "grant timer names no level; dropping it");
        }
        level
    }

    async fn on_reminder(&self, timer: &Timer) -> Result<TimerOutcome, GrantError> {
        let Some(level) = self.timer_level(timer) else {
            return Ok(TimerOutcome::Handled);
        };
        let key = payload_key(&timer.payload, level);
        if let Some((rec, _)) = self.store.get::<GrantRecord>(&key).await? {
            if Some(rec.id.as_str()) == timer.payload.grant_id.as_deref()
                && rec.is_active(self.now())
            {
                self.emit(GrantEvent::Reminder { grant: &rec }).await;
            }
        }
        Ok(TimerOutcome::Handled)
    }

    async fn on_expire(&self, timer: &Timer) -> Result<TimerOutcome, GrantError> {
        let Some(level) = self.timer_level(timer) else {
            return Ok(TimerOutcome::Handled);
        };
        let named = timer.payload.grant_id.as_deref();
        let key = payload_key(&timer.payload, level);
        match self.store.get::<GrantRecord>(&key).await? {
            Some((rec, _)) if Some(rec.id.as_str()) == named => {
                match self.end_grant(&rec, Ending::Expired, ACTOR_TIMER, Some(&timer.id)).await {
                    Ok(_) => Ok(TimerOutcome::Handled),
                    Err(e) => {
                        if e.is_unavailable() {
                            self.expiry_delayed(&rec, &e).await;
                        }
                        Err(e)
                    }
                }
            }
            Some((rec, _)) => {
                // A newer grant owns the role now; its own timer ends it.
                tracing::info!(timer_id = %timer.id, grant_id = %rec.id, level = %level,
                    "expiry timer of a superseded grant; nothing to do");
                Ok(TimerOutcome::Handled)
            }
            None if timer.payload.slot.is_some() => self.end_unrecorded_login(timer).await,
            None => self.expire_unrecorded(level, timer).await,
        }
    }

    /// No grant document: the grant already ended (this is a re-run), or Redis lost it. The
    /// database decides: a live password is expired and open sessions end; else nothing happens.
    async fn expire_unrecorded(
        &self,
        level: Level,
        timer: &Timer,
    ) -> Result<TimerOutcome, GrantError> {
        // `expire_firefighter_password` sets VALID UNTIL to the epoch: that marks "expired by
        // us" independently of any clock. Anything else (ahead, behind, no limit) is expired.
        let valid_until = self.broker.role_valid_until(level).await?;
        let expired_marker = DateTime::<Utc>::UNIX_EPOCH + Duration::days(1);
        let live = valid_until.is_none_or(|t| t > expired_marker);
        let open = self.broker.sessions().await?.iter().filter(|s| s.level == Some(level)).count();
        if !live && open == 0 {
            tracing::debug!(timer_id = %timer.id, level = %level, "already expired");
            return Ok(TimerOutcome::Handled);
        }
        let audit = ActionAudit {
            incident: timer.payload.incident.clone().unwrap_or_default(),
            actor: ACTOR_TIMER.into(),
        };
        if live {
            self.broker.expire(level, &audit).await?;
        }
        let ended = self.broker.terminate_sessions(level, &audit).await?;
        let role = self.names().firefighter(level);
        tracing::warn!(timer_id = %timer.id, level = %level, sessions_ended = ended,
            "expired a role whose grant record was lost");
        if ended > 0 {
            self.emit(GrantEvent::OrphanSessionsEnded { role: &role, sessions_ended: ended }).await;
        }
        Ok(TimerOutcome::Handled)
    }

    /// No per-person grant document: the grant ended already (a re-run), or Redis lost it. A
    /// login the timer names that the database still records as live is ended.
    async fn end_unrecorded_login(&self, timer: &Timer) -> Result<TimerOutcome, GrantError> {
        let Some(login) = timer.payload.role.as_deref() else {
            return Ok(TimerOutcome::Handled);
        };
        let live = self.broker.person_logins(false).await?;
        if !live.iter().any(|r| r.login == login) {
            tracing::debug!(timer_id = %timer.id, "per-person login already ended");
            return Ok(TimerOutcome::Handled);
        }
        let end = self.broker.end_person_login(login, ACTOR_TIMER).await?;
        tracing::warn!(timer_id = %timer.id, login, sessions_ended = end.sessions_ended,
            "ended a per-person login whose grant record was lost");
        if end.sessions_ended > 0 {
            let sessions_ended = end.sessions_ended;
            self.emit(GrantEvent::OrphanSessionsEnded { role: login, sessions_ended }).await;
        }
        Ok(TimerOutcome::Handled)
    }

    /// Emits ExpiryDelayed at most once per grant per `delayed_notice_every` (across replicas;
    /// if Redis cannot tell, it is emitted anyway).
    async fn expiry_delayed(&self, rec: &GrantRecord, err: &GrantError) {
        let key = format!("grant:delayed:{}", rec.id);
        let first = self
            .store
            .put_pointer(&key, "1", self.settings.delayed_notice_every)
            .await
            .unwrap_or(true);
        tracing::warn!(grant_id = %rec.id, level = %rec.level, incident = %rec.incident,
            error = %err, "expiry failed; it will be retried");
        if first {
            let reason = err.to_string();
            self.emit(GrantEvent::ExpiryDelayed { grant: rec, reason: &reason }).await;
        }
    }
}
