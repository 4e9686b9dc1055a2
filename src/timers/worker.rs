//! The timer worker loop: claim due timers, run the handler, ack on success.
//!
//! Owns polling, batching, back-off while Redis is down, and the [`Clock`] seam. Must not decide
//! what a timer means (that is the handler's job) nor log payloads or handler internals beyond
//! the error the handler returns. Handlers must be idempotent: a timer is delivered at least
//! once, and again after its lease if the handler failed, panicked, or the process died.

use super::{Claimed, Timer, TimerQueue};
use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Where the worker reads the time. Tests pass a closure over a controlled instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

impl<F: Fn() -> DateTime<Utc> + Send + Sync> Clock for F {
    fn now(&self) -> DateTime<Utc> {
        self()
    }
}

/// Runs one fired timer. Must be idempotent (see the module docs). An `Err` leaves the timer
/// claimed: it is retried once its lease runs out. The error is logged, so it must not contain
/// secrets. Any `Fn(Timer) -> impl Future<Output = anyhow::Result<()>>` closure is a handler.
pub trait TimerHandler: Send + Sync {
    fn handle(&self, timer: Timer) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl<F, Fut> TimerHandler for F
where
    F: Fn(Timer) -> Fut + Send + Sync,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    fn handle(&self, timer: Timer) -> impl Future<Output = anyhow::Result<()>> + Send {
        self(timer)
    }
}

/// Tuning of [`run_worker`].
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Sleep between polls when the last batch was not full.
    pub poll_interval: Duration,
    /// How long a claim is exclusive; also the retry delay after a handler error. Must exceed
    /// the slowest handler run, or a timer may run twice concurrently.
    pub lease: Duration,
    /// Timers claimed per poll (at most [`MAX_CLAIM`](super::queue::MAX_CLAIM)).
    pub batch_size: usize,
    /// Handlers running at once within a batch.
    pub concurrency: usize,
    /// Longest wait between polls while Redis fails (doubling from `poll_interval`).
    pub max_backoff: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            poll_interval: Duration::from_millis(200),
            lease: Duration::from_secs(60),
            batch_size: 100,
            concurrency: 4,
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What one worker did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Handler succeeded and the ack was accepted.
    pub acked: u64,
    /// Handler returned an error or panicked (timer left for retry).
    pub failed: u64,
    /// Handler succeeded but the ack was rejected: the claim was lost meanwhile.
    pub lost: u64,
    /// Claim or ack calls that failed at Redis.
    pub redis_errors: u64,
}

enum Outcome {
    Acked,
    Failed,
    Lost,
    AckError,
}

/// Polls `queue` until `shutdown` completes, running `handler` on each claimed timer and acking
/// it on success. A batch already claimed is finished before the loop stops, so its acks are not
/// left to lease expiry. Redis errors are logged and retried with back-off; they never end the
/// loop.
pub async fn run_worker<H, C, S>(
    queue: TimerQueue,
    handler: H,
    clock: C,
    shutdown: S,
    config: WorkerConfig,
) -> WorkerStats
where
    H: TimerHandler,
    C: Clock,
    S: Future<Output = ()>,
{
    let mut shutdown = pin!(shutdown);
    let mut stats = WorkerStats::default();
    let lease_ms = u64::try_from(config.lease.as_millis()).unwrap_or(u64::MAX);
    let batch_size = config.batch_size.max(1);
    let mut backoff = config.poll_interval;
    loop {
        if let Poll::Ready(()) = futures::poll!(shutdown.as_mut()) {
            break;
        }
        let wait = match queue.claim(clock.now().timestamp_millis(), lease_ms, batch_size).await {
            Err(err) => {
                stats.redis_errors += 1;
                tracing::warn!(error = %err, "claiming timers failed; retrying");
                let wait = backoff;
                backoff = (backoff * 2).min(config.max_backoff.max(config.poll_interval));
                wait
            }
            Ok(batch) => {
                backoff = config.poll_interval;
                let full = batch.len() >= batch_size;
                run_batch(&queue, &handler, batch, config.concurrency, &mut stats).await;
                if full {
                    continue;
                }
                config.poll_interval
            }
        };
        tokio::select! {
            () = shutdown.as_mut() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    stats
}

async fn run_batch<H: TimerHandler>(
    queue: &TimerQueue,
    handler: &H,
    batch: Vec<Claimed>,
    concurrency: usize,
    stats: &mut WorkerStats,
) {
    let outcomes: Vec<Outcome> = futures::stream::iter(batch)
        .map(|claimed| run_one(queue, handler, claimed))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for outcome in outcomes {
        match outcome {
            Outcome::Acked => stats.acked += 1,
            Outcome::Failed => stats.failed += 1,
            Outcome::Lost => stats.lost += 1,
            Outcome::AckError => stats.redis_errors += 1,
        }
    }
}

async fn run_one<H: TimerHandler>(queue: &TimerQueue, handler: &H, claimed: Claimed) -> Outcome {
    let id = claimed.timer.id.clone();
    let kind = claimed.timer.kind.as_str();
    let attempt = claimed.attempt();
    let run = AssertUnwindSafe(handler.handle(claimed.timer.clone())).catch_unwind().await;
    match run {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::warn!(timer_id = %id, kind, attempt, error = %format!("{err:#}"),
                "timer handler failed; retrying after its lease");
            return Outcome::Failed;
        }
        Err(_) => {
            tracing::warn!(timer_id = %id, kind, attempt, "timer handler panicked; retrying after its lease");
            return Outcome::Failed;
        }
    }
    match queue.ack(&claimed).await {
        Ok(true) => Outcome::Acked,
        Ok(false) => {
            tracing::warn!(timer_id = %id, kind, attempt,
                "timer ack rejected: its claim was taken over, re-scheduled or cancelled");
            Outcome::Lost
        }
        Err(err) => {
            tracing::warn!(timer_id = %id, kind, attempt, error = %err,
                "timer ack failed; it will run again after its lease");
            Outcome::AckError
        }
    }
}
