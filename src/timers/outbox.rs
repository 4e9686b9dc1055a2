//! The durable outbox: notes waiting to be posted (to Slack, by the delivery side in
//! `slack::outbox`), kept in Redis so that a rate limit, an outage or a restart loses none.
//!
//! Owns the `outbox:*` keys and their Lua scripts (`outbox_push.lua`, `outbox_claim.lua`,
//! `outbox_done.lua`). Notes are ordered per *lane* (one Slack thread, DM or channel): only the
//! oldest note of a lane is handed out, and the next only after it is done, so a thread reads in
//! the order things happened. A claim is a lease on the lane, as in the timer queue: a worker
//! that dies mid-delivery loses it to the next claim after the lease, and its late `done` is
//! refused. Delivery is at least once (a worker that posted and died before `done` posts again).
//! Must not know Slack, read the clock (callers pass `now_ms`) or hold a secret: notes are
//! rendered audit text and ids, never a password (the password DM is never queued).

use super::keys::{OUTBOX_AGE, OUTBOX_BODY, OUTBOX_CLAIMS, OUTBOX_DUE, OUTBOX_LANE};
use super::TimerError;
use redis::aio::ConnectionManager;
use redis::Script;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, LazyLock};

static PUSH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("outbox_push.lua")));
static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("outbox_claim.lua")));
static DONE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("outbox_done.lua")));

/// One queued note. `payload` is the delivery side's (opaque here); it must hold no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxNote {
    pub id: String,
    pub lane: String,
    /// When the event happened and the note was queued (unix ms).
    pub created_ms: i64,
    /// Failed delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    pub payload: serde_json::Value,
}

/// A note handed to one worker, with the claim token of its lane.
#[derive(Debug, Clone)]
pub struct ClaimedNote {
    pub note: OutboxNote,
    pub token: String,
}

/// How many notes wait and how old the oldest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxDepth {
    pub notes: u64,
    /// Unix ms of the oldest queued note.
    pub oldest_ms: Option<i64>,
}

#[derive(Debug)]
struct Keys {
    prefix: String,
    due: String,
    body: String,
    age: String,
    claims: String,
}

/// The outbox in Redis. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    conn: ConnectionManager,
    keys: Arc<Keys>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("prefix", &self.keys.prefix).finish_non_exhaustive()
    }
}

impl Outbox {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Outbox {
        let keys = Keys {
            prefix: prefix.to_string(),
            due: format!("{prefix}{OUTBOX_DUE}"),
            body: format!("{prefix}{OUTBOX_BODY}"),
            age: format!("{prefix}{OUTBOX_AGE}"),
            claims: format!("{prefix}{OUTBOX_CLAIMS}"),
        };
        Outbox { conn, keys: Arc::new(keys) }
    }

    fn lane_key(&self, lane: &str) -> String {
        format!("{}{OUTBOX_LANE}{lane}", self.keys.prefix)
    }

    /// Queues `note` at the end of its lane. Returns false if a note with its id is already
    /// queued (a retried caller). Once this returns, the note survives any restart.
    pub async fn push(&self, note: &OutboxNote, now_ms: i64) -> Result<bool, TimerError> {
        let body = serde_json::to_string(note).map_err(|e| TimerError::BadData {
            key: self.keys.body.clone(),
            reason: e.to_string(),
        })?;
        let k = &self.keys;
        let queued: i64 = PUSH
            .key(&k.due)
            .key(self.lane_key(&note.lane))
            .key(&k.body)
            .key(&k.age)
            .arg(&note.lane)
            .arg(&note.id)
            .arg(body)
            .arg(note.created_ms)
            .arg(now_ms)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(queued == 1)
    }

