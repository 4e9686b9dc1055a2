//! The ApprovalTimeout timer of a request. While the request is pending it is the approval
//! deadline: a request that did not collect its approvals in time is closed, with a note in its
//! thread and the message updated. Once approved it becomes the issuing deadline: while the
//! issuer holds its lease the deadline is re-armed (a slow issue is not reported as failed); if
//! the process that was issuing died, the request is settled from what the grant service knows.
//!
//! Idempotent (a timer may run twice): `Request::on_timeout` ignores a request that is no longer
//! pending, `on_issued`/`on_issue_failed` one that is no longer approved, and the
//! compare-and-swap makes concurrent changes win or lose cleanly.

use super::{approval_timer_id, Workflow};
use crate::access::text::notes;
use crate::access::{Rejection, Request, RequestState};
use crate::timers::Updated;
use crate::timers::{Timer, TimerKind, TimerPayload};
use std::time::Duration;

/// How long issuing may take after the deciding approval before the timer looks at the request.
/// If the issuer still holds its lease then, the deadline is re-armed; otherwise the request is
/// settled from what the grant service recorded.
pub const ISSUE_DEADLINE: Duration = Duration::from_secs(60);

/// The longest an issuer holds its lease (a process that died while issuing frees it then).
pub const ISSUE_LEASE: Duration = Duration::from_secs(10 * 60);

impl Workflow {
    /// Runs `timer` if it is an ApprovalTimeout (or a break-glass review); returns whether it
    /// was one. An `Err` leaves the
    /// timer for a retry after its lease.
    pub async fn handle_timer(&self, timer: &Timer) -> anyhow::Result<bool> {
        if timer.kind == TimerKind::BreakGlassReview {
            self.review_timer(timer).await?;
            return Ok(true);
        }
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
        let updated = self
            .inner
            .store
            .update_with_notes(
                id,
                |r| Ok::<_, Rejection>(r.on_timeout(now)),
                |r, t| self.outbox_notes(&self.transition_notes(r, t, None)),
            )
            .await?;
        match updated {
            Updated::Changed { request, transition } => {
                Box::pin(self.after(request, transition, None)).await;
            }
            Updated::Unchanged { request, .. }
                if matches!(request.state(), RequestState::Approved { .. }) =>
            {
                // A slow issue is not a dead one: while its issuer holds the lease, wait for
                // the issuer's own (true) outcome instead of guessing.
                if self.inner.store.is_issuing(&request).await? {
                    tracing::info!(request_id = %id, "issuing still in progress; deadline re-armed");
                    self.schedule_issue_deadline(&request).await;
                } else {
                    self.settle_interrupted(request).await?;
                }
            }
            Updated::Unchanged { .. } | Updated::Missing | Updated::Refused { .. } => {}
        }
        Ok(true)
    }

    /// Re-arms the request's timer as its issuing deadline.
    pub(super) async fn schedule_issue_deadline(&self, req: &Request) {
        let id = req.id().as_str();
        let due = self.now() + chrono::Duration::from_std(ISSUE_DEADLINE).unwrap_or_default();
        let payload = TimerPayload {
            level: Some(req.level().as_str().to_owned()),
            request_id: Some(id.to_owned()),
            incident: Some(req.incident().to_string()),
            ..TimerPayload::default()
        };
        let timer = Timer::new(approval_timer_id(id), TimerKind::ApprovalTimeout, due, payload);
        if let Err(e) = self.inner.queue.schedule(&timer).await {
            tracing::warn!(error = %e, request_id = %id, "could not arm the issuing deadline");
        }
    }

    /// An approved request whose issuer is gone (its lease expired: the process died): issued
    /// if the grant service recorded its grant as set and delivered, failed otherwise (a grant
    /// set but never delivered is expired by the reconciler); either way it is closed.
    async fn settle_interrupted(&self, req: Request) -> anyhow::Result<()> {
        let id = req.id().as_str().to_owned();
        let target = self.target_of(&req).ok_or_else(|| anyhow::anyhow!("unknown target"))?;
        let grant = target.grants.active_of(req.level(), req.requester()).await?;
        let ours = grant.filter(|g| g.request_id.as_ref() == Some(req.id()) && g.delivered);
        let now = self.now();
        let reason = "issuing did not finish (the bot stopped)";
        let (stored, pending) = match &ours {
            Some(g) => {
                let at = g.granted_at;
                let stored =
                    self.inner.store.update(&id, |r| Ok::<_, Rejection>(r.on_issued(at))).await?;
                (stored, Vec::new())
            }
            None => {
                // Committed with the change: a second crash here loses none of them.
                let pending = self.not_issued_notes(
                    &req,
                    Some(notes::ISSUE_INTERRUPTED),
                    notes::ISSUE_INTERRUPTED_REASON,
                );
                let stored = self
                    .inner
                    .store
                    .update_with_notes(
                        &id,
                        |r| Ok::<_, Rejection>(r.on_issue_failed(reason, now)),
                        |_, _| self.outbox_notes(&pending),
                    )
                    .await?;
                (stored, pending)
            }
        };
        self.inner.store.close(&req).await?;
        if let Updated::Changed { request, .. } = &stored {
            self.inner.chat.show_request(request, "").await;
            self.inner.chat.committed(&pending).await;
        }
        tracing::warn!(request_id = %id, issued = ours.is_some(), "settled an interrupted issue");
        Ok(())
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
