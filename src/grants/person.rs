//! Grants of both identities side by side: where their documents live and how each one's
//! credential starts and ends in the database; and issuing a per-person grant
//! (`access.identity = "per_person"`).
//!
//! A per-person grant's document sits in one of its level's slots (`grant:<level>:<n>`, `n` below
//! `max_holders`): claiming a free slot with `SET NX` is what bounds the holders of a level, race
//! free across replicas. Its login is named before it exists (`Names::person_login`, the same
//! rule as `db_admin.create_person_login`), so the Expire timer and the document name it before
//! the database creates it; the database is asked only after both are in Redis (fail closed, as
//! for the shared roles). Lookups read every slot and the shared key in one `MGET`, whatever the
//! configured identity, so grants issued before a switch of `access.identity` stay visible.

use super::error::GrantError;
use super::record::{grant_key, slot_key, Credential, Ending, GrantRecord, IssueRequest};
use super::service::{database_end, issue_audit, new_record, GrantService, ACTOR_TIMER};
use crate::access::settings::MAX_HOLDERS_PER_LEVEL;
use crate::access::SlackUserId;
use crate::broker::{minutes_until, short_grant_id, ActionAudit, BrokerError};
use crate::model::Level;
use chrono::{DateTime, Utc};

impl GrantService {
    /// Every document key of `level`: the shared one, then each per-person slot that may
    /// hold a grant (all 50: a lowered `max_holders` must not hide a live grant).
    fn keys_of(&self, level: Level) -> Vec<String> {
        let slots = u16::try_from(MAX_HOLDERS_PER_LEVEL).unwrap_or(50);
        std::iter::once(grant_key(level)).chain((0..slots).map(|s| slot_key(level, s))).collect()
    }

    /// Every grant document of `level` (active or not) with its version.
    pub(crate) async fn load_all(
        &self,
        level: Level,
    ) -> Result<Vec<(GrantRecord, u64)>, GrantError> {
        let docs = self.store.get_many::<GrantRecord>(&self.keys_of(level)).await?;
        Ok(docs.into_iter().flatten().collect())
    }

    /// The active grants of `level`, in slot order.
    pub async fn active_grants(&self, level: Level) -> Result<Vec<GrantRecord>, GrantError> {
        let now = self.now();
        let all = self.load_all(level).await?;
        Ok(all.into_iter().map(|(g, _)| g).filter(|g| g.is_active(now)).collect())
    }

    /// `holder`'s active grant of `level`, if any.
    pub async fn active_of(
        &self,
        level: Level,
        holder: &SlackUserId,
    ) -> Result<Option<GrantRecord>, GrantError> {
        Ok(self.active_grants(level).await?.into_iter().find(|g| g.holder == *holder))
    }

    /// Issues a per-person grant: a free slot, the timers, then the login (created by the
    /// database), then delivery. Refused if the holder holds the level already or the level is
    /// full; overdue grants of the level are ended first (their Expire timer lags behind).
    pub(crate) async fn issue_person(&self, req: IssueRequest) -> Result<GrantRecord, GrantError> {
        let level = req.level;
        let now = self.now();
        // Reading the level is also the "Redis is reachable" check.
        let mut taken = Vec::new();
        for (old, _) in self.load_all(level).await? {
            if !old.is_active(now) {
                self.end_grant(&old, Ending::Overdue, ACTOR_TIMER, None).await?;
            } else if old.holder == req.holder {
                return Err(GrantError::AlreadyHolds(Box::new(old)));
            } else if let Some(slot) = old.slot {
                taken.push(slot);
            }
        }
        let max = self.settings.max_holders;
        if taken.len() >= usize::from(max) {
            return Err(GrantError::Full { level, max });
        }
        let mut rec = new_record(&req, self.names(), &self.instance, now)?;
        let login = self.names().person_login(level, req.holder.as_str(), &short_grant_id(&rec.id));
        rec.login = Some(login);
        // 1 + 2. A free slot, its timers before its document (a lost slot race tries the next).
        let mut reserved = false;
        for slot in (0..max).filter(|s| !taken.contains(s)) {
            rec.slot = Some(slot);
            let timers = rec.timers(self.settings.reminder_before, now);
            self.queue.schedule_many(&timers).await?;
            match self.store.put_new(&rec.key(), &rec, self.record_ttl(&rec)).await {
                Ok(true) => {
                    reserved = true;
                    break;
                }
                Ok(false) => continue,
                Err(e) => {
                    self.cancel_timers(&rec, None).await;
                    return Err(e.into());
                }
            }
        }
        if !reserved {
            self.cancel_timers(&rec, None).await;
            return Err(GrantError::Full { level, max });
        }
        // 3. The login.
        let audit = issue_audit(&rec);
        let minutes = minutes_until(database_end(&rec, now), now);
        let created = match self.broker.create_person_login(level, &rec.id, minutes, &audit).await {
            Ok(created) => created,
            Err(e) => {
                tracing::warn!(grant_id = %rec.id, level = %level, incident = %rec.incident,
                    error = %e, "creating the login failed; releasing the slot");
                self.undo_reservation(&rec, 1, None).await;
                return Err(e.into());
            }
        };
        if Some(created.login.as_str()) != rec.login.as_deref() {
            rec.login = Some(created.login);
            self.fail_closed(&rec, "the database named the login unexpectedly").await;
            return Err(GrantError::Internal("unexpected per-person login name".into()));
        }
        rec.db_valid_until = created.db_valid_until;
        let credential =
            Credential { password: created.password, db_valid_until: created.db_valid_until };
        self.record_and_deliver(rec, 1, credential, None).await
    }

