//! The timer queue: durable, shared between bot replicas, at-least-once with token-checked acks.
//!
//! Owns the `timers:*` keys and the Lua scripts beside this file (`claim.lua`, `ack.lua`,
//! `extend.lua`). Must not read the clock (every operation takes `now_ms`) nor carry secrets:
//! [`TimerPayload`] has fixed, non-secret fields on purpose, so no password can ride along.

use super::{keys, TimerError};
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use redis::Script;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, LazyLock};

static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("claim.lua")));
static ACK: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("ack.lua")));
static EXTEND: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("extend.lua")));

/// Largest batch one `claim` hands out (keeps the Lua `unpack` well inside its stack limit).
pub const MAX_CLAIM: usize = 1000;
/// Timers scheduled per atomic pipeline in [`TimerQueue::schedule_many`].
const SCHEDULE_CHUNK: usize = 1000;

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// End a grant: expire the password, end sessions, announce it.
    Expire,
    /// Tell the requester their grant ends soon.
    Reminder,
    /// Close a request that did not collect its approvals in time.
    ApprovalTimeout,
    /// End an ended grant's sessions on an instance that was unreachable at its end.
    Sweep,
    /// Ask the approvers again to review a break-glass grant nobody has reviewed yet.
    BreakGlassReview,
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::Expire => "expire",
            TimerKind::Reminder => "reminder",
            TimerKind::ApprovalTimeout => "approval_timeout",
            TimerKind::Sweep => "sweep",
            TimerKind::BreakGlassReview => "break_glass_review",
        }
    }
}

/// Ids and names a timer handler needs to find its request or grant. Never a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimerPayload {
    /// Database role, e.g. `pgroles_firefighter_ro`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Access level, `ro` or `rw`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Incident id, e.g. `INC-42`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// The per-person slot of the grant's document (`None`: the level's shared document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<u16>,
    /// A sweep's instance (`host:port`, from the configuration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// A sweep's cut-off: sessions that started before it end (Unix millis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_ms: Option<i64>,
}

/// A scheduled timer. `id` is chosen by the caller and makes scheduling idempotent; a
/// deterministic id such as `expire:<grant id>` lets a retried workflow step re-schedule
/// instead of duplicating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub id: String,
    pub kind: TimerKind,
    pub due_at: DateTime<Utc>,
    #[serde(default)]
    pub payload: TimerPayload,
}

impl Timer {
    pub fn new(
        id: impl Into<String>,
        kind: TimerKind,
        due_at: DateTime<Utc>,
        payload: TimerPayload,
    ) -> Timer {
        Timer { id: id.into(), kind, due_at, payload }
    }

    fn due_ms(&self) -> i64 {
        self.due_at.timestamp_millis()
    }
}

/// Selects pending timers by one payload field, see [`TimerQueue::pending_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKey<'a> {
    Role(&'a str),
    Level(&'a str),
    Request(&'a str),
    Grant(&'a str),
}

impl TimerKey<'_> {
    fn matches(&self, p: &TimerPayload) -> bool {
        let (field, want) = match *self {
            TimerKey::Role(v) => (&p.role, v),
            TimerKey::Level(v) => (&p.level, v),
            TimerKey::Request(v) => (&p.request_id, v),
            TimerKey::Grant(v) => (&p.grant_id, v),
        };
        field.as_deref() == Some(want)
    }
}

/// A timer handed to one worker, with the token that proves the claim is still theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub timer: Timer,
    token: String,
}

impl Claimed {
    /// 1 for the first delivery, 2+ when re-claimed after a lease ran out.
    pub fn attempt(&self) -> u32 {
        self.token.split(':').next().and_then(|n| n.parse().ok()).unwrap_or(1)
    }

    /// The claim token (`<attempt>:<batch uuid>`); not a secret, only a fencing value.
    pub fn token(&self) -> &str {
        &self.token
    }
}

#[derive(Clone)]
struct QueueKeys {
    due: String,
    inflight: String,
    body: String,
    claims: String,
}

/// The timer queue under one key prefix. Cheap to clone (shares the connection).
#[derive(Clone)]
pub struct TimerQueue {
    conn: ConnectionManager,
    keys: Arc<QueueKeys>,
}

impl std::fmt::Debug for TimerQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerQueue").field("due", &self.keys.due).finish_non_exhaustive()
    }
}

