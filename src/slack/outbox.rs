//! Delivery of the durable outbox: thread notes, audit-channel notes and state-change DMs are
//! queued in Redis ([`crate::timers::outbox`]) and posted from there, in order per thread, with
//! Slack's `Retry-After` and exponential backoff, for [`OutboxPolicy::give_up_after`] (a day by
//! default), across restarts and replicas.
//!
//! Owns what a queued note is ([`NoteTarget`] and its text), how one is posted, when a failure is
//! retried or given up, the "(delayed: ...)" suffix of a late note, and the queue gauges in
//! `/metrics`. Must not decide access, and never queues a secret: the password DM does not pass
//! through here (it stays ephemeral and fail-closed in the notifier). Logs carry the lane kind,
//! note id and Slack's code, never the text.

use crate::metrics::Metrics;
use crate::slack::client::{RetryPolicy, SlackApi, SlackError};
use crate::timers::{ClaimedNote, Clock, Outbox, OutboxNote, TimerError};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Where a note goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum NoteTarget {
    /// A reply in the thread of the message `ts` in `channel` (the request's audit trail).
    Thread { channel: String, ts: String },
    /// A top-level message in `channel` (the audit channel, for notes without a request).
    Channel { channel: String },
    /// A message in the bot's DM with `user`.
    Dm { user: String },
}

impl NoteTarget {
    /// The ordering lane: notes of one lane are posted one at a time, oldest first.
    fn lane(&self) -> String {
        match self {
            NoteTarget::Thread { channel, ts } => format!("thread:{channel}:{ts}"),
            NoteTarget::Channel { channel } => format!("channel:{channel}"),
            NoteTarget::Dm { user } => format!("dm:{user}"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            NoteTarget::Thread { .. } => "thread",
            NoteTarget::Channel { .. } => "channel",
            NoteTarget::Dm { .. } => "dm",
        }
    }
}

/// What a queued note carries ([`OutboxNote::payload`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    target: NoteTarget,
    text: String,
}

