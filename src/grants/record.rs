//! The grant document kept in Redis, the issue request, the settings of the service, the
//! names derived from a grant (its Redis key, its timer ids and payload), and how a grant ended
//! (`Ending`, shared by the service, the timers, the reconciler and `ending.rs`).
//!
//! Owns these plain data types only: no I/O, no clock. A [`GrantRecord`] never holds a secret;
//! the password exists only in memory between the broker and the [`Notifier`](super::Notifier).

pub use crate::access::settings::Identity;
use crate::access::settings::MAX_HOLDERS_PER_LEVEL;
use crate::access::{IncidentId, RequestId, SlackUserId};
use crate::broker::TempPassword;
use crate::model::{Level, Names};
use crate::timers::{keys, Timer, TimerKind, TimerPayload};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The active grant of one level, stored as JSON at `<prefix>grant:<level>` (CAS-versioned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// Unique per issue (a takeover makes a new id; a resend keeps it).
    pub id: String,
    pub level: Level,
    /// The firefighter role, e.g. `my_pg_firefighter_ro`.
    pub role: String,
    /// Slack user id of the holder. The ids serialize as their plain strings.
    pub holder: SlackUserId,
    pub incident: IncidentId,
    pub approvers: Vec<SlackUserId>,
    pub request_id: Option<RequestId>,
    pub granted_at: DateTime<Utc>,
    /// When the service ends the grant (the Expire timer's due time).
    pub expires_at: DateTime<Utc>,
    /// The role's `VALID UNTIL` as set by the database (its cap of 1-2 h). Before the password
    /// is set (while the grant is being issued) it holds the planned cap.
    pub db_valid_until: DateTime<Utc>,
    /// Opaque to this module: the bot keeps its thread coordinates here.
    #[serde(default)]
    pub context: serde_json::Value,
    /// Whether the password reached the holder. `false` from issuing until delivery; a grant
    /// whose issuing process died before delivering is expired by the reconciler.
    #[serde(default = "delivered_by_default")]
    pub delivered: bool,
    /// The service instance (one per process) that issued it.
    #[serde(default)]
    pub issuer: String,
    /// The holder's own login (`access.identity = "per_person"`), a member of `role`; `None`:
    /// the holder logs in as `role` itself (shared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// Which of the level's per-person slots holds the document (`None`: the shared one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u16>,
    /// Issued by break-glass, without approvals (the database's audit row says so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
}

/// Documents written before `delivered` existed were delivered.
fn delivered_by_default() -> bool {
    true
}

impl GrantRecord {
    /// The role the holder logs in as: their own login, or the shared firefighter role.
    pub fn db_user(&self) -> &str {
        self.login.as_deref().unwrap_or(&self.role)
    }

    /// The Redis key of this grant's document (relative to the prefix).
    pub fn key(&self) -> String {
        match self.slot {
            Some(slot) => slot_key(self.level, slot),
            None => grant_key(self.level),
        }
    }

    /// Whether the grant still runs at `now` (its Expire timer may lag behind a little).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Id of this grant's Expire timer.
    pub fn expire_timer_id(&self) -> String {
        expire_timer_id(&self.id)
    }

    /// Id of this grant's Reminder timer.
    pub fn reminder_timer_id(&self) -> String {
        format!("reminder:{}", self.id)
    }

    /// The timer payload naming this grant (ids and names only).
    pub fn payload(&self) -> TimerPayload {
        TimerPayload {
            role: Some(self.db_user().to_owned()),
            level: Some(self.level.as_str().to_owned()),
            request_id: self.request_id.as_ref().map(|r| r.to_string()),
            grant_id: Some(self.id.clone()),
            incident: Some(self.incident.to_string()),
            slot: self.slot,
            ..TimerPayload::default()
        }
    }

    /// The Expire timer (due at `expires_at`) and, if `expires_at - reminder_before` is still
    /// after `now`, the Reminder timer.
    pub fn timers(&self, reminder_before: Duration, now: DateTime<Utc>) -> Vec<Timer> {
        let mut out = vec![Timer::new(
            self.expire_timer_id(),
            TimerKind::Expire,
            self.expires_at,
            self.payload(),
        )];
        if !reminder_before.is_zero() {
            let before =
                chrono::Duration::from_std(reminder_before).unwrap_or(chrono::Duration::MAX);
            if let Some(at) = self.expires_at.checked_sub_signed(before) {
                if at > now {
                    out.push(Timer::new(
                        self.reminder_timer_id(),
                        TimerKind::Reminder,
                        at,
                        self.payload(),
                    ));
                }
            }
        }
        out
    }
}

