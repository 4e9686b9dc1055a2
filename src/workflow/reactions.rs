//! Reactions on request messages, and everything a decision sets off: thread notes (the audit
//! trail), the request message update, closing the request, and issuing the password once the
//! approvals are in.
//!
//! Reactions on other messages, the bot's own, and other emojis are ignored silently. Whether a
//! reaction counts is decided by `Request::on_reaction_*`, ordered by Slack's `event_ts` (a
//! removal handled before its add cancels it); a lost compare-and-swap is re-decided on the
//! fresh request (see [`crate::timers::RequestStore::update`]). A reaction that cannot be
//! recorded is announced in the thread with how to retry, never only logged.

use super::port::{GrantContext, PendingNote};
use super::timeout::ISSUE_LEASE;
use super::{approval_timer_id, ButtonInput, ReactionInput, Workflow};
use crate::access::text::{format_expiry, grant as grant_text, notes};
use crate::access::{
    Decision, EventTs, Ignored, MessageRef, Reaction, Rejection, Request, SlackUserId, Transition,
};
use crate::grants::{GrantError, IssueRequest};
use crate::timers::TimerError;
use crate::timers::Updated;

impl Workflow {
    /// Handles one reaction event (already de-duplicated by `event_id`).
    pub async fn on_reaction(&self, input: ReactionInput) {
        let kind = if input.added { "reaction_added" } else { "reaction_removed" };
        let outcome = self.reaction(&input).await;
        self.inner.metrics.request(kind, outcome);
    }

    /// An Approve or Deny button: the same decision as adding the approve or deny reaction,
    /// with the same rules (approvers only, never the requester, thresholds, window, once).
    pub async fn on_button(&self, input: ButtonInput) {
        if [super::DONE_ACTION, super::EXTEND_ACTION].contains(&input.action_id.as_str()) {
            let outcome = self.holder_button(&input).await;
            self.inner.metrics.request("block_actions", outcome);
            return;
        }
        let emojis = &self.inner.settings.emojis;
        let reaction = match input.action_id.as_str() {
            super::APPROVE_ACTION | super::REVIEW_ACTION => emojis.approve(),
            super::DENY_ACTION => emojis.deny(),
            _ => {
                self.inner.metrics.request("block_actions", "ignored");
                return;
            }
        };
        let as_reaction = ReactionInput {
            added: true,
            user: input.user,
            reaction: reaction.to_owned(),
            channel: input.channel,
            ts: input.ts,
            event_ts: input.action_ts,
            event_id: None,
        };
        let outcome = self.reaction(&as_reaction).await;
        self.inner.metrics.request("block_actions", outcome);
    }

