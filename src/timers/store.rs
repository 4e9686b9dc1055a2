//! Versioned JSON documents with compare-and-swap, plus pointers and expiring indexes.
//!
//! Owns the encoding `<version>:<json>` of documents (version 1 on creation, +1 per swap) and
//! `cas.lua`. Must stay generic: it knows no Slack or request types; the workflow decides what
//! a document is and which key (from [`keys`](super::keys)) it lives at. Keys passed in are
//! relative to the prefix. Documents must not hold secrets (passwords are never stored).

use super::{ttl_ms, TimerError};
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use redis::{ExistenceCheck, Script, SetExpiry, SetOptions};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::LazyLock;
use std::time::Duration;

static CAS: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("cas.lua")));

/// Documents, pointers and indexes under one key prefix. Cheap to clone.
#[derive(Clone)]
pub struct DocStore {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for DocStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl DocStore {
    pub fn new(conn: ConnectionManager, prefix: &str) -> DocStore {
        DocStore { conn, prefix: prefix.to_owned() }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// `key` with this store's prefix (for scripts in sibling modules).
    pub(super) fn full_key(&self, key: &str) -> String {
        self.key(key)
    }

    pub(super) fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Reads a document and its version, or `None` if absent (or expired).
    pub async fn get<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<(T, u64)>, TimerError> {
        let full = self.key(key);
        let raw: Option<String> =
            redis::cmd("GET").arg(&full).query_async(&mut self.conn.clone()).await?;
        raw.map(|raw| decode(&full, &raw)).transpose()
    }

    /// Reads several documents in one round trip (`MGET`): one entry per key, in order, `None`
    /// where absent.
    pub async fn get_many<T: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<(T, u64)>>, TimerError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let raw: Vec<Option<String>> =
            redis::cmd("MGET").arg(&full).query_async(&mut self.conn.clone()).await?;
        full.iter().zip(raw).map(|(k, raw)| raw.map(|raw| decode(k, &raw)).transpose()).collect()
    }

    /// Creates a document at version 1 unless the key exists (`SET NX`). Returns whether it was
    /// created; `false` means someone else got there first (e.g. a retried event).
    pub async fn put_new<T: Serialize>(
        &self,
        key: &str,
        doc: &T,
        ttl: Duration,
    ) -> Result<bool, TimerError> {
        let full = self.key(key);
        let value = encode(&full, 1, doc)?;
        let opts = SetOptions::default()
            .conditional_set(ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(ttl_ms(ttl)));
        let set: Option<String> = redis::cmd("SET")
            .arg(&full)
            .arg(value)
            .arg(opts)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }

    /// Replaces a document if its version is still `expected_version`; the new version is
    /// `expected_version + 1` and the TTL is reset to `ttl`. Returns `false` if the document
    /// changed meanwhile or no longer exists: re-read and decide again (or drop a retry).
    pub async fn cas<T: Serialize>(
        &self,
        key: &str,
        expected_version: u64,
        doc: &T,
        ttl: Duration,
    ) -> Result<bool, TimerError> {
        let full = self.key(key);
        let value = encode(&full, expected_version.saturating_add(1), doc)?;
        self.swap(&full, expected_version, &value, ttl).await
    }

    /// Deletes a document if its version is still `expected_version`.
    pub async fn delete_if(&self, key: &str, expected_version: u64) -> Result<bool, TimerError> {
        self.swap(&self.key(key), expected_version, "", Duration::ZERO).await
    }

    async fn swap(
        &self,
        full: &str,
        expected: u64,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, TimerError> {
        let n: i64 = CAS
            .key(full)
            .arg(expected)
            .arg(value)
            .arg(ttl_ms(ttl))
            .invoke_async(&mut self.conn.clone())
            .await?;
        match n {
            1 => Ok(true),
            0 | -1 => Ok(false),
            _ => Err(TimerError::bad_data(full, "stored value has no version")),
        }
    }

    /// Deletes any key of this store (document, pointer or index) unconditionally.
    pub async fn delete(&self, key: &str) -> Result<bool, TimerError> {
        let n: i64 =
            redis::cmd("DEL").arg(self.key(key)).query_async(&mut self.conn.clone()).await?;
        Ok(n > 0)
    }

    /// Sets a pointer (e.g. Slack message -> request id) unless it exists. Returns whether set.
    pub async fn put_pointer(
        &self,
        key: &str,
        target: &str,
        ttl: Duration,
    ) -> Result<bool, TimerError> {
        let opts = SetOptions::default()
            .conditional_set(ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(ttl_ms(ttl)));
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(target)
            .arg(opts)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }

    /// Reads a pointer.
    pub async fn get_pointer(&self, key: &str) -> Result<Option<String>, TimerError> {
        Ok(redis::cmd("GET").arg(self.key(key)).query_async(&mut self.conn.clone()).await?)
    }

    /// Adds (or refreshes) `member` in an index until `until`; after that it is pruned.
    pub async fn index_add(
        &self,
        key: &str,
        member: &str,
        until: DateTime<Utc>,
    ) -> Result<(), TimerError> {
        let _added: i64 = redis::cmd("ZADD")
            .arg(self.key(key))
            .arg(until.timestamp_millis())
            .arg(member)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Removes `member` from an index. Returns whether it was there.
    pub async fn index_remove(&self, key: &str, member: &str) -> Result<bool, TimerError> {
        let n: i64 = redis::cmd("ZREM")
            .arg(self.key(key))
            .arg(member)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(n > 0)
    }

    /// Members of an index still current at `now`, oldest deadline first; prunes the rest.
    pub async fn index_members(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, TimerError> {
        let full = self.key(key);
        let now_ms = now.timestamp_millis();
        let (_, members): (i64, Vec<String>) = redis::pipe()
            .atomic()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&full)
            .arg("-inf")
            .arg(format!("({now_ms}"))
            .cmd("ZRANGE")
            .arg(&full)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(members)
    }
}

pub(super) fn encode<T: Serialize>(key: &str, version: u64, doc: &T) -> Result<String, TimerError> {
    let json = serde_json::to_string(doc).map_err(|e| TimerError::bad_data(key, e))?;
    Ok(format!("{version}:{json}"))
}

fn decode<T: DeserializeOwned>(key: &str, raw: &str) -> Result<(T, u64), TimerError> {
    let (version, json) =
        raw.split_once(':').ok_or_else(|| TimerError::bad_data(key, "no version prefix"))?;
    let version: u64 =
        version.parse().map_err(|_| TimerError::bad_data(key, "version is not a number"))?;
    let doc = serde_json::from_str(json).map_err(|e| TimerError::bad_data(key, e))?;
    Ok((doc, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_decodes_to_what_was_encoded() {
        let raw = encode("k", 7, &serde_json::json!({"a": "b:c"})).unwrap();
        assert_eq!(raw, r#"7:{"a":"b:c"}"#);
        let (doc, v): (serde_json::Value, u64) = decode("k", &raw).unwrap();
        assert_eq!((doc["a"].as_str(), v), (Some("b:c"), 7));
    }

    #[test]
    fn an_unversioned_value_is_bad_data() {
        let err = decode::<serde_json::Value>("k", "{}").unwrap_err();
        assert!(matches!(err, TimerError::BadData { .. }), "{err:?}");
    }
}
