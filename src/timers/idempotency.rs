//! Idempotency keys: "handle this Slack event / command once", across retries and replicas.
//!
//! Owns the `<p>idem:*` keys. Must not decide what is a duplicate beyond the key it is given:
//! callers pass a name from [`keys`](super::keys) (`slack_event`, `slack_trigger`).

use super::{ttl_ms, TimerError};
use redis::aio::ConnectionManager;
use redis::{ExistenceCheck, SetExpiry, SetOptions};
use std::time::Duration;

/// `DEL KEYS[1]` if it holds `ARGV[1]`; returns the number of keys deleted.
const COMPARE_AND_DELETE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// Idempotency keys under one prefix. Cheap to clone.
#[derive(Clone)]
pub struct Idempotency {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl Idempotency {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Idempotency {
        Idempotency { conn, prefix: format!("{prefix}idem:") }
    }

    /// Returns true exactly once per `key` within `ttl` (`SET NX PX`), however many replicas
    /// and retries ask: true means "you handle it", false means "already being handled".
    /// Choose `ttl` longer than the sender's retry window (Slack retries for ~5 minutes).
    pub async fn claim_once(&self, key: &str, ttl: Duration) -> Result<bool, TimerError> {
        let opts = SetOptions::default()
            .conditional_set(ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(ttl_ms(ttl)));
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(1)
            .arg(opts)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }

    /// Like [`Self::claim_once`], but the key holds `holder`, so that only that holder can give
    /// it back ([`Self::release_if_held_by`]).
    pub async fn claim_as(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, TimerError> {
        let opts = SetOptions::default()
            .conditional_set(ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(ttl_ms(ttl)));
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(holder)
            .arg(opts)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }

    /// Deletes `key` only if it still holds `holder` (an atomic compare-and-delete in Lua):
    /// a claim that expired and was taken by someone else is left alone. Returns whether it was
    /// deleted.
    pub async fn release_if_held_by(&self, key: &str, holder: &str) -> Result<bool, TimerError> {
        let n: i64 = redis::Script::new(COMPARE_AND_DELETE)
            .key(format!("{}{key}", self.prefix))
            .arg(holder)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(n > 0)
    }

    /// Who holds `key` (the value given to [`Self::claim_as`]), if anyone.
    pub async fn holder(&self, key: &str) -> Result<Option<String>, TimerError> {
        Ok(redis::cmd("GET")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut self.conn.clone())
            .await?)
    }

    /// Whether `key` is currently held (by anyone).
    pub async fn is_held(&self, key: &str) -> Result<bool, TimerError> {
        let n: i64 = redis::cmd("EXISTS")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(n > 0)
    }

    /// Gives a key back, so that a retry of something that failed before taking effect is
    /// handled again. Returns whether the key was held.
    pub async fn release(&self, key: &str) -> Result<bool, TimerError> {
        let n: i64 = redis::cmd("DEL")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(n > 0)
    }
}