    async fn reaction(&self, input: &ReactionInput) -> &'static str {
        if input.user == self.inner.bot_user {
            return "ignored";
        }
        let Ok(user) = SlackUserId::parse(&input.user) else { return "ignored" };
        let emojis = &self.inner.settings.emojis;
        if emojis.classify(&input.reaction) == Reaction::Other {
            return "ignored";
        }
        let req = match self.find_request(input).await {
            Ok(Some(req)) => req,
            Ok(None) => return self.extension_reaction(input).await,
            Err(e) => {
                tracing::warn!(error = %e, "could not look up the reacted message");
                self.not_recorded(input, &user, &e).await;
                return "error";
            }
        };
        let Some(target) = self.target_of(&req) else { return "error" };
        let Ok(policy) = target.approvers.policy().await else { return "error" };
        let now = self.now();
        let id = req.id().as_str().to_owned();
        let event = input.event_ts.as_deref().and_then(|t| EventTs::parse(t).ok());
        let event = event.as_ref();
        // The transition's notes commit with it: a crash after the swap loses none.
        let notes = |r: &Request, t: &Transition| {
            self.outbox_notes(&self.transition_notes(r, t, Some(&user)))
        };
        let updated = if input.added {
            self.inner
                .store
                .update_with_notes(
                    &id,
                    |r| r.on_reaction_added(&user, &input.reaction, event, &policy, emojis, now),
                    notes,
                )
                .await
        } else {
            self.inner
                .store
                .update_with_notes(
                    &id,
                    |r| {
                        Ok(r.on_reaction_removed(
                            &user,
                            &input.reaction,
                            event,
                            &policy,
                            emojis,
                            now,
                        ))
                    },
                    notes,
                )
                .await
        };
        let at = req.message().cloned();
        match updated {
            Err(e) => {
                tracing::warn!(error = %e, request_id = %id, "could not record a reaction");
                self.not_recorded(input, &user, &e).await;
                "error"
            }
            Ok(Updated::Missing) => "ignored",
            Ok(Updated::Refused { error, .. }) => {
                let note = match error {
                    Rejection::SelfApproval => notes::self_approval(&user),
                    Rejection::NotApprover => notes::not_an_approver(&user),
                    other => other.user_message(),
                };
                if let Some(at) = &at {
                    self.inner.chat.thread(at, &note).await;
                }
                "rejected"
            }
            Ok(Updated::Unchanged { request, decision }) => {
                let note = match (input.added, &decision) {
                    (true, Decision::Ignored(Ignored::NotPending)) => {
                        Some(notes::reaction_too_late(&user, request.state().name()))
                    }
                    (true, Decision::Ignored(Ignored::Superseded)) => {
                        Some(notes::approval_superseded(&user))
                    }
                    _ => None,
                };
                if let (Some(note), Some(at)) = (note, &at) {
                    self.inner.chat.thread(at, &note).await;
                }
                "ignored"
            }
            // A removal that arrived before its add: remembered; nothing to show.
            Ok(Updated::Changed { transition: Transition::ReactionNoted, .. }) => "ok",
            Ok(Updated::Changed { request, transition }) => {
                Box::pin(self.after(request, transition, Some(&user))).await;
                "ok"
            }
        }
    }

    /// A reaction that could not be recorded after Slack was answered (Redis failed, or the
    /// request kept changing under it): the event is forgotten, so a redelivery is handled
    /// again, and the reacting user is told in the thread that it did not count and how to
    /// retry. Only in the audit channel, where request messages are.
    async fn not_recorded(&self, input: &ReactionInput, user: &SlackUserId, why: &TimerError) {
        if let Some(event_id) = &input.event_id {
            if let Err(e) = self.inner.store.forget_event(event_id).await {
                tracing::warn!(error = %e, "could not forget a failed reaction event");
            }
        }
        if input.channel != self.inner.chat.audit_channel() {
            return;
        }
        let contended = matches!(why, TimerError::Contended { .. });
        let note = notes::reaction_not_recorded(user, input.added, &input.reaction, contended);
        let at = MessageRef { channel: input.channel.clone(), ts: input.ts.clone() };
        self.inner.chat.thread(&at, &note).await;
    }

    /// The request posted as the reacted message. A reaction can beat the pointer, which is
    /// stored just after the message is posted: in the audit channel, look again briefly.
    async fn find_request(&self, input: &ReactionInput) -> Result<Option<Request>, TimerError> {
        let in_audit = input.channel == self.inner.chat.audit_channel();
        for attempt in 0..5 {
            if let Some(req) = self.inner.store.by_message(&input.channel, &input.ts).await? {
                return Ok(Some(req));
            }
            if !in_audit || attempt == 4 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok(None)
    }

    /// Acts on a stored transition: message update, closing, issuing. Its notes were committed
    /// with it (`transition_notes`, through `RequestStore::update_with_notes`); the transition
    /// must have been stored that way.
    pub(super) async fn after(
        &self,
        req: Request,
        transition: Transition,
        actor: Option<&SlackUserId>,
    ) {
        let hint = self.hint_for(&req).await;
        if matches!(
            transition,
            Transition::ApprovalRecorded { .. }
                | Transition::Approved
                | Transition::AutoApproved { .. }
                | Transition::BrokeGlass
        ) {
            self.inner.metrics.approval();
        }
        // State first, Slack after: a crash while talking to Slack must not leave the level
        // claimed or the request open.
        match transition {
            Transition::Approved | Transition::AutoApproved { .. } | Transition::BrokeGlass => {
                // The level is free for the next request at once. The request stays listed
                // until issuing ends; its timer becomes the issuing deadline, which settles the
                // request if this process dies before issuing finishes.
                if let Err(e) = self.inner.store.release_level(&req).await {
                    tracing::warn!(error = %e, "could not release the level of an approved request");
                }
                // The lease before the deadline: the deadline never sees an issue in progress
                // as a dead one. (Without Redis the grant service refuses to issue anyway.)
                if let Err(e) = self.inner.store.start_issuing(&req, ISSUE_LEASE).await {
                    tracing::warn!(error = %e, request_id = %req.id(), "no issuing lease");
                }
                self.schedule_issue_deadline(&req).await;
            }
            Transition::Denied { .. } | Transition::Cancelled { .. } | Transition::TimedOut => {
                if !matches!(transition, Transition::TimedOut) {
                    let timer = approval_timer_id(req.id().as_str());
                    if let Err(e) = self.inner.queue.cancel(&timer).await {
                        // It fires later and finds the request decided: a no-op.
                        tracing::warn!(error = %e, "could not cancel an approval timer");
                    }
                }
                if let Err(e) = self.inner.store.close(&req).await {
                    tracing::warn!(error = %e, "could not close a decided request");
                }
                if matches!(transition, Transition::TimedOut) {
                    let memory = super::break_glass::TIMED_OUT_MEMORY;
                    if let Err(e) = self.inner.store.note_timed_out(&req, memory).await {
                        tracing::warn!(error = %e, "could not remember a timed-out request");
                    }
                }
            }
            _ => {}
        }
        self.inner.chat.show_request(&req, &hint).await;
        // Already in the outbox; without one (never in `serve`) this posts them now.
        self.inner.chat.committed(&self.transition_notes(&req, &transition, actor)).await;
        if matches!(
            transition,
            Transition::Approved | Transition::AutoApproved { .. } | Transition::BrokeGlass
        ) {
            Box::pin(self.issue(req)).await;
        }
    }

    /// Issues the password of an approved request (the notifier delivers it by DM), holding the
    /// issuing lease until the request records the outcome.
    async fn issue(&self, req: Request) {
        self.issue_and_record(&req).await;
        if let Err(e) = self.inner.store.end_issuing(&req).await {
            tracing::warn!(error = %e, request_id = %req.id(), "could not end the issuing lease");
        }
    }

    async fn issue_and_record(&self, req: &Request) {
        let context =
            GrantContext { message: req.message().cloned(), request_id: Some(req.id().clone()) };
        let issue = IssueRequest {
            level: req.level(),
            holder: req.requester().clone(),
            incident: req.incident().clone(),
            approvers: req.approvals().iter().map(|a| a.by.clone()).collect(),
            break_glass: req.break_glass().is_some(),
            request_id: Some(req.id().clone()),
            duration: req.duration().as_std(),
            context: context.to_json(),
            takeover: false,
        };
        let id = req.id().as_str().to_owned();
        let outcome = match self.target_of(req) {
            Some(target) => target.grants.issue(issue).await,
            None => Err(crate::grants::GrantError::Internal(format!(
                "target {:?} is no longer configured",
                req.target().unwrap_or_default()
            ))),
        };
        if let Err(e) = self.inner.queue.cancel(&approval_timer_id(&id)).await {
            // It fires later and finds the request settled: a no-op.
            tracing::warn!(error = %e, request_id = %id, "could not cancel the issuing deadline");
        }
        if let Err(e) = self.inner.store.close(req).await {
            tracing::warn!(error = %e, "could not close an issued request");
        }
        match outcome {
            Ok(grant) => {
                self.inner.metrics.issue("ok");
                let now = self.now();
                // The grant's own start, so that the request ends exactly when the grant does.
                let granted_at = grant.granted_at;
                let expiry = format_expiry(grant.expires_at, now);
                let note = notes::issued(&grant.holder, grant.level, &grant.incident, &expiry);
                let note = grant_text::with_login_and_activity(&note, grant.login.as_deref(), None);
                let pending: Vec<_> =
                    req.message().map(|at| PendingNote::thread(at, &note)).into_iter().collect();
                let stored = self
                    .inner
                    .store
                    .update_with_notes(
                        &id,
                        |r| Ok::<_, Rejection>(r.on_issued(granted_at)),
                        |_, _| self.outbox_notes(&pending),
                    )
                    .await;
                self.record_outcome(stored, &pending).await;
            }
            Err(e) => {
                self.inner.metrics.issue("failed");
                tracing::warn!(error = %e, request_id = %id, "issuing access failed");
                let now = self.now();
                let reason = e.to_string();
                let thread = (!matches!(e, GrantError::DeliveryFailed(_)))
                    .then(|| notes::not_issued(&e.user_message()));
                let pending = self.not_issued_notes(req, thread.as_deref(), &e.user_message());
                let stored = self
                    .inner
                    .store
                    .update_with_notes(
                        &id,
                        |r| Ok::<_, Rejection>(r.on_issue_failed(&reason, now)),
                        |_, _| self.outbox_notes(&pending),
                    )
                    .await;
                self.record_outcome(stored, &pending).await;
            }
        }
    }

    /// After the issue's outcome was stored with its notes: shows the request. If the outcome
    /// was not stored (the deadline settled the request first, or Redis failed), the notes
    /// still tell what happened, queued on their own.
    async fn record_outcome(
        &self,
        stored: Result<Updated<Rejection>, TimerError>,
        pending: &[PendingNote],
    ) {
        match stored {
            Ok(Updated::Changed { request, .. }) => {
                self.inner.chat.show_request(&request, "").await;
                self.inner.chat.committed(pending).await;
            }
            other => {
                if let Err(e) = other {
                    tracing::warn!(error = %e, "could not record the outcome of an issue");
                }
                self.inner.chat.queue_all(pending).await;
            }
        }
    }
}