/// Timing of delivery and retries.
#[derive(Debug, Clone, Copy)]
pub struct OutboxPolicy {
    /// Longest sleep between polls when nothing was due (a local push wakes the worker).
    pub poll_interval: Duration,
    /// How long a claimed lane is exclusive; longer than one Slack call with its timeout.
    pub lease: Duration,
    /// First wait after a failure other than a rate limit; doubles per attempt.
    pub backoff: Duration,
    /// Longest wait between attempts (a longer `Retry-After` is still honoured).
    pub max_backoff: Duration,
    /// A note still failing this long after it was queued is given up (logged as an error).
    pub give_up_after: Duration,
    /// A note posted later than this after its event says so.
    pub late_after: Duration,
    /// Deadline of one Slack call.
    pub call_timeout: Duration,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        OutboxPolicy {
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            give_up_after: Duration::from_secs(24 * 3600),
            late_after: Duration::from_secs(60),
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// Lanes posted to at once within one pass (Slack limits chat.postMessage per channel anyway).
const LANES_AT_ONCE: usize = 4;

/// Slack codes that no retry can fix: the note itself is malformed.
const HOPELESS: &[&str] =
    &["invalid_arguments", "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text"];

/// Queues notes and delivers them. Cheap to clone.
#[derive(Clone)]
pub struct NoteSender {
    outbox: Outbox,
    api: SlackApi,
    metrics: Metrics,
    clock: Arc<dyn Clock>,
    policy: OutboxPolicy,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for NoteSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSender").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl NoteSender {
    /// `api` is used with one attempt per call: retries are the outbox's, with its policy.
    pub fn new(
        outbox: Outbox,
        api: SlackApi,
        metrics: Metrics,
        clock: Arc<dyn Clock>,
        policy: OutboxPolicy,
    ) -> NoteSender {
        let api = api.with_retry(RetryPolicy {
            max_attempts: 1,
            call_timeout: policy.call_timeout,
            ..RetryPolicy::default()
        });
        NoteSender { outbox, api, metrics, clock, policy, wake: Arc::new(Notify::new()) }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Queues `text` for `target`. Once this returns `Ok`, the note is in Redis and will be
    /// posted after everything queued before it for the same target.
    pub async fn queue(&self, target: NoteTarget, text: &str) -> Result<(), TimerError> {
        let now = self.now_ms();
        let note = outbox_note(target, text, now);
        self.outbox.push(&note, now).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// `text` for `target` as an outbox note created now, for a caller that commits it itself
    /// (with a state change, [`crate::timers::RequestStore::update_with_notes`]).
    pub fn note(&self, target: NoteTarget, text: &str) -> OutboxNote {
        outbox_note(target, text, self.now_ms())
    }

    /// Wakes the delivery loop: notes were committed to the outbox by someone else.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers until `stop` completes; a delivery in progress is finished first.
    pub async fn run(self, stop: impl Future<Output = ()> + Send) {
        let mut stop = std::pin::pin!(stop);
        loop {
            let waited = match self.deliver_due().await {
                Ok(0) => self.policy.poll_interval,
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: Redis failed; retrying");
                    self.policy.poll_interval
                }
            };
            self.observe().await;
            tokio::select! {
                () = &mut stop => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(waited) => {}
            }
        }
    }

    /// Updates the queue gauges (depth, oldest age).
    pub async fn observe(&self) {
        if let Ok(depth) = self.outbox.depth().await {
            let age = depth.oldest_ms.map_or(0.0, |ms| (self.now_ms() - ms).max(0) as f64 / 1e3);
            self.metrics.outbox(depth.notes, age);
        }
    }

    /// One pass: claims the due lanes and posts the oldest note of each. Returns how many
    /// lanes were claimed.
    pub async fn deliver_due(&self) -> Result<usize, TimerError> {
        let lease = u64::try_from(self.policy.lease.as_millis()).unwrap_or(u64::MAX);
        let claimed = self.outbox.claim(self.now_ms(), lease, 32).await?;
        let n = claimed.len();
        // Lanes are independent: a slow thread must not hold the others up.
        let results: Vec<Result<(), TimerError>> = futures::stream::iter(claimed)
            .map(|c| {
                let this = self.clone();
                async move { this.deliver(&c).await }
            })
            .buffer_unordered(LANES_AT_ONCE)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), TimerError>>()?;
        Ok(n)
    }

    async fn deliver(&self, c: &ClaimedNote) -> Result<(), TimerError> {
        let Ok(payload) = serde_json::from_value::<Payload>(c.note.payload.clone()) else {
            tracing::error!(note_id = %c.note.id, "outbox note unreadable; dropped");
            self.metrics.outbox_dropped("unreadable");
            self.outbox.delivered(c, self.now_ms()).await?;
            return Ok(());
        };
        let now = self.now_ms();
        let text = with_delay(&payload.text, now - c.note.created_ms, self.policy.late_after);
        let kind = payload.target.kind();
        match self.post(&payload.target, &text).await {
            Ok(()) => {
                tracing::debug!(note_id = %c.note.id, kind, attempts = c.note.attempts + 1,
                    "outbox note posted");
                self.outbox.delivered(c, self.now_ms()).await?;
            }
            Err(e) => {
                self.metrics.slack_error(e.method, &e.code);
                let age =
                    Duration::from_millis(u64::try_from(now - c.note.created_ms).unwrap_or(0));
                if HOPELESS.contains(&e.code.as_str()) || age >= self.policy.give_up_after {
                    tracing::error!(note_id = %c.note.id, kind, code = %e.code,
                        attempts = c.note.attempts + 1, "outbox note given up; it was never posted");
                    self.metrics.outbox_dropped(if age >= self.policy.give_up_after {
                        "gave_up"
                    } else {
                        "refused"
                    });
                    self.outbox.delivered(c, self.now_ms()).await?;
                } else {
                    let wait = self.wait_after(&e, c.note.attempts);
                    tracing::info!(note_id = %c.note.id, kind, code = %e.code,
                        attempts = c.note.attempts + 1, wait_ms = wait.as_millis() as u64,
                        "outbox note not posted yet; retrying");
                    let due = self.now_ms().saturating_add(wait.as_millis() as i64);
                    self.outbox.retry_at(c, due).await?;
                }
            }
        }
        Ok(())
    }

    /// Slack's `Retry-After` when it gave one, else exponential backoff.
    fn wait_after(&self, e: &SlackError, attempts: u32) -> Duration {
        if let Some(asked) = e.retry_after {
            return asked;
        }
        self.policy.backoff.saturating_mul(1 << attempts.min(16)).min(self.policy.max_backoff)
    }

    async fn post(&self, target: &NoteTarget, text: &str) -> Result<(), SlackError> {
        match target {
            NoteTarget::Thread { channel, ts } => {
                self.api.post_message(channel, text, &[], Some(ts)).await.map(|_| ())
            }
            NoteTarget::Channel { channel } => {
                self.api.post_message(channel, text, &[], None).await.map(|_| ())
            }
            NoteTarget::Dm { user } => {
                let dm = self.api.open_dm(user).await?;
                self.api.post_message(&dm, text, &[], None).await.map(|_| ())
            }
        }
    }
}

/// A fresh note (new id) of `text` for `target`, created at `now_ms`.
fn outbox_note(target: NoteTarget, text: &str, now_ms: i64) -> OutboxNote {
    OutboxNote {
        id: uuid::Uuid::new_v4().simple().to_string(),
        lane: target.lane(),
        created_ms: now_ms,
        attempts: 0,
        payload: serde_json::to_value(Payload { target, text: text.to_string() })
            .unwrap_or_default(),
    }
}

/// `text`, plus "(delayed: posted 7m after it happened)" when posted `late_ms` after its event
/// and that is more than `late_after`.
pub fn with_delay(text: &str, late_ms: i64, late_after: Duration) -> String {
    let late = Duration::from_millis(u64::try_from(late_ms).unwrap_or(0));
    if late <= late_after {
        return text.to_string();
    }
    let secs = late.as_secs();
    let took = match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    };
    format!("{text} (delayed: posted {took} after it happened)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_note_says_how_late() {
        let minute = Duration::from_secs(60);
        assert_eq!(with_delay("x", 59_000, minute), "x");
        assert_eq!(
            with_delay("x", 7 * 60_000 + 5_000, minute),
            "x (delayed: posted 7m after it happened)"
        );
        assert_eq!(
            with_delay("x", 2 * 3_600_000 + 3 * 60_000, minute),
            "x (delayed: posted 2h 3m after it happened)"
        );
        assert_eq!(with_delay("x", 61_000, minute), "x (delayed: posted 1m after it happened)");
        assert_eq!(
            with_delay("x", 30_000, Duration::ZERO),
            "x (delayed: posted 30s after it happened)"
        );
    }

    #[test]
    fn lanes_keep_threads_dms_and_channels_apart() {
        let t = NoteTarget::Thread { channel: "C1".into(), ts: "1.2".into() };
        assert_eq!(t.lane(), "thread:C1:1.2");
        assert_eq!(NoteTarget::Dm { user: "U1".into() }.lane(), "dm:U1");
        assert_eq!(NoteTarget::Channel { channel: "C1".into() }.lane(), "channel:C1");
    }
}
