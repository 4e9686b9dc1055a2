//! The one timer worker loop: claim due timers, run each one as its own task, ack on success,
//! back a failing timer off by extending its lease, stop on shutdown.
//!
//! One stalled handler never delays another timer: the loop does not wait for a batch; it
//! claims again while earlier timers run, up to [`WorkerConfig::concurrency`] at once. All tasks
//! are tracked: on shutdown claiming stops and in-flight timers finish; one that fails during
//! shutdown is released at once (lease cut to zero) so another replica retries it without
//! waiting out the lease.
//!
//! Owns polling, back-off while Redis is down, the retry delay of a failing timer, and the
//! [`Clock`] seam. Must not decide what a timer means (that is the [`TimerHandler`]'s job; the
//! grants worker is one) nor log payloads or handler internals beyond the error the handler
//! returns. Handlers must be idempotent: a timer is delivered at least once, and again after
//! its retry delay if the handler failed, panicked, or the process died.

use super::{Claimed, Timer, TimerKind, TimerQueue};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

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

/// Runs one fired timer. Must be idempotent (see the module docs). An `Err` (or a panic) backs
/// the timer off: it is retried after [`WorkerConfig::retry`]. The error is logged, so it must
/// not contain secrets. Any `Fn(Timer) -> impl Future<Output = anyhow::Result<()>>` closure is a
/// handler of every kind.
pub trait TimerHandler: Send + Sync + 'static {
    fn handle(&self, timer: Timer) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The kinds this worker claims (`None`: every kind); the others are left to a worker that
    /// handles them.
    fn kinds(&self) -> Option<&'static [TimerKind]> {
        None
    }

    /// Called after every claim (whatever its outcome): the worker's heartbeat.
    fn polled(&self) {}
}

impl<F, Fut> TimerHandler for F
where
    F: Fn(Timer) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    fn handle(&self, timer: Timer) -> impl Future<Output = anyhow::Result<()>> + Send {
        self(timer)
    }
}

/// When a failed timer is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// After one lease.
    AfterLease,
    /// `base * 2^(attempt-1)`, capped at `max` (at least `base`).
    Doubling { base: Duration, max: Duration },
}

impl Retry {
    /// Retry delay after the `attempt`-th failure.
    pub fn after(self, attempt: u32, lease: Duration) -> Duration {
        match self {
            Retry::AfterLease => lease,
            Retry::Doubling { base, max } => {
                let shift = attempt.saturating_sub(1).min(20);
                base.saturating_mul(1u32 << shift).min(max.max(base))
            }
        }
    }
}

/// Tuning of [`run_worker`].
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Sleep between polls when the last claim was not full.
    pub poll_interval: Duration,
    /// How long a claim is exclusive. Must exceed the slowest handler run, or a timer may run
    /// twice concurrently.
    pub lease: Duration,
    /// Timers claimed per poll (at most [`MAX_CLAIM`](super::queue::MAX_CLAIM)).
    pub batch_size: usize,
    /// Timers handled at once by this worker.
    pub concurrency: usize,
    /// Longest wait between polls while Redis fails (doubling from `poll_interval`).
    pub max_backoff: Duration,
    /// When a failed timer is tried again.
    pub retry: Retry,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            poll_interval: Duration::from_millis(200),
            lease: Duration::from_secs(60),
            batch_size: 100,
            concurrency: 4,
            max_backoff: Duration::from_secs(5),
            retry: Retry::AfterLease,
        }
    }
}

/// What one worker did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Handler succeeded and the ack was accepted.
    pub acked: u64,
    /// Handler returned an error or panicked (timer backed off for a retry).
    pub failed: u64,
    /// Handler succeeded but the ack was rejected: the claim was lost meanwhile.
    pub lost: u64,
    /// Claim, ack or extend calls that failed at Redis.
    pub redis_errors: u64,
}

/// [`WorkerStats`] shared by the tasks.
#[derive(Default)]
struct Counters {
    acked: AtomicU64,
    failed: AtomicU64,
    lost: AtomicU64,
    redis_errors: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> WorkerStats {
        WorkerStats {
            acked: self.acked.load(Ordering::SeqCst),
            failed: self.failed.load(Ordering::SeqCst),
            lost: self.lost.load(Ordering::SeqCst),
            redis_errors: self.redis_errors.load(Ordering::SeqCst),
        }
    }
}

enum Outcome {
    Acked,
    Failed,
    Lost,
    RedisError,
}

/// What the spawned tasks share.
struct Shared<H, C> {
    queue: TimerQueue,
    handler: H,
    clock: C,
    config: WorkerConfig,
    counters: Counters,
    /// Set when the worker is asked to stop.
    stopping: std::sync::atomic::AtomicBool,
}

