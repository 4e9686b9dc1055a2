//! The grants worker: the one timer loop ([`crate::timers::run_worker`]: one task per claimed
//! timer, up to [`MAX_IN_FLIGHT`] at once, acks on success, a failing timer backed off by
//! extending its lease `retry_base * 2^(attempt-1)`, capped) with the grants' handler (grant
//! timers here, approval timeouts in the bot's [`ExtraTimerHandler`]); plus the reconcile loop
//! (at start, then every `reconcile_every`) in a task of its own.
//!
//! Owns what the loop does for grants: which kinds this process claims, the worker's heartbeat,
//! the failed-expiry metric, and the reconciler's schedule. Must not decide what a timer means
//! (that is `GrantService::handle_timer`), and logs ids and kinds only.

use super::service::GrantService;
use super::timers::TimerOutcome;
use crate::timers::{run_worker, Retry, Timer, TimerHandler, TimerKind, TimerQueue, WorkerConfig};
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

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

impl super::GrantSettings {
    /// The timer loop's tuning for grants.
    pub(crate) fn worker_config(&self) -> WorkerConfig {
        WorkerConfig {
            poll_interval: self.poll_interval,
            lease: self.lease,
            batch_size: self.batch_size,
            concurrency: MAX_IN_FLIGHT,
            max_backoff: self.retry_max,
            retry: Retry::Doubling { base: self.retry_base, max: self.retry_max },
        }
    }
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
    let config = service.settings().worker_config();
    let stopping = CancellationToken::new();
    let reconciles = Arc::new(AtomicU64::new(0));
    let reconcile =
        tokio::spawn(reconcile_loop(service.clone(), stopping.clone(), reconciles.clone()));
    let clock = {
        let service = service.clone();
        move || service.now()
    };
    let handler = GrantTimers { service, extra: extra_handler };
    let stop = stopping.clone();
    let shutdown = async move {
        shutdown.await;
        stop.cancel();
    };
    let stats = run_worker(queue, handler, clock, shutdown, config).await;
    stopping.cancel();
    let _ = reconcile.await;
    RunStats {
        acked: stats.acked,
        failed: stats.failed,
        lost: stats.lost,
        redis_errors: stats.redis_errors,
        reconciles: reconciles.load(Ordering::SeqCst),
    }
}

/// A fleet's request queue (issue 16): only the timers of [`ExtraTimerHandler`] (approval
/// timeouts) live there, each target's grant timers in its own queue. `service` lends its
/// tuning, clock and heartbeat; no reconcile loop runs here.
pub async fn run_extra_only<S>(
    service: Arc<GrantService>,
    queue: TimerQueue,
    shutdown: S,
    extra: Arc<dyn ExtraTimerHandler>,
) -> RunStats
where
    S: Future<Output = ()>,
{
    let config = service.settings().worker_config();
    let clock = {
        let service = service.clone();
        move || service.now()
    };
    let stats = run_worker(queue, ExtraOnly { service, extra }, clock, shutdown, config).await;
    RunStats {
        acked: stats.acked,
        failed: stats.failed,
        lost: stats.lost,
        redis_errors: stats.redis_errors,
        reconciles: 0,
    }
}

struct ExtraOnly {
    service: Arc<GrantService>,
    extra: Arc<dyn ExtraTimerHandler>,
}

impl TimerHandler for ExtraOnly {
    async fn handle(&self, timer: Timer) -> anyhow::Result<()> {
        match AssertUnwindSafe(self.extra.handle(&timer)).catch_unwind().await {
            Ok(res) => res,
            Err(_) => anyhow::bail!("the handler panicked"),
        }
    }

    fn kinds(&self) -> Option<&'static [TimerKind]> {
        Some(&[TimerKind::ApprovalTimeout, TimerKind::BreakGlassReview])
    }

    fn polled(&self) {
        self.service.watch().beat(self.service.now());
    }
}

/// The grants' timer handler: grant timers, then the extra handler for the rest.
struct GrantTimers {
    service: Arc<GrantService>,
    extra: Option<Arc<dyn ExtraTimerHandler>>,
}

impl TimerHandler for GrantTimers {
    async fn handle(&self, timer: Timer) -> anyhow::Result<()> {
        let service = &*self.service;
        let run =
            AssertUnwindSafe(dispatch(service, self.extra.as_deref(), &timer)).catch_unwind().await;
        let expire = timer.kind == TimerKind::Expire;
        match run {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                if expire {
                    service.watch().expiry_failed(failure_reason(&e));
                }
                Err(e)
            }
            Err(_) => {
                if expire {
                    service.watch().expiry_failed("panic");
                }
                anyhow::bail!("the handler panicked")
            }
        }
    }

    /// Without the bot's handler, approval timeouts and break-glass reviews are left to a
    /// process that has it.
    fn kinds(&self) -> Option<&'static [TimerKind]> {
        self.extra.is_none().then_some(&[TimerKind::Expire, TimerKind::Reminder, TimerKind::Sweep])
    }

    fn polled(&self) {
        self.service.watch().beat(self.service.now());
    }
}

/// Reconciles at start and every `reconcile_every`, until the worker stops.
async fn reconcile_loop(
    service: Arc<GrantService>,
    stopping: CancellationToken,
    passes: Arc<AtomicU64>,
) {
    let every = service.settings().reconcile_every;
    loop {
        let pass = AssertUnwindSafe(service.reconcile()).catch_unwind();
        let res = tokio::select! {
            () = stopping.cancelled() => return,
            res = pass => res,
        };
        service.watch().reconcile_done();
        match res {
            Ok(Ok(report)) => {
                passes.fetch_add(1, Ordering::SeqCst);
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
            () = stopping.cancelled() => return,
            () = tokio::time::sleep(every) => {}
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
