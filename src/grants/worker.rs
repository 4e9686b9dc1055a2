//! The grants worker: claims due timers and runs each one as its own task (grant timers here,
//! approval timeouts in the bot's [`ExtraTimerHandler`]), acks on success, and backs a failing
//! timer off by extending its lease (`retry_base * 2^(attempt-1)`, capped); plus the reconcile
//! loop (at start, then every `reconcile_every`) in a task of its own.
//!
//! One stalled call never delays another grant's expiry: the claim loop does not wait for a
//! batch; it claims again while earlier timers run, up to [`MAX_IN_FLIGHT`] at once (every
//! broker call has a deadline, so a stalled timer frees its slot). All tasks are tracked
//! (`tokio_util::task::TaskTracker`): on shutdown claiming stops and in-flight timers finish;
//! one that fails during shutdown is released at once (lease cut to zero) so another replica
//! retries it without waiting out the lease.
//!
//! Owns the loop, its back-off and the worker's heartbeat. Uses the public [`TimerQueue`]
//! primitives (claim, ack, extend) rather than `timers::run_worker`, whose retry delay is one
//! fixed lease. Must not decide what a timer means, and logs ids and kinds only.

use super::service::GrantService;
use super::timers::TimerOutcome;
use crate::timers::{Claimed, Timer, TimerError, TimerKind, TimerQueue};
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Timers handled at once by one process.
pub const MAX_IN_FLIGHT: usize = 32;

/// Handles the timers that are not grant timers (the bot: approval timeouts). Object safe, so
/// the bot passes an `Arc<dyn ExtraTimerHandler>`. Must be idempotent; `Err` means retry.
#[async_trait::async_trait]
pub trait ExtraTimerHandler: Send + Sync {
    async fn handle(&self, timer: &Timer) -> anyhow::Result<()>;
}

/// What [`run`] did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Handled and acknowledged.
    pub acked: u64,
    /// Handler failed; the timer was backed off for a retry.
    pub failed: u64,
    /// Handled, but the ack was rejected (the claim was lost or the timer re-scheduled).
    pub lost: u64,
    /// Claim, ack or extend calls that failed at Redis.
    pub redis_errors: u64,
    /// Reconcile passes that completed.
    pub reconciles: u64,
}