/// Polls `queue` until `shutdown` completes, running `handler` on each claimed timer in a task
/// of its own, then waits for the timers in flight. Redis errors are logged and retried with
/// back-off; they never end the loop.
pub async fn run_worker<H, C, S>(
    queue: TimerQueue,
    handler: H,
    clock: C,
    shutdown: S,
    config: WorkerConfig,
) -> WorkerStats
where
    H: TimerHandler,
    C: Clock + 'static,
    S: Future<Output = ()>,
{
    let shared = Arc::new(Shared {
        queue,
        handler,
        clock,
        config,
        counters: Counters::default(),
        stopping: std::sync::atomic::AtomicBool::new(false),
    });
    let tracker = TaskTracker::new();
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut shutdown = pin!(shutdown);
    let mut backoff = config.poll_interval;
    let max_backoff = config.max_backoff.max(config.poll_interval);
    loop {
        if let Poll::Ready(()) = futures::poll!(shutdown.as_mut()) {
            break;
        }
        let wait = match poll_once(&shared, &tracker, &slots).await {
            Ok(full) => {
                backoff = config.poll_interval;
                if full {
                    continue;
                }
                config.poll_interval
            }
            Err(e) => {
                shared.counters.redis_errors.fetch_add(1, Ordering::SeqCst);
                tracing::warn!(error = %e, "claiming timers failed; retrying");
                let wait = backoff;
                backoff = (backoff * 2).min(max_backoff);
                wait
            }
        };
        tokio::select! {
            () = shutdown.as_mut() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    shared.stopping.store(true, Ordering::SeqCst);
    tracker.close();
    tracker.wait().await;
    shared.counters.snapshot()
}

/// Claims as many due timers as there are free slots and spawns one task per timer. Returns
/// whether the claim was full (more may be due). Does not wait for the timers to finish.
async fn poll_once<H: TimerHandler, C: Clock + 'static>(
    shared: &Arc<Shared<H, C>>,
    tracker: &TaskTracker,
    slots: &Arc<Semaphore>,
) -> Result<bool, super::TimerError> {
    // At least one slot, or nothing to claim into: wait for a running timer to finish.
    let Ok(first) = slots.clone().acquire_owned().await else {
        return Ok(false); // never closed
    };
    let room = (slots.available_permits() + 1).min(shared.config.batch_size.max(1));
    let now = shared.clock.now().timestamp_millis();
    let lease = millis(shared.config.lease);
    let batch = shared.queue.claim_kinds(now, lease, room, shared.handler.kinds()).await;
    shared.handler.polled();
    let batch = batch?;
    let full = batch.len() >= room;
    let mut first = Some(first);
    for claimed in batch {
        // `room` permits were free and only this loop takes them: this never comes up empty.
        let permit = first.take().or_else(|| slots.clone().try_acquire_owned().ok());
        let shared = shared.clone();
        tracker.spawn(async move {
            let outcome = run_one(&shared, claimed).await;
            let c = &shared.counters;
            match outcome {
                Outcome::Acked => c.acked.fetch_add(1, Ordering::SeqCst),
                Outcome::Failed => c.failed.fetch_add(1, Ordering::SeqCst),
                Outcome::Lost => c.lost.fetch_add(1, Ordering::SeqCst),
                Outcome::RedisError => c.redis_errors.fetch_add(1, Ordering::SeqCst),
            };
            drop(permit);
        });
    }
    Ok(full)
}

async fn run_one<H: TimerHandler, C: Clock>(shared: &Shared<H, C>, claimed: Claimed) -> Outcome {
    let (queue, config) = (&shared.queue, &shared.config);
    let timer = &claimed.timer;
    let (id, kind, attempt) = (timer.id.as_str(), timer.kind.as_str(), claimed.attempt());
    let run = AssertUnwindSafe(shared.handler.handle(timer.clone())).catch_unwind().await;
    let error = match run {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(_) => Some("the handler panicked".to_owned()),
    };
    if let Some(error) = error {
        // Stopping: release it now, so another replica retries at once.
        let retry = if shared.stopping.load(Ordering::SeqCst) {
            Duration::ZERO
        } else {
            config.retry.after(attempt, config.lease)
        };
        tracing::warn!(timer_id = %id, kind, attempt, retry_in_ms = millis(retry), error = %error,
            "timer failed; backing off");
        let now = shared.clock.now().timestamp_millis();
        return match queue.extend(&claimed, now, millis(retry)).await {
            Ok(_) => Outcome::Failed,
            Err(e) => {
                tracing::warn!(timer_id = %id, error = %e, "backing off failed");
                Outcome::RedisError
            }
        };
    }
    match queue.ack(&claimed).await {
        Ok(true) => Outcome::Acked,
        Ok(false) => {
            tracing::warn!(timer_id = %id, kind, attempt, "timer ack rejected: claim lost");
            Outcome::Lost
        }
        Err(e) => {
            tracing::warn!(timer_id = %id, kind, error = %e, "timer ack failed; it will rerun");
            Outcome::RedisError
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_doubles_up_to_its_cap_or_waits_one_lease() {
        let r = Retry::Doubling { base: Duration::from_secs(2), max: Duration::from_secs(60) };
        let lease = Duration::from_secs(30);
        assert_eq!(r.after(1, lease), Duration::from_secs(2));
        assert_eq!(r.after(2, lease), Duration::from_secs(4));
        assert_eq!(r.after(5, lease), Duration::from_secs(32));
        assert_eq!(r.after(6, lease), Duration::from_secs(60));
        assert_eq!(r.after(u32::MAX, lease), Duration::from_secs(60));
        assert_eq!(Retry::AfterLease.after(3, lease), lease);
    }
}
