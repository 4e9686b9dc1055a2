//! The grants worker: claims due timers, runs them (grant timers here, approval timeouts in the
//! bot's [`ExtraTimerHandler`]), acks on success, and backs a failing timer off by extending its
//! lease (`retry_base * 2^(attempt-1)`, capped); plus the reconcile loop (at start, then every
//! `reconcile_every`).
//!
//! Owns the loop and its back-off. Uses the public [`TimerQueue`] primitives (claim, ack,
//! extend) rather than `timers::run_worker`, whose retry delay is one fixed lease. Must not
//! decide what a timer means, and logs ids and kinds only.

use super::service::GrantService;
use super::timers::TimerOutcome;
use crate::timers::{Claimed, Timer, TimerError, TimerQueue};
use futures::{FutureExt, StreamExt};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

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

enum Outcome {
    Acked,
    Failed,
    Lost,
    RedisError,
}

/// Runs the timer worker and the reconcile loop until `shutdown` completes. A claimed batch is
/// finished before stopping. Redis and PostgreSQL errors are logged and retried, never fatal.
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
    let mut shutdown = pin!(shutdown);
    let mut stats = RunStats::default();
    let mut next_reconcile = Instant::now();
    let mut backoff = settings.poll_interval;
    let max_backoff = settings.retry_max.max(settings.poll_interval);
    loop {
        if let Poll::Ready(()) = futures::poll!(shutdown.as_mut()) {
            break;
        }
        if Instant::now() >= next_reconcile {
            next_reconcile = Instant::now() + settings.reconcile_every;
            match service.reconcile().await {
                Ok(report) => {
                    stats.reconciles += 1;
                    if !report.is_empty() {
                        tracing::warn!(
                            restored = report.restored.len(),
                            orphans = report.orphan_sessions_ended.len(),
                            "reconcile acted"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reconcile failed; retrying next period"),
            }
        }
        let wait = match poll_once(&service, &queue, extra_handler.as_deref(), &mut stats).await {
            Ok(full) => {
                backoff = settings.poll_interval;
                if full {
                    continue;
                }
                settings.poll_interval
            }
            Err(e) => {
                stats.redis_errors += 1;
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
    stats
}

/// Claims and runs one batch. Returns whether the batch was full (more may be due).
async fn poll_once(
    service: &GrantService,
    queue: &TimerQueue,
    extra: Option<&dyn ExtraTimerHandler>,
    stats: &mut RunStats,
) -> Result<bool, TimerError> {
    let settings = service.settings();
    let lease_ms = millis(settings.lease);
    let batch =
        queue.claim(service.now().timestamp_millis(), lease_ms, settings.batch_size).await?;
    let full = batch.len() >= settings.batch_size.max(1);
    let outcomes: Vec<Outcome> = futures::stream::iter(batch)
        .map(|claimed| run_one(service, queue, extra, claimed))
        .buffer_unordered(4)
        .collect()
        .await;
    for o in outcomes {
        match o {
            Outcome::Acked => stats.acked += 1,
            Outcome::Failed => stats.failed += 1,
            Outcome::Lost => stats.lost += 1,
            Outcome::RedisError => stats.redis_errors += 1,
        }
    }
    Ok(full)
}

async fn run_one(
    service: &GrantService,
    queue: &TimerQueue,
    extra: Option<&dyn ExtraTimerHandler>,
    claimed: Claimed,
) -> Outcome {
    let timer = &claimed.timer;
    let (id, kind, attempt) = (timer.id.as_str(), timer.kind.as_str(), claimed.attempt());
    let run = AssertUnwindSafe(dispatch(service, extra, timer)).catch_unwind().await;
    let error = match run {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(_) => Some("the handler panicked".to_owned()),
    };
    if let Some(error) = error {
        let retry = service.settings().retry_after(attempt);
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
