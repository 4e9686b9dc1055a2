//! The grant service: issue (fail closed), resend (rotate for the holder), revoke, expire now.
//!
//! Owns the order of effects that keeps a password from outliving its expiry: timers, then the
//! grant document, then the password, then delivery; and the undo of each step when a later one
//! fails. Must not check who may approve or revoke (the caller does), and never logs, stores or
//! returns the password (only [`Notifier::deliver`] receives it).

use super::error::GrantError;
use super::notify::{GrantEvent, Notifier};
use super::record::{grant_key, Credential, Ending, GrantRecord, GrantSettings, IssueRequest};
use super::watch::ExpiryWatch;
use crate::access::SlackUserId;
use crate::broker::{ActionAudit, Broker, IssueAudit};
use crate::model::{Level, Names};
use crate::timers::{Clock, DocStore, TimerQueue};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Actor written to the audit table for automatic actions of the service.
pub(crate) const ACTOR_SERVICE: &str = "pgroles";
/// Actor of the Expire timer.
pub(crate) const ACTOR_TIMER: &str = "timer";

/// Issues and ends firefighter grants. Share it behind an `Arc`.
pub struct GrantService {
    pub(crate) broker: Broker,
    pub(crate) queue: TimerQueue,
    pub(crate) store: DocStore,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: GrantSettings,
    /// This process's id, written into the grants it issues.
    pub(crate) instance: String,
    /// Set after the first reconcile pass of this process.
    pub(crate) reconciled_once: std::sync::atomic::AtomicBool,
    /// Heartbeat and expiry telemetry (read by `/readyz` and `/metrics`).
    pub(crate) watch: Arc<ExpiryWatch>,
    /// The cluster's other instances (issue 16; empty: the writer only).
    pub(crate) instances: crate::broker::Instances,
}