    /// Claims up to `max` due lanes for `lease_ms`, each with its oldest note.
    pub async fn claim(
        &self,
        now_ms: i64,
        lease_ms: u64,
        max: usize,
    ) -> Result<Vec<ClaimedNote>, TimerError> {
        let batch = uuid::Uuid::new_v4().simple().to_string();
        let lease = i64::try_from(lease_ms).unwrap_or(i64::MAX);
        let k = &self.keys;
        let flat: Vec<(String, String, String, Option<String>)> = CLAIM
            .key(&k.due)
            .key(&k.body)
            .key(&k.claims)
            .arg(now_ms)
            .arg(now_ms.saturating_add(lease))
            .arg(max.clamp(1, 1000))
            .arg(&batch)
            .arg(self.lane_key(""))
            .invoke_async(&mut self.conn.clone())
            .await?;
        let mut out = Vec::with_capacity(flat.len());
        for (lane, token, id, body) in flat {
            let parsed = body.as_deref().map(serde_json::from_str::<OutboxNote>);
            match parsed {
                Some(Ok(note)) => out.push(ClaimedNote { note, token }),
                _ => {
                    // Nothing to deliver: drop the id so the lane moves on.
                    tracing::warn!(note_id = %id, "outbox note without a readable body; dropped");
                    let ghost = OutboxNote {
                        id,
                        lane,
                        created_ms: now_ms,
                        attempts: 0,
                        payload: serde_json::Value::Null,
                    };
                    self.delivered(&ClaimedNote { note: ghost, token }, now_ms).await?;
                }
            }
        }
        Ok(out)
    }

    /// The claimed note is done (posted, or dropped for good): the lane moves on. False if the
    /// claim was no longer current (nothing changed).
    pub async fn delivered(&self, claimed: &ClaimedNote, now_ms: i64) -> Result<bool, TimerError> {
        self.done(claimed, "remove", now_ms, "").await
    }

    /// The claimed note failed: it stays first in its lane, with one more attempt counted, and
    /// the lane is due again at `due_ms`.
    pub async fn retry_at(&self, claimed: &ClaimedNote, due_ms: i64) -> Result<bool, TimerError> {
        let mut note = claimed.note.clone();
        note.attempts = note.attempts.saturating_add(1);
        let body = serde_json::to_string(&note).map_err(|e| TimerError::BadData {
            key: self.keys.body.clone(),
            reason: e.to_string(),
        })?;
        self.done(claimed, "retry", due_ms, &body).await
    }

    async fn done(
        &self,
        claimed: &ClaimedNote,
        action: &str,
        due_ms: i64,
        body: &str,
    ) -> Result<bool, TimerError> {
        let k = &self.keys;
        let n: i64 = DONE
            .key(&k.due)
            .key(self.lane_key(&claimed.note.lane))
            .key(&k.body)
            .key(&k.age)
            .key(&k.claims)
            .arg(&claimed.note.lane)
            .arg(&claimed.token)
            .arg(&claimed.note.id)
            .arg(action)
            .arg(due_ms)
            .arg(body)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(n == 1)
    }

    /// Queue depth and the oldest note's age, for `/metrics`.
    pub async fn depth(&self) -> Result<OutboxDepth, TimerError> {
        let mut conn = self.conn.clone();
        let (notes, oldest): (u64, Vec<(String, i64)>) = redis::pipe()
            .zcard(&self.keys.age)
            .zrange_withscores(&self.keys.age, 0, 0)
            .query_async(&mut conn)
            .await?;
        Ok(OutboxDepth { notes, oldest_ms: oldest.first().map(|(_, ms)| *ms) })
    }

    /// Every queued note, oldest first (status, tests).
    pub async fn pending(&self) -> Result<Vec<OutboxNote>, TimerError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> =
            redis::cmd("ZRANGE").arg(&self.keys.age).arg(0).arg(-1).query_async(&mut conn).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let bodies: Vec<Option<String>> =
            redis::cmd("HMGET").arg(&self.keys.body).arg(&ids).query_async(&mut conn).await?;
        Ok(bodies.into_iter().flatten().filter_map(|b| serde_json::from_str(&b).ok()).collect())
    }
}
