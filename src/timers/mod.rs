//! Redis state of the bot: the timer queue (grant expiry, reminders, approval timeouts), the
//! versioned request/grant documents, and idempotency keys, so that several bot replicas can
//! share one Redis and each timer, event and approval takes effect once.
//!
//! This module owns the Redis key layout below and the Lua scripts that keep it consistent. It
//! must not know about Slack, PostgreSQL or the workflow: the stores take opaque serde types
//! (only [`requests`] knows the `access` domain's request document, to run its compare-and-swap
//! loop), timer payloads are ids and names (never a password or token), and time is always
//! passed in by the caller (`now_ms`, a [`Clock`]), never read inside the queue or the store.
//!
//! # Key layout
//!
//! `<p>` is [`RedisConfig::key_prefix`](crate::config::RedisConfig) (default `pgroles:`), so one
//! Redis can hold several bots and every test runs under its own prefix. The names after the
//! prefix come from [`keys`]. This is a single-node (or primary/replica) layout: the Lua scripts
//! touch several keys at once and are not written for Redis Cluster slots.
//!
//! | key | type | content | written by | TTL |
//! |---|---|---|---|---|
//! | `<p>timers:due` | ZSET | timer id, scored by due time (unix ms) | [`TimerQueue::schedule`] adds; `claim` moves to inflight; `cancel` removes | none: entries leave when claimed or cancelled |
//! | `<p>timers:inflight` | ZSET | claimed timer id, scored by lease deadline (unix ms) | `claim` (`claim.lua`); `ack`, `cancel`, `schedule` remove; `extend` moves the deadline | none |
//! | `<p>timers:body` | HASH | timer id -> JSON of [`Timer`] | `schedule` writes; `ack`/`cancel` delete | none: lives exactly as long as the timer |
//! | `<p>timers:claims` | HASH | timer id -> claim token `<attempt>:<uuid>` of the current claim | `claim` writes; `ack`, `cancel`, `schedule` delete | none |
//! | `<p>req:<id>` | STRING | versioned request document `<version>:<json>` | the workflow via [`DocStore`] (`put_new`, `cas`, `cas_with_notes`) | set by the caller on every write |
//! | `<p>req:by_msg:<channel>:<ts>` | STRING | request id of the Slack approval message | the workflow via [`DocStore::put_pointer`] | set by the caller |
//! | `<p>req:active` | ZSET | open request ids, scored by when they stop mattering (unix ms) | the workflow via [`DocStore::index_add`]/`index_remove` | none; members past their score are pruned on read |
//! | `<p>grant:<level>` | STRING | versioned document of the active grant of a level (`ro`, `rw`) | the workflow via [`DocStore`] | set by the caller (a safety net past the grant's expiry) |
//! | `<p>idem:<scope>:<id>` | STRING | `1` | [`Idempotency::claim_once`] (`SET NX PX`) | the caller's dedup window |
//! | `<p>outbox:due` | ZSET | outbox lane, scored by when it is due (unix ms; the lease deadline while claimed) | [`Outbox`] `push` (`NX`), `claim`, `delivered`/`retry_at` | none: lanes leave when empty |
//! | `<p>outbox:lane:<lane>` | LIST | note ids of one lane (Slack thread, DM, channel), oldest first | `push` and [`DocStore::cas_with_notes`] append; `delivered` pops the head | none |
//! | `<p>outbox:body` | HASH | note id -> JSON of [`OutboxNote`] (text and target, never a secret) | `push`; `retry_at` updates; `delivered` deletes | none |
//! | `<p>outbox:age` | ZSET | note id, scored by when it was queued (depth, oldest age) | `push`; `delivered` removes | none |
//! | `<p>outbox:claims` | HASH | lane -> token of its current claim | `claim`; `delivered`/`retry_at` delete | none |
//!
//! # Guarantees
//!
//! - A timer is delivered at least once, and its effect is acknowledged at most once: a claim
//!   carries a token, and `ack` deletes the timer only if the token still matches. A worker that
//!   crashed (or stalled past its lease) loses its claim to the next `claim` after the lease, and
//!   its late `ack` is rejected. Timer handlers must therefore be idempotent (expiring an already
//!   expired password, or posting a reminder for a grant that is gone, must be harmless).
//! - Re-scheduling an id replaces its due time and body and voids any claim on it.
//! - Documents change only through compare-and-swap on their version, so a retried Slack event
//!   or a double reaction lands on a stale version and becomes a no-op.
//! - A document's swap and the outbox notes it produces commit together
//!   ([`DocStore::cas_with_notes`], `cas_notes.lua`): a lost swap queues nothing, and a process
//!   that dies after a won swap has already queued its notes.
//! - Every failure is a [`TimerError`]; [`TimerError::is_unavailable`] tells the caller that Redis
//!   could not be reached, so it can fail closed ("Redis is down: not issuing").
//!
//! Module map: [`queue`] (timers and their Lua scripts), [`worker`] (the one timer loop, used
//! by the grants worker, and the [`Clock`]), [`store`] (versioned documents, pointers, indexes), `commit` (a swap with its
//! outbox notes), [`requests`] (the request documents, their pointers, claims and CAS loop:
//! [`RequestStore`]), [`idempotency`], [`outbox`] (notes waiting for Slack, ordered per lane,
//! leased like timers).

