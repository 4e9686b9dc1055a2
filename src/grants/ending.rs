//! How a grant ends: expire the password, end its sessions, forget the document and timers,
//! tell the notifier; plus the undo paths of `issue` (delivery failed, Redis failed after the
//! password was set, the broker refused).
//!
//! Owns the order "database first, then Redis": the password dies before the document that
//! describes it goes, so a failure in between leaves a document and a timer that retry, never a
//! live password nobody tracks. Must not decide who may end a grant (the caller does).

use super::error::GrantError;
use super::notify::GrantEvent;
use super::record::{Ending, GrantRecord};
use super::service::{GrantService, ACTOR_SERVICE};
use crate::access::activity::PersonActivity;
use crate::broker::activity::DEFAULT_TOP_STATEMENTS;
use crate::broker::{ActionAudit, TempPassword};

/// The longest an ending waits for the login's activity summary.
const ACTIVITY_READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

impl GrantService {
    /// Delivers the password; on failure expires the grant at once and emits DeliveryFailed.
    pub(crate) async fn deliver_or_expire(
        &self,
        rec: &GrantRecord,
        password: TempPassword,
    ) -> Result<(), GrantError> {
        let result = self.notifier.deliver(rec, &password).await;
        let Err(e) = result else {
            return Ok(());
        };
        // Defence in depth: a notifier error must not echo the password.
        let reason =
            crate::broker::error::scrub(&format!("{e:#}"), &[password.expose_for_delivery()]);
        drop(password);
        tracing::warn!(grant_id = %rec.id, level = %rec.level, incident = %rec.incident,
            reason = %reason, "delivery failed; expiring the password at once");
        if let Err(err) = self
            .end_grant(rec, Ending::DeliveryFailed { reason: &reason }, ACTOR_SERVICE, None)
            .await
        {
            tracing::error!(grant_id = %rec.id, level = %rec.level, error = %err,
                "expiring after a failed delivery failed; the Expire timer will retry");
        }
        Err(GrantError::DeliveryFailed(reason))
    }

    /// After the password was set, something failed: expire it and forget the grant.
    pub(crate) async fn fail_closed(&self, rec: &GrantRecord, why: &str) {
        tracing::warn!(grant_id = %rec.id, level = %rec.level, incident = %rec.incident, why,
            "failing closed: expiring the password at once");
        let audit = ActionAudit { incident: rec.incident.to_string(), actor: ACTOR_SERVICE.into() };
        if let Err(e) = self.end_credential(rec, &audit).await {
            tracing::error!(grant_id = %rec.id, error = %e,
                "could not expire after a failure; the Expire timer or the database cap will");
            return;
        }
        self.forget(rec, None).await;
    }

    /// Gives the level back after the broker refused: the previous grant (takeover) or nothing.
    pub(crate) async fn undo_reservation(
        &self,
        rec: &GrantRecord,
        version: u64,
        previous: Option<&GrantRecord>,
    ) {
        let key = rec.key();
        let undone = match previous {
            Some(prev) => self.store.cas(&key, version, prev, self.record_ttl(prev)).await,
            None => self.store.delete_if(&key, version).await,
        };
        if let Err(e) = undone {
            tracing::warn!(grant_id = %rec.id, error = %e, "could not release the level");
        }
        self.cancel_timers(rec, None).await;
    }

    /// Expires the password, ends the sessions, forgets the grant, emits the ending's event.
    /// `handling` is the id of a timer being handled (not cancelled: its ack removes it).
    pub(crate) async fn end_grant(
        &self,
        rec: &GrantRecord,
        ending: Ending<'_>,
        actor: &str,
        handling: Option<&str>,
    ) -> Result<i32, GrantError> {
        let audit = ActionAudit { incident: rec.incident.to_string(), actor: actor.to_owned() };
        // What the login did, read while it still exists (its record goes with it).
        let activity = match ending {
            Ending::DeliveryFailed { .. } => None,
            _ => self.activity_of(rec).await,
        };
        let ended = self.end_credential(rec, &audit).await?;
        if handling.is_some() && matches!(ending, Ending::Expired) {
            self.watch.expired(rec.expires_at, self.now());
        }
        // Issue 16: the other instances too; one that fails is swept later, the writer's end
        // stands.
        let elsewhere = self.end_elsewhere(rec, &audit).await;
        let ended = ended + elsewhere.total();
        self.forget(rec, handling).await;
        tracing::info!(grant_id = %rec.id, level = %rec.level, incident = %rec.incident, actor,
            login = rec.login.as_deref().unwrap_or("-"), sessions_ended = ended, "grant ended");
        let event = match ending {
            Ending::Expired | Ending::Overdue => GrantEvent::Expired {
                grant: rec,
                sessions_ended: ended,
                activity: activity.as_ref(),
            },
            Ending::Revoked { by } => GrantEvent::Revoked {
                grant: rec,
                by,
                sessions_ended: ended,
                activity: activity.as_ref(),
            },
            Ending::DeliveryFailed { reason } => GrantEvent::DeliveryFailed { grant: rec, reason },
        };
        self.emit(event).await;
        if !elsewhere.failed.is_empty() {
            let instances = &elsewhere.failed;
            self.emit(GrantEvent::InstancesUnreachable { grant: rec, instances }).await;
        }
        Ok(ended)
    }

    /// A per-person login's activity for the ending note, best effort and bounded: an ending
    /// never waits on it for long nor fails because of it.
    async fn activity_of(&self, rec: &GrantRecord) -> Option<PersonActivity> {
        let login = rec.login.as_deref()?;
        let read = self.broker.person_activity(login, DEFAULT_TOP_STATEMENTS);
        match tokio::time::timeout(ACTIVITY_READ_LIMIT, read).await {
            Ok(Ok(activity)) => Some(activity),
            Ok(Err(e)) => {
                tracing::info!(grant_id = %rec.id, error = %e, "no activity for the ending note");
                None
            }
            Err(_) => {
                tracing::warn!(grant_id = %rec.id, "reading the activity took too long; skipped");
                None
            }
        }
    }

    /// Deletes the grant document if it still names `rec` (a newer grant stays), and cancels
    /// the grant's timers except `keep`. Redis failures are logged: the timer retries.
    pub(crate) async fn forget(&self, rec: &GrantRecord, keep: Option<&str>) {
        let key = rec.key();
        match self.store.get::<GrantRecord>(&key).await {
            Ok(Some((cur, v))) if cur.id == rec.id => {
                if let Err(e) = self.store.delete_if(&key, v).await {
                    tracing::warn!(grant_id = %rec.id, error = %e, "deleting the grant failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(grant_id = %rec.id, error = %e, "reading the grant failed"),
        }
        self.cancel_timers(rec, keep).await;
    }

    /// Cancels a grant's Expire and Reminder timers (best effort), except `keep`.
    pub(crate) async fn cancel_timers(&self, rec: &GrantRecord, keep: Option<&str>) {
        for id in [rec.expire_timer_id(), rec.reminder_timer_id()] {
            if keep == Some(id.as_str()) {
                continue;
            }
            if let Err(e) = self.queue.cancel(&id).await {
                tracing::warn!(grant_id = %rec.id, timer_id = %id, error = %e,
                    "cancelling a timer failed");
            }
        }
    }

    /// Tells the notifier; its errors are logged, never fatal.
    pub(crate) async fn emit(&self, event: GrantEvent<'_>) {
        let name = event.name();
        if let Err(e) = self.notifier.notify(event).await {
            tracing::warn!(event = name, error = %format!("{e:#}"), "notifying failed");
        }
    }
}