/// Id of the Expire timer of grant `grant_id`.
pub fn expire_timer_id(grant_id: &str) -> String {
    format!("expire:{grant_id}")
}

/// Id of the Expire timer the reconciler re-creates for a live role it knows no grant of.
pub fn restored_timer_id(role: &str) -> String {
    format!("expire:restored:{role}")
}

/// Key (relative to the prefix) of the grant document of `level`.
pub fn grant_key(level: Level) -> String {
    keys::grant(level.as_str())
}

/// Key (relative to the prefix) of per-person slot `slot` of `level`.
pub fn slot_key(level: Level, slot: u16) -> String {
    keys::grant_slot(level.as_str(), slot)
}

/// The document key a grant timer names: its per-person slot, else the level's shared key.
pub fn payload_key(payload: &TimerPayload, level: Level) -> String {
    match payload.slot {
        Some(slot) => slot_key(level, slot),
        None => grant_key(level),
    }
}

/// The level a timer payload names, by its `level` field or else its `role`.
pub fn payload_level(payload: &TimerPayload, names: &Names) -> Option<Level> {
    payload
        .level
        .as_deref()
        .and_then(Level::parse)
        .or_else(|| payload.role.as_deref().and_then(|r| names.level_of(r)))
}

/// What the caller (the bot after approval, or a drill) asks for.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub level: Level,
    pub holder: SlackUserId,
    pub incident: IncidentId,
    pub approvers: Vec<SlackUserId>,
    pub request_id: Option<RequestId>,
    /// How long the grant lasts; the database sets `VALID UNTIL` to its end (to the second, at
    /// most 2 hours ahead).
    pub duration: Duration,
    pub context: serde_json::Value,
    /// Take the level over from its current holder (rotates the password, tells them).
    /// Shared identity only: with per-person logins a level has several holders.
    pub takeover: bool,
    /// Break-glass: issued without approvals (marked in the database's audit row).
    pub break_glass: bool,
}

/// Tuning of the service and its worker. `Default` suits production.
#[derive(Debug, Clone)]
pub struct GrantSettings {
    /// Reminder this long before `expires_at` (zero: no reminder).
    pub reminder_before: Duration,
    /// The grant document outlives `max(expires_at, db_valid_until)` by this much (a safety
    /// net: the Expire handler deletes it).
    pub record_margin: Duration,
    /// How long a claimed timer is exclusive to one worker; must exceed the slowest handler.
    pub lease: Duration,
    /// First retry delay of a failing timer; doubles per attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Sleep between polls of the timer queue.
    pub poll_interval: Duration,
    /// Timers claimed per poll.
    pub batch_size: usize,
    /// Period of the reconciler in [`run`](super::run).
    pub reconcile_every: Duration,
    /// At most one `ExpiryDelayed` per grant within this window (across replicas).
    pub delayed_notice_every: Duration,
    /// An undelivered grant older than this is expired by the reconciler (its issuing process
    /// died); it must exceed the slowest delivery, Slack retries included.
    pub delivery_deadline: Duration,
    /// Whose name the database sees (`access.identity`).
    pub identity: Identity,
    /// Per-person slots of one level (`access.max_holders_per_level`, 1 to 50).
    pub max_holders: u16,
    /// The reconciler leaves reader sessions younger than this (when it read the grants) to its
    /// next pass: the bot's and the database's clocks may disagree by a little.
    pub reader_session_margin: Duration,
}

impl Default for GrantSettings {
    fn default() -> Self {
        GrantSettings {
            reminder_before: Duration::from_secs(900),
            record_margin: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(60),
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            poll_interval: Duration::from_millis(250),
            batch_size: 20,
            reconcile_every: Duration::from_secs(60),
            delayed_notice_every: Duration::from_secs(600),
            delivery_deadline: Duration::from_secs(180),
            identity: Identity::PerPerson,
            max_holders: 10,
            reader_session_margin: Duration::from_secs(10),
        }
    }
}

impl GrantSettings {
    /// Defaults with the reminder lead time of the access configuration.
    pub fn from_access(access: &crate::config::AccessConfig) -> GrantSettings {
        let max = access.max_holders_per_level.clamp(1, MAX_HOLDERS_PER_LEVEL);
        GrantSettings {
            reminder_before: Duration::from_secs(access.reminder_before_secs),
            identity: access.identity,
            max_holders: u16::try_from(max).unwrap_or(10),
            ..GrantSettings::default()
        }
    }