impl std::fmt::Debug for GrantService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantService")
            .field("broker", &self.broker)
            .field("queue", &self.queue)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl GrantService {
    pub fn new(
        broker: Broker,
        queue: TimerQueue,
        store: DocStore,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        settings: GrantSettings,
    ) -> GrantService {
        GrantService {
            broker,
            queue,
            store,
            notifier,
            clock,
            settings,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            reconciled_once: std::sync::atomic::AtomicBool::new(false),
            watch: Arc::new(ExpiryWatch::default()),
            instances: crate::broker::Instances::default(),
        }
    }

    pub fn names(&self) -> &Names {
        self.broker.names()
    }

    pub fn settings(&self) -> &GrantSettings {
        &self.settings
    }

    pub fn queue(&self) -> &TimerQueue {
        &self.queue
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// The worker's heartbeat and the expiry telemetry of this process.
    pub fn watch(&self) -> &Arc<ExpiryWatch> {
        &self.watch
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The grant document of `level` and its version, active or not.
    pub(crate) async fn load(
        &self,
        level: Level,
    ) -> Result<Option<(GrantRecord, u64)>, GrantError> {
        Ok(self.store.get::<GrantRecord>(&grant_key(level)).await?)
    }

    /// The active grant of `level` at its shared key, if any (the shared identity's one grant;
    /// see [`GrantService::active_grants`] for every identity).
    pub async fn active(&self, level: Level) -> Result<Option<GrantRecord>, GrantError> {
        let now = self.now();
        Ok(self.load(level).await?.map(|(g, _)| g).filter(|g| g.is_active(now)))
    }

    /// TTL of a grant document: past both ends of the grant, plus the safety margin.
    pub(crate) fn record_ttl(&self, rec: &GrantRecord) -> Duration {
        let end = rec.expires_at.max(rec.db_valid_until);
        let left = (end - self.now()).to_std().unwrap_or(Duration::ZERO);
        left.saturating_add(self.settings.record_margin)
    }

    /// Issues a grant. Redis is checked first (fail closed): if it cannot be reached, no password
    /// is set. A held level is refused unless `req.takeover`. The password is set only after the
    /// Expire timer and the grant document are written, and expired again if delivery fails.
    pub async fn issue(&self, req: IssueRequest) -> Result<GrantRecord, GrantError> {
        if self.settings.per_person() {
            return self.issue_person(req).await;
        }
        let level = req.level;
        let key = grant_key(level);
        let now = self.now();
        // Reading the current grant is also the "Redis is reachable" check.
        let mut existing = self.load(level).await?;
        if let Some((old, _)) = &existing {
            if old.is_active(now) {
                if !req.takeover {
                    return Err(GrantError::Held(Box::new(old.clone())));
                }
            } else {
                // Its Expire timer lags behind: end it first, so its sessions end with it.
                self.end_grant(old, Ending::Overdue, ACTOR_TIMER, None).await?;
                existing = None;
            }
        }
        let rec = new_record(&req, self.names(), &self.instance, now)?;

        // 1. Expiry first: the timers exist before the document and the password.
        let timers = rec.timers(self.settings.reminder_before, now);
        self.queue.schedule_many(&timers).await?;
        // 2. Reserve the level (compare-and-swap on the document).
        let ttl = self.record_ttl(&rec);
        let written = match &existing {
            None => self.store.put_new(&key, &rec, ttl).await,
            Some((_, v)) => self.store.cas(&key, *v, &rec, ttl).await,
        };
        let version = match written {
            Ok(true) => existing.as_ref().map_or(1, |(_, v)| v + 1),
            Ok(false) => {
                self.cancel_timers(&rec, None).await;
                return Err(match self.load(level).await {
                    Ok(Some((g, _))) if g.is_active(now) && !req.takeover => {
                        GrantError::Held(Box::new(g))
                    }
                    _ => GrantError::Conflict,
                });
            }
            Err(e) => {
                self.cancel_timers(&rec, None).await;
                return Err(e.into());
            }
        };
        // 3. The password.
        let audit = issue_audit(&rec);
        let issued = match self.broker.issue(level, database_end(&rec, now), &audit).await {
            Ok(issued) => issued,
            Err(e) => {
                tracing::warn!(grant_id = %rec.id, level = %level, incident = %rec.incident,
                    error = %e, "issuing the password failed; releasing the level");
                self.undo_reservation(&rec, version, existing.as_ref().map(|(g, _)| g)).await;
                return Err(e.into());
            }
        };
        // 4. Record the database's cap (else fail closed), 5. a takeover ends the previous
        // holder's access, 6. deliver.
        let credential =
            Credential { password: issued.password, db_valid_until: issued.db_valid_until };
        let previous = existing.as_ref().map(|(g, _)| g);
        self.record_and_deliver(rec, version, credential, previous).await
    }

    /// A takeover: the previous holder's timers and open sessions go, and they are told.
    /// Sessions belong to the role, not the person: left open, the previous holder would keep
    /// access until the new grant ends.
    pub(crate) async fn take_over(&self, previous: &GrantRecord, by: &GrantRecord) {
        self.cancel_timers(previous, None).await;
        let audit =
            ActionAudit { incident: previous.incident.to_string(), actor: "takeover".into() };
        if let Err(e) = self.broker.terminate_sessions(previous.level, &audit).await {
            tracing::warn!(grant_id = %previous.id, level = %previous.level, error = %e,
                "ending the previous holder's sessions failed");
        }
        // On the readers too (before the new holder has the password: every session there is
        // the previous holder's).
        let elsewhere = self.end_elsewhere(previous, &audit).await;
        self.emit(GrantEvent::TakenOver { previous, by }).await;
        if !elsewhere.failed.is_empty() {
            let instances = &elsewhere.failed;
            self.emit(GrantEvent::InstancesUnreachable { grant: previous, instances }).await;
        }
    }

    /// Rotates the holder's password (the old one stops working) and delivers the new one; the
    /// grant keeps its id and `expires_at`. Only the holder may ask.
    pub async fn resend(&self, level: Level, by: &SlackUserId) -> Result<GrantRecord, GrantError> {
        let now = self.now();
        let all = self.load_all(level).await?;
        let Some((mut rec, version)) =
            all.iter().find(|(g, _)| g.is_active(now) && g.holder == *by).cloned()
        else {
            return Err(if all.iter().any(|(g, _)| g.is_active(now)) {
                GrantError::NotHolder
            } else {
                GrantError::NotActive
            });
        };
        let credential = self.renew_credential(&rec, now).await?;
        rec.db_valid_until = credential.db_valid_until;
        match self.store.cas(&rec.key(), version, &rec, self.record_ttl(&rec)).await {
            Ok(true) => {}
            Ok(false) => {
                self.fail_closed(&rec, "the grant changed while resending").await;
                return Err(GrantError::Conflict);
            }
            Err(e) => {
                self.fail_closed(&rec, "Redis failed after the password was set").await;
                return Err(e.into());
            }
        }
        self.deliver_or_expire(&rec, credential.password).await?;
        self.emit(GrantEvent::Resent { grant: &rec }).await;
        tracing::info!(grant_id = %rec.id, level = %level, incident = %rec.incident,
            "password rotated and re-delivered");
        Ok(rec)
    }

    /// Ends every grant of `level` now (with the shared identity: the one): expire, end
    /// sessions, cancel its timers, emit Revoked. Who may revoke is the caller's check. Returns
    /// the number of sessions ended.
    pub async fn revoke(&self, level: Level, by: &str) -> Result<i32, GrantError> {
        let all = self.load_all(level).await?;
        if all.is_empty() {
            return Err(GrantError::NotActive);
        }
        let mut ended = 0;
        for (rec, _) in &all {
            ended += self.end_grant(rec, Ending::Revoked { by }, by, None).await?;
        }
        Ok(ended)
    }

    /// Ends `holder`'s grant of `level` now (see [`GrantService::revoke`]).
    pub async fn revoke_holder(
        &self,
        level: Level,
        holder: &SlackUserId,
        by: &str,
    ) -> Result<i32, GrantError> {
        let all = self.load_all(level).await?;
        let Some((rec, _)) = all.iter().find(|(g, _)| g.holder == *holder) else {
            return Err(GrantError::NotActive);
        };
        self.end_grant(rec, Ending::Revoked { by }, by, None).await
    }

    /// Ends everything of `level` whether or not a grant is recorded (a kill switch): every
    /// grant (Expired is emitted for each), the shared role's password and sessions, and every
    /// live per-person login of the level. Returns the sessions ended.
    pub async fn expire_now(&self, level: Level, reason: &str) -> Result<i32, GrantError> {
        let mut ended = 0;
        match self.load_all(level).await {
            Ok(all) => {
                for (rec, _) in &all {
                    tracing::info!(grant_id = %rec.id, level = %level, reason, "expiring now");
                    ended += self.end_grant(rec, Ending::Expired, ACTOR_SERVICE, None).await?;
                }
            }
            // Redis down: the database still gets the kill.
            Err(e) => tracing::warn!(level = %level, error = %e,
                "could not read the grants; the database kill happens regardless"),
        }
        let audit = ActionAudit { incident: reason.to_owned(), actor: ACTOR_SERVICE.to_owned() };
        self.broker.expire(level, &audit).await?;
        ended += self.broker.terminate_sessions(level, &audit).await?;
        let role = self.names().firefighter(level);
        ended += self.end_on_instances(&role, &audit, self.now()).await.total();
        // Per-person logins Redis forgot end on the writer here; their reader sessions at the
        // reconciler's next pass (which compares every reader session with the active grants).
        ended += self.broker.end_live_person_logins(level, ACTOR_SERVICE).await?;
        tracing::info!(level = %level, reason, sessions_ended = ended, "level ended now");
        Ok(ended)
    }
}

/// What a break-glass grant's audit row lists among its approvers (no Slack user id has a
/// hyphen, so it cannot be taken for one).
pub const BREAK_GLASS_APPROVER: &str = "break-glass";

/// The longest `VALID UNTIL` may lie ahead (the database's own cap).
fn max_validity() -> chrono::Duration {
    chrono::Duration::seconds(crate::model::expected::MAX_FIREFIGHTER_VALIDITY_SECS)
}

/// The `VALID UNTIL` to ask for: the grant's end, at most the database's cap from `now`.
pub(crate) fn database_end(rec: &GrantRecord, now: DateTime<Utc>) -> DateTime<Utc> {
    rec.expires_at.min(now + max_validity())
}

/// The audit row of an issue: the database stores the ids as text.
pub(crate) fn issue_audit(rec: &GrantRecord) -> IssueAudit {
    IssueAudit {
        incident: rec.incident.to_string(),
        requester: rec.holder.to_string(),
        approvers: rec
            .approvers
            .iter()
            .map(ToString::to_string)
            .chain(rec.break_glass.then(|| BREAK_GLASS_APPROVER.to_owned()))
            .collect(),
    }
}

pub(crate) fn new_record(
    req: &IssueRequest,
    names: &Names,
    instance: &str,
    now: DateTime<Utc>,
) -> Result<GrantRecord, GrantError> {
    let duration = chrono::Duration::from_std(req.duration)
        .map_err(|_| GrantError::Internal("grant duration out of range".into()))?;
    Ok(GrantRecord {
        id: uuid::Uuid::new_v4().simple().to_string(),
        level: req.level,
        role: names.firefighter(req.level),
        holder: req.holder.clone(),
        incident: req.incident.clone(),
        approvers: req.approvers.clone(),
        request_id: req.request_id.clone(),
        granted_at: now,
        expires_at: now + duration,
        db_valid_until: crate::broker::ceil_to_second(now + duration.min(max_validity())),
        context: req.context.clone(),
        delivered: false,
        issuer: instance.to_owned(),
        login: None,
        slot: None,
        break_glass: req.break_glass,
    })
}
