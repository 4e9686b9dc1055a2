//! The ApprovalTimeout timer: a request that did not collect its approvals in time is closed,
//! with a note in its thread and the message updated.
//!
//! Idempotent (a timer may run twice): `Request::on_timeout` ignores a request that is no longer
//! pending, and the compare-and-swap makes a concurrent approval win or lose cleanly.

use super::store::Updated;
use super::Workflow;
use crate::access::Rejection;
use crate::timers::{Timer, TimerKind};

impl Workflow {
    /// Runs `timer` if it is an ApprovalTimeout; returns whether it was one. An `Err` leaves the
    /// timer for a retry after its lease.
    pub async fn handle_timer(&self, timer: &Timer) -> anyhow::Result<bool> {
        if timer.kind != TimerKind::ApprovalTimeout {
            return Ok(false);
        }
        let now = self.now();
        let lag = (now - timer.due_at).num_milliseconds() as f64 / 1000.0;
        self.inner.metrics.timer_lag(lag);
        let Some(id) = timer.payload.request_id.as_deref() else {
            tracing::warn!(timer_id = %timer.id, "approval timer without a request id; dropped");
            return Ok(true);
        };
        match self.inner.store.update(id, |r| Ok::<_, Rejection>(r.on_timeout(now))).await? {
            Updated::Changed { request, transition } => {
                Box::pin(self.after(request, transition, None)).await;
            }
            Updated::Unchanged { .. } | Updated::Missing | Updated::Refused { .. } => {}
        }
        Ok(true)
    }
}

/// The grants worker's extra handler: ApprovalTimeout timers (other kinds are skipped).
#[derive(Clone)]
pub struct ApprovalTimeoutHandler(pub Workflow);

#[async_trait::async_trait]
impl crate::grants::ExtraTimerHandler for ApprovalTimeoutHandler {
    async fn handle(&self, timer: &Timer) -> anyhow::Result<()> {
        self.0.handle_timer(timer).await.map(|_| ())
    }
}
