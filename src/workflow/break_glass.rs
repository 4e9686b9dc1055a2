//! Break-glass in the workflow (issue 17): who may use it now (mode, allowed users, a timed-out
//! normal request first in `after_timeout` mode), issuing a posted break-glass request at once,
//! the loud trail (a notice for everyone in the audit channel with the approvers mentioned, a
//! DM to every approver, the thread note; committed with the state change through the outbox,
//! so none is lost), and the review reminders until an approver reviews it.
//!
//! Decisions are [`crate::access::break_glass`]'s and `Request::on_break_glass`/`on_reviewed`;
//! wording is [`crate::access::text::break_glass`]'s.

use super::fleet::Target;
use super::port::PendingNote;
use super::Workflow;
use crate::access::break_glass::{BreakGlassMode, BreakGlassRules};
use crate::access::text::break_glass as text;
use crate::access::{IncidentId, Rejection, Request, RequestId, SlackUserId};
use crate::timers::{Timer, TimerKind, TimerPayload, Updated};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long a timed-out normal request lets break-glass follow in `after_timeout` mode.
pub const TIMED_OUT_MEMORY: Duration = Duration::from_secs(24 * 3600);

impl Workflow {
    pub(super) fn break_glass_rules(&self) -> Result<BreakGlassRules, Rejection> {
        BreakGlassRules::from_config(&self.inner.settings.access)
            .map_err(|_| Rejection::Misconfigured)
    }

    /// May `user` break glass for `incident` on `target` now? The refusal is the user's text.
    pub(super) async fn admit_break_glass(
        &self,
        target: &Target,
        user: &SlackUserId,
        incident: &IncidentId,
    ) -> Result<BreakGlassRules, String> {
        let rules = self.break_glass_rules().map_err(|r| r.user_message())?;
        let timed_out = match rules.mode {
            BreakGlassMode::AfterTimeout => {
                let named = self.inner.fleet.is_named().then_some(target.name.as_str());
                let found = self.inner.store.timed_out(named, incident.as_str()).await;
                found.map_err(|_| crate::access::text::reply::STATE_STORE_DOWN.to_owned())?
            }
            BreakGlassMode::Off | BreakGlassMode::Immediate => false,
        };
        rules.admit(user, timed_out).map_err(|r| r.user_message())?;
        Ok(rules)
    }

    /// Issues the posted break-glass request `id` now: approved without approvals, the loud
    /// notes committed with that change, the first review reminder scheduled, then issued as
    /// after the last approval.
    pub(super) async fn break_glass(&self, id: &RequestId) {
        let Ok(Some((req, _))) = self.inner.store.load(id.as_str()).await else { return };
        let Some(target) = self.target_of(&req) else { return };
        let hint = target.approvers.hint().await;
        let approvers: Vec<SlackUserId> = match target.approvers.policy().await {
            Ok(p) => p.approvers().filter(|a| *a != req.requester()).cloned().collect(),
            Err(_) => Vec::new(),
        };
        let now = self.now();
        let pending = loud_notes(&req, &hint, &approvers, now);
        let updated = self
            .inner
            .store
            .update_with_notes(
                id.as_str(),
                |r| Ok::<_, Rejection>(r.on_break_glass(now)),
                |_, _| self.outbox_notes(&pending),
            )
            .await;
        match updated {
            Ok(Updated::Changed { request, transition }) => {
                tracing::warn!(request_id = %id, "break-glass: issuing without approval");
                self.inner.metrics.request("break_glass", "ok");
                self.schedule_review(&request, now).await;
                self.inner.chat.committed(&pending).await;
                Box::pin(self.after(request, transition, None)).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, request_id = %id, "could not break glass"),
        }
    }

    /// The next review reminder of `req`: after `break_glass_reminder_secs`, and one exactly at
    /// the review deadline.
    async fn schedule_review(&self, req: &Request, from: DateTime<Utc>) {
        let (Ok(rules), Some(bg)) = (self.break_glass_rules(), req.break_glass()) else { return };
        let every = chrono::Duration::from_std(rules.remind_every).unwrap_or(chrono::Duration::MAX);
        let mut due = from.checked_add_signed(every).unwrap_or(from);
        if from < bg.review_by {
            due = due.min(bg.review_by);
        }
        let id = req.id().as_str();
        let payload = TimerPayload {
            level: Some(req.level().as_str().to_owned()),
            request_id: Some(id.to_owned()),
            incident: Some(req.incident().to_string()),
            ..TimerPayload::default()
        };
        let timer_id = format!("bg_review:{id}:{}", due.timestamp_millis());
        let timer = Timer::new(timer_id, TimerKind::BreakGlassReview, due, payload);
        if let Err(e) = self.inner.queue.schedule(&timer).await {
            tracing::warn!(error = %e, request_id = %id, "could not schedule a review reminder");
        }
    }

    /// A review reminder fired: while nobody has reviewed the break-glass grant, remind in its
    /// thread and top level, and schedule the next. Stops once reviewed, or when the request's
    /// record is gone (its TTL covers the review window and a day more).
    pub(super) async fn review_timer(&self, timer: &Timer) -> anyhow::Result<()> {
        let Some(id) = timer.payload.request_id.as_deref() else {
            tracing::warn!(timer_id = %timer.id, "review timer without a request id; dropped");
            return Ok(());
        };
        let Some((req, _)) = self.inner.store.load(id).await? else { return Ok(()) };
        if !req.awaits_review() {
            return Ok(());
        }
        let hint = match self.target_of(&req) {
            Some(t) => t.approvers.hint().await,
            None => String::new(),
        };
        let now = self.now();
        let text = text::review_reminder(&req, &hint, now);
        let mut notes: Vec<PendingNote> =
            req.message().map(|at| PendingNote::thread(at, &text)).into_iter().collect();
        notes.push(PendingNote::alert(&text));
        self.inner.chat.queue_all(&notes).await;
        self.schedule_review(&req, now).await;
        Ok(())
    }
}

/// The loud trail of a break-glass: the thread note, the notice for everyone, a DM per approver.
fn loud_notes(
    req: &Request,
    hint: &str,
    approvers: &[SlackUserId],
    now: DateTime<Utc>,
) -> Vec<PendingNote> {
    let mut out: Vec<PendingNote> = req
        .message()
        .map(|at| PendingNote::thread(at, &text::thread_note(req)))
        .into_iter()
        .collect();
    out.push(PendingNote::alert(&text::notice(req, hint, now)));
    let dm = text::approver_dm(req, now);
    out.extend(approvers.iter().map(|a| PendingNote::dm(a.as_str(), &dm)));
    out
}