    /// The end of issuing: record the database's cap (else fail closed), end the `previous`
    /// holder's access (a shared takeover), deliver (else expire), mark the grant delivered.
    pub(crate) async fn record_and_deliver(
        &self,
        mut rec: GrantRecord,
        version: u64,
        credential: Credential,
        previous: Option<&GrantRecord>,
    ) -> Result<GrantRecord, GrantError> {
        let key = rec.key();
        rec.db_valid_until = credential.db_valid_until;
        match self.store.cas(&key, version, &rec, self.record_ttl(&rec)).await {
            Ok(true) => {}
            Ok(false) => {
                self.fail_closed(&rec, "the grant changed while issuing").await;
                return Err(GrantError::Conflict);
            }
            Err(e) => {
                self.fail_closed(&rec, "Redis failed after the password was set").await;
                return Err(e.into());
            }
        }
        if let Some(previous) = previous {
            self.take_over(previous, &rec).await;
        }
        self.deliver_or_expire(&rec, credential.password).await?;
        rec.delivered = true;
        match self.store.cas(&key, version + 1, &rec, self.record_ttl(&rec)).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(grant_id = %rec.id, "grant changed after delivery"),
            Err(e) => tracing::warn!(grant_id = %rec.id, error = %e,
                "could not mark the grant delivered; the reconciler may end it early"),
        }
        tracing::info!(grant_id = %rec.id, level = %rec.level, incident = %rec.incident,
            holder = %rec.holder, login = rec.login.as_deref().unwrap_or("-"),
            expires_at = %rec.expires_at, db_valid_until = %rec.db_valid_until, "grant issued");
        Ok(rec)
    }

    /// A new password for a live grant (resend): the login's own, or the shared role's.
    pub(crate) async fn renew_credential(
        &self,
        rec: &GrantRecord,
        now: DateTime<Utc>,
    ) -> Result<Credential, GrantError> {
        let end = database_end(rec, now);
        Ok(match &rec.login {
            Some(login) => {
                let renewed = self
                    .broker
                    .renew_person_login(login, minutes_until(end, now), rec.holder.as_str())
                    .await?;
                Credential { password: renewed.password, db_valid_until: renewed.db_valid_until }
            }
            None => {
                let issued = self.broker.issue(rec.level, end, &issue_audit(rec)).await?;
                Credential { password: issued.password, db_valid_until: issued.db_valid_until }
            }
        })
    }

    /// Ends a grant's credential in the database and returns the sessions ended: its login is
    /// dropped (sessions first), or the shared role's password expired and its sessions ended.
    /// A login the database never recorded (the issuer died before creating it) has nothing
    /// to end.
    pub(crate) async fn end_credential(
        &self,
        rec: &GrantRecord,
        audit: &ActionAudit,
    ) -> Result<i32, GrantError> {
        let Some(login) = &rec.login else {
            self.broker.expire(rec.level, audit).await?;
            return Ok(self.broker.terminate_sessions(rec.level, audit).await?);
        };
        match self.broker.end_person_login(login, &audit.actor).await {
            Ok(end) => Ok(end.sessions_ended),
            Err(e @ BrokerError::Unavailable(_)) => Err(e.into()),
            Err(e) => {
                let recorded = self.broker.person_logins(true).await?;
                if recorded.iter().any(|r| r.login == *login) {
                    return Err(e.into());
                }
                tracing::info!(grant_id = %rec.id, login = %login,
                    "the login was never created; nothing to end");
                Ok(0)
            }
        }
    }
}