mod commit;
pub mod idempotency;
pub mod keys;
pub mod outbox;
pub mod queue;
pub mod requests;
pub mod store;
pub mod worker;

pub use idempotency::Idempotency;
pub use outbox::{ClaimedNote, Outbox, OutboxDepth, OutboxNote};
pub use queue::{Claimed, Timer, TimerKey, TimerKind, TimerPayload, TimerQueue};
pub use requests::{CommitHook, RequestStore, Updated};
pub use store::DocStore;
pub use worker::{run_worker, Clock, Retry, SystemClock, TimerHandler, WorkerConfig, WorkerStats};

use crate::config::RedisConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, ServerErrorKind};
use std::time::Duration;

/// Why a Redis operation failed. Callers that issue access fail closed on every variant.
#[derive(Debug, thiserror::Error)]
pub enum TimerError {
    /// Redis could not be reached or did not answer in time (connection refused, timeout,
    /// dropped connection, server loading or read-only). Retrying later may succeed.
    #[error("Redis is unavailable: {0}")]
    Unavailable(#[source] RedisError),
    /// Redis answered but refused the command (wrong key type, script error, no permission).
    #[error("Redis refused a command: {0}")]
    Rejected(#[source] RedisError),
    /// What Redis holds (or what we were asked to write) is not what this module expects.
    #[error("bad data in Redis at {key}: {reason}")]
    BadData { key: String, reason: String },
    /// A compare-and-swap kept losing: others changed `key` every time it was re-read. Nothing
    /// was written; retrying later may succeed.
    #[error("{key} kept changing under {attempts} compare-and-swap attempts")]
    Contended { key: String, attempts: u32 },
    /// The Redis URL does not parse (the message never shows a password).
    #[error("the Redis URL is invalid: {0}")]
    InvalidUrl(String),
}

impl TimerError {
    /// True when Redis was unreachable or unresponsive, as opposed to bad data or a refused
    /// command.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, TimerError::Unavailable(_))
    }

    pub(crate) fn bad_data(key: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        TimerError::BadData { key: key.into(), reason: reason.to_string() }
    }
}

impl From<RedisError> for TimerError {
    fn from(err: RedisError) -> Self {
        let unavailable = err.is_io_error()
            || err.is_timeout()
            || err.is_connection_dropped()
            || err.is_connection_refusal()
            || matches!(
                err.kind(),
                ErrorKind::AuthenticationFailed
                    | ErrorKind::Server(
                        ServerErrorKind::BusyLoading
                            | ServerErrorKind::TryAgain
                            | ServerErrorKind::MasterDown
                            | ServerErrorKind::ReadOnly
                            | ServerErrorKind::ClusterDown
                    )
            );
        if unavailable {
            TimerError::Unavailable(err)
        } else if matches!(err.kind(), ErrorKind::UnexpectedReturnType | ErrorKind::Parse) {
            TimerError::BadData { key: String::new(), reason: err.to_string() }
        } else {
            TimerError::Rejected(err)
        }
    }
}

/// Timeouts of the shared Redis connection. Short, so that a dead Redis turns into a
/// [`TimerError::Unavailable`] within seconds instead of hanging a Slack handler past its 3 s ack.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// Reconnection attempts of the connection manager after the connection drops.
    pub reconnect_retries: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            reconnect_retries: 3,
        }
    }
}

/// Opens the shared, auto-reconnecting Redis connection described by the configuration
/// (`url` plus `password`). Clone the returned manager freely: clones share one multiplexed
/// connection.
pub async fn connect(cfg: &RedisConfig) -> Result<ConnectionManager, TimerError> {
    // The config's message names the URL with its password redacted.
    let info = cfg.connection_info().map_err(|e| TimerError::InvalidUrl(format!("{e:#}")))?;
    connect_with(info, ConnectOptions::default()).await
}

/// Like [`connect`], for explicit connection info and timeouts.
pub async fn connect_with(
    info: redis::ConnectionInfo,
    options: ConnectOptions,
) -> Result<ConnectionManager, TimerError> {
    let client = redis::Client::open(info)
        .map_err(|err| TimerError::InvalidUrl(format!("{:?}", err.kind())))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.response_timeout))
        .set_number_of_retries(options.reconnect_retries);
    Ok(ConnectionManager::new_with_config(client, config).await?)
}

/// Milliseconds of a TTL for `PX`, at least 1 (Redis rejects `PX 0`).
pub(crate) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_ttl_becomes_one_millisecond() {
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_secs(2)), 2000);
    }

    #[test]
    fn an_io_error_counts_as_unavailable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = TimerError::from(RedisError::from(io));
        assert!(err.is_unavailable(), "{err:?}");
    }
}