/// [`RunStats`] shared by the tasks.
#[derive(Default)]
struct Counters {
    acked: AtomicU64,
    failed: AtomicU64,
    lost: AtomicU64,
    redis_errors: AtomicU64,
    reconciles: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> RunStats {
        RunStats {
            acked: self.acked.load(Ordering::SeqCst),
            failed: self.failed.load(Ordering::SeqCst),
            lost: self.lost.load(Ordering::SeqCst),
            redis_errors: self.redis_errors.load(Ordering::SeqCst),
            reconciles: self.reconciles.load(Ordering::SeqCst),
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
struct Shared {
    service: Arc<GrantService>,
    queue: TimerQueue,
    extra: Option<Arc<dyn ExtraTimerHandler>>,
    counters: Counters,
    /// Cancelled when the worker is asked to stop.
    stopping: CancellationToken,
}

/// Runs the timer worker and the reconcile loop until `shutdown` completes, then waits for the
/// timers in flight. Redis and PostgreSQL errors are logged and retried, never fatal.
pub async fn run<S>(
    service: Arc<GrantService>,
    queue: TimerQueue,
    shutdown: S,
    extra_handler: Option<Arc<dyn ExtraTimerHandler>>,
) -> RunStats
where
    S: Future<Output = ()>,
{
    let settings = service.settings().clone();
    let shared = Arc::new(Shared {
        service,
        queue,
        extra: extra_handler,
        counters: Counters::default(),
        stopping: CancellationToken::new(),
    });
    let tracker = TaskTracker::new();
    tracker.spawn(reconcile_loop(shared.clone()));
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut shutdown = pin!(shutdown);
    let mut backoff = settings.poll_interval;
    let max_backoff = settings.retry_max.max(settings.poll_interval);
    loop {
        if let Poll::Ready(()) = futures::poll!(shutdown.as_mut()) {
            break;
        }
        let wait = match poll_once(&shared, &tracker, &slots).await {
            Ok(full) => {
                backoff = settings.poll_interval;
                if full {
                    continue;
                }
                settings.poll_interval
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
    shared.stopping.cancel();
    tracker.close();
    tracker.wait().await;
    shared.counters.snapshot()
}

/// Reconciles at start and every `reconcile_every`, until the worker stops.
async fn reconcile_loop(shared: Arc<Shared>) {
    let every = shared.service.settings().reconcile_every;
    loop {
        let pass = AssertUnwindSafe(shared.service.reconcile()).catch_unwind();
        let res = tokio::select! {
            () = shared.stopping.cancelled() => return,
            res = pass => res,
        };
        shared.service.watch().reconcile_done();
        match res {
            Ok(Ok(report)) => {
                shared.counters.reconciles.fetch_add(1, Ordering::SeqCst);
                if !report.is_empty() {
                    tracing::warn!(
                        restored = report.restored.len(),
                        orphans = report.orphan_sessions_ended.len(),
                        "reconcile acted"
                    );
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "reconcile failed; retrying next period"),
            Err(_) => tracing::error!("reconcile panicked; retrying next period"),
        }
        tokio::select! {
            () = shared.stopping.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Claims as many due timers as there are free slots and spawns one task per timer. Returns
/// whether the claim was full (more may be due). Does not wait for the timers to finish.
async fn poll_once(
    shared: &Arc<Shared>,
    tracker: &TaskTracker,
    slots: &Arc<Semaphore>,
) -> Result<bool, TimerError> {
    let service = &shared.service;
    let settings = service.settings();
    // At least one slot, or nothing to claim into: wait for a running timer to finish.
    let Ok(first) = slots.clone().acquire_owned().await else {
        return Ok(false); // never closed
    };
    let room = (slots.available_permits() + 1).min(settings.batch_size.max(1));
    // Without the bot's handler, approval timeouts are left to a process that has it.
    let kinds: Option<&[TimerKind]> =
        shared.extra.is_none().then_some(&[TimerKind::Expire, TimerKind::Reminder]);
    let batch = shared
        .queue
        .claim_kinds(service.now().timestamp_millis(), millis(settings.lease), room, kinds)
        .await;
    service.watch().beat(service.now());
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

async fn run_one(shared: &Shared, claimed: Claimed) -> Outcome {
    let (service, queue) = (&*shared.service, &shared.queue);
    let timer = &claimed.timer;
    let (id, kind, attempt) = (timer.id.as_str(), timer.kind.as_str(), claimed.attempt());
    let run =
        AssertUnwindSafe(dispatch(service, shared.extra.as_deref(), timer)).catch_unwind().await;
    let error = match run {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            if timer.kind == TimerKind::Expire {
                service.watch().expiry_failed(failure_reason(&e));
            }
            Some(format!("{e:#}"))
        }
        Err(_) => {
            if timer.kind == TimerKind::Expire {
                service.watch().expiry_failed("panic");
            }
            Some("the handler panicked".to_owned())
        }
    };
    if let Some(error) = error {
        // Stopping: release it now, so another replica retries at once.
        let retry = if shared.stopping.is_cancelled() {
            Duration::ZERO
        } else {
            service.settings().retry_after(attempt)
        };
        tracing::warn!(timer_id = %id, kind, attempt, retry_in_ms = millis(retry), error = %error,
            "timer failed; backing off");
        let now = service.now().timestamp_millis();
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

async fn dispatch(
    service: &GrantService,
    extra: Option<&dyn ExtraTimerHandler>,
    timer: &Timer,
) -> anyhow::Result<()> {
    match service.handle_timer(timer).await? {
        TimerOutcome::Handled => Ok(()),
        TimerOutcome::NotMine => match extra {
            Some(h) => h.handle(timer).await,
            None => anyhow::bail!("no handler for {} timers in this process", timer.kind.as_str()),
        },
    }
}

/// A fixed word for the failed-expiry metric.
fn failure_reason(e: &anyhow::Error) -> &'static str {
    match e.downcast_ref::<super::GrantError>() {
        Some(super::GrantError::Unavailable(_)) => "unavailable",
        Some(super::GrantError::Broker(_)) => "database",
        Some(_) => "other",
        None => "other",
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