impl TimerQueue {
    pub fn new(conn: ConnectionManager, prefix: &str) -> TimerQueue {
        let keys = QueueKeys {
            due: format!("{prefix}{}", keys::TIMERS_DUE),
            inflight: format!("{prefix}{}", keys::TIMERS_INFLIGHT),
            body: format!("{prefix}{}", keys::TIMERS_BODY),
            claims: format!("{prefix}{}", keys::TIMERS_CLAIMS),
        };
        TimerQueue { conn, keys: Arc::new(keys) }
    }

    /// Schedules a timer, or re-schedules it if the id exists: its body and due time are
    /// replaced and any current claim on it is voided (that worker's ack will be rejected).
    pub async fn schedule(&self, timer: &Timer) -> Result<(), TimerError> {
        self.schedule_many(std::slice::from_ref(timer)).await
    }

    /// [`schedule`](Self::schedule) for many timers, pipelined; each timer is written atomically.
    pub async fn schedule_many(&self, timers: &[Timer]) -> Result<(), TimerError> {
        let k = &self.keys;
        for chunk in timers.chunks(SCHEDULE_CHUNK) {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for t in chunk {
                let json = serde_json::to_string(t).map_err(|e| TimerError::bad_data(&t.id, e))?;
                pipe.hset(&k.body, &t.id, json).ignore();
                pipe.zadd(&k.due, &t.id, t.due_ms()).ignore();
                pipe.zrem(&k.inflight, &t.id).ignore();
                pipe.hdel(&k.claims, &t.id).ignore();
            }
            let () = pipe.query_async(&mut self.conn.clone()).await?;
        }
        Ok(())
    }