    /// Whether grants get a login of their own.
    pub fn per_person(&self) -> bool {
        self.identity == Identity::PerPerson
    }
}

/// How a grant ended, i.e. which event to emit.
pub(crate) enum Ending<'a> {
    Expired,
    Revoked {
        by: &'a str,
    },
    DeliveryFailed {
        reason: &'a str,
    },
    /// Ended to make room (an overdue grant before a new issue): Expired is emitted too.
    Overdue,
}

/// A credential the database just set: the password to deliver and its `VALID UNTIL`.
pub(crate) struct Credential {
    pub password: TempPassword,
    pub db_valid_until: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_per_attempt_and_is_capped() {
        let s = GrantSettings::default();
        let retry_after = |n| s.worker_config().retry.after(n, s.lease);
        assert_eq!(retry_after(1), Duration::from_secs(2));
        assert_eq!(retry_after(2), Duration::from_secs(4));
        assert_eq!(retry_after(5), Duration::from_secs(32));
        assert_eq!(retry_after(6), Duration::from_secs(60));
        assert_eq!(retry_after(u32::MAX), Duration::from_secs(60));
    }

    fn record(now: DateTime<Utc>) -> GrantRecord {
        GrantRecord {
            id: "g1".into(),
            level: Level::Ro,
            role: "x_firefighter_ro".into(),
            holder: SlackUserId::parse("U1").unwrap(),
            incident: IncidentId::try_from("INC-1".to_owned()).unwrap(),
            approvers: vec![],
            request_id: None,
            granted_at: now,
            expires_at: now + chrono::Duration::seconds(60),
            db_valid_until: now + chrono::Duration::hours(1),
            context: serde_json::Value::Null,
            delivered: true,
            issuer: String::new(),
            login: None,
            slot: None,
            break_glass: false,
        }
    }

    /// The document as it was stored before the ids were typed (plain strings).
    #[derive(Serialize, Deserialize)]
    struct UntypedRecord {
        id: String,
        level: Level,
        role: String,
        holder: String,
        incident: String,
        approvers: Vec<String>,
        request_id: Option<String>,
        granted_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        db_valid_until: DateTime<Utc>,
        #[serde(default)]
        context: serde_json::Value,
        #[serde(default = "delivered_by_default")]
        delivered: bool,
        #[serde(default)]
        issuer: String,
    }

    #[test]
    fn typed_ids_keep_the_stored_json_byte_identical() {
        let now = Utc::now();
        let mut rec = record(now);
        rec.approvers = vec![SlackUserId::parse("U2").unwrap(), SlackUserId::parse("W3").unwrap()];
        rec.request_id = Some(RequestId::parse("0b5e-42").unwrap());
        let old = UntypedRecord {
            id: "g1".into(),
            level: Level::Ro,
            role: "x_firefighter_ro".into(),
            holder: "U1".into(),
            incident: "INC-1".into(),
            approvers: vec!["U2".into(), "W3".into()],
            request_id: Some("0b5e-42".into()),
            granted_at: rec.granted_at,
            expires_at: rec.expires_at,
            db_valid_until: rec.db_valid_until,
            context: serde_json::Value::Null,
            delivered: true,
            issuer: String::new(),
        };
        let old_json = serde_json::to_string(&old).unwrap();
        assert_eq!(serde_json::to_string(&rec).unwrap(), old_json);
        let back: GrantRecord = serde_json::from_str(&old_json).unwrap();
        assert_eq!(back, rec);
        let payload = serde_json::to_string(&rec.payload()).unwrap();
        assert!(payload.contains(r#""request_id":"0b5e-42""#), "{payload}");
        assert!(payload.contains(r#""incident":"INC-1""#), "{payload}");
    }

    #[test]
    fn a_stored_grant_with_a_malformed_holder_is_refused() {
        let mut doc = serde_json::to_value(record(Utc::now())).unwrap();
        doc["holder"] = serde_json::json!("alice");
        assert!(serde_json::from_value::<GrantRecord>(doc).is_err());
    }

    #[test]
    fn a_reminder_is_scheduled_only_if_it_is_still_ahead() {
        let now = Utc::now();
        let rec = record(now);
        let t = rec.timers(Duration::from_secs(30), now);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].id, "expire:g1");
        assert_eq!(t[1].kind, TimerKind::Reminder);
        assert_eq!(rec.timers(Duration::from_secs(90), now).len(), 1);
        assert_eq!(rec.timers(Duration::ZERO, now).len(), 1);
        assert_eq!(t[0].payload.grant_id.as_deref(), Some("g1"));
    }
}