    /// Removes a timer wherever it is (due or claimed). Returns whether it existed.
    pub async fn cancel(&self, id: &str) -> Result<bool, TimerError> {
        let k = &self.keys;
        let (_, _, removed, _): (i64, i64, i64, i64) = redis::pipe()
            .atomic()
            .zrem(&k.due, id)
            .zrem(&k.inflight, id)
            .hdel(&k.body, id)
            .hdel(&k.claims, id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(removed > 0)
    }

    /// Claims up to `max` (at most [`MAX_CLAIM`]) timers for `lease_ms`: first those whose
    /// previous lease ended by `now_ms`, then those due by `now_ms` in due order. Timers whose
    /// body is missing or unreadable are logged and not returned (a missing one is dropped; an
    /// unreadable one stays claimed and is retried after its lease, so a newer replica can read
    /// it during a rolling deploy).
    pub async fn claim(
        &self,
        now_ms: i64,
        lease_ms: u64,
        max: usize,
    ) -> Result<Vec<Claimed>, TimerError> {
        self.claim_kinds(now_ms, lease_ms, max, None).await
    }

    /// [`claim`](Self::claim), restricted to timers of `kinds` (`None`: every kind), so a
    /// worker that cannot handle a kind (the standalone `pgroles worker` and approval
    /// timeouts) leaves those timers to one that can. Up to `4 x max` due timers are looked at.
    pub async fn claim_kinds(
        &self,
        now_ms: i64,
        lease_ms: u64,
        max: usize,
        kinds: Option<&[TimerKind]>,
    ) -> Result<Vec<Claimed>, TimerError> {
        let kinds: Vec<&str> = kinds.unwrap_or_default().iter().map(|k| k.as_str()).collect();
        let max = max.clamp(1, MAX_CLAIM);
        let lease = i64::try_from(lease_ms).unwrap_or(i64::MAX);
        let batch = uuid::Uuid::new_v4().simple().to_string();
        let k = &self.keys;
        // Flat reply `id, attempt, body, ...`, decoded three at a time.
        let claimed: Vec<(String, u32, Option<String>)> = CLAIM
            .key(&k.due)
            .key(&k.inflight)
            .key(&k.body)
            .key(&k.claims)
            .arg(now_ms)
            .arg(now_ms.saturating_add(lease))
            .arg(max)
            .arg(&batch)
            .arg(kinds.join(","))
            .invoke_async(&mut self.conn.clone())
            .await?;
        let mut out = Vec::with_capacity(claimed.len());
        let mut orphans = Vec::new();
        for (id, attempt, body) in claimed {
            let token = format!("{attempt}:{batch}");
            let Some(body) = body else {
                tracing::warn!(timer_id = %id, "timer without a body; dropping it");
                orphans.push(Claimed { timer: placeholder(&id), token });
                continue;
            };
            match serde_json::from_str::<Timer>(&body) {
                Ok(timer) if timer.id == id => out.push(Claimed { timer, token }),
                Ok(_) => tracing::warn!(
                    timer_id = %id,
                    "timer body names another id; leaving it claimed until its lease ends"
                ),
                Err(err) => tracing::warn!(
                    timer_id = %id,
                    error = %err,
                    "timer body is unreadable; leaving it claimed until its lease ends"
                ),
            }
        }
        if !orphans.is_empty() {
            self.ack_many(&orphans).await?;
        }
        Ok(out)
    }

    /// Finishes a claimed timer. Returns false (and changes nothing) if the claim is no longer
    /// current: the lease ran out and another worker re-claimed it, or it was re-scheduled or
    /// cancelled meanwhile.
    pub async fn ack(&self, claimed: &Claimed) -> Result<bool, TimerError> {
        Ok(self.ack_many(std::slice::from_ref(claimed)).await?.first() == Some(&true))
    }

    /// [`ack`](Self::ack) for several claims in one round trip; one result per claim.
    pub async fn ack_many(&self, claimed: &[Claimed]) -> Result<Vec<bool>, TimerError> {
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let k = &self.keys;
        let mut inv = ACK.key(&k.inflight);
        inv.key(&k.body).key(&k.claims);
        for c in claimed {
            inv.arg(&c.timer.id).arg(&c.token);
        }
        let acked: Vec<i64> = inv.invoke_async(&mut self.conn.clone()).await?;
        Ok(acked.into_iter().map(|n| n == 1).collect())
    }

    /// Moves a claim's lease deadline to `now_ms + lease_ms`, for a handler that needs longer.
    /// Returns false if the claim is no longer current.
    pub async fn extend(
        &self,
        claimed: &Claimed,
        now_ms: i64,
        lease_ms: u64,
    ) -> Result<bool, TimerError> {
        let deadline = now_ms.saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX));
        let k = &self.keys;
        let n: i64 = EXTEND
            .key(&k.inflight)
            .key(&k.claims)
            .arg(&claimed.timer.id)
            .arg(&claimed.token)
            .arg(deadline)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(n == 1)
    }

    /// Every timer not yet acknowledged (due later, due now, or claimed), by due time.
    /// Unreadable bodies are logged and skipped. Meant for `pgroles status` and the reconciler:
    /// it reads the whole body hash, which holds a handful of timers in practice.
    pub async fn pending(&self) -> Result<Vec<Timer>, TimerError> {
        let bodies: Vec<String> =
            redis::cmd("HVALS").arg(&self.keys.body).query_async(&mut self.conn.clone()).await?;
        let mut timers: Vec<Timer> = bodies
            .iter()
            .filter_map(|b| match serde_json::from_str::<Timer>(b) {
                Ok(t) => Some(t),
                Err(err) => {
                    tracing::warn!(error = %err, "skipping an unreadable timer body");
                    None
                }
            })
            .collect();
        timers.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.id.cmp(&b.id)));
        Ok(timers)
    }

    /// Pending timers of one kind whose payload matches `key`.
    pub async fn pending_for(
        &self,
        kind: TimerKind,
        key: TimerKey<'_>,
    ) -> Result<Vec<Timer>, TimerError> {
        let mut timers = self.pending().await?;
        timers.retain(|t| t.kind == kind && key.matches(&t.payload));
        Ok(timers)
    }

    /// Whether an expiry is scheduled for this database role (the reconciler expires roles
    /// that hold a password but have none).
    pub async fn has_pending_expire(&self, role: &str) -> Result<bool, TimerError> {
        Ok(!self.pending_for(TimerKind::Expire, TimerKey::Role(role)).await?.is_empty())
    }

    /// Number of timers waiting (due or not) and claimed, for metrics.
    pub async fn counts(&self) -> Result<(u64, u64), TimerError> {
        let k = &self.keys;
        let counts: (u64, u64) = redis::pipe()
            .zcard(&k.due)
            .zcard(&k.inflight)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(counts)
    }
}

/// Stand-in body for a claimed id whose body vanished, used only to ack it away.
fn placeholder(id: &str) -> Timer {
    Timer::new(id, TimerKind::Reminder, DateTime::<Utc>::UNIX_EPOCH, TimerPayload::default())
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
