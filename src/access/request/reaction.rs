//! Reactions on a pending request: approve or deny added, approve removed. Slack delivers add
//! and remove events independently and they may be handled out of order, so each carries its
//! event time (Slack's `event_ts`) and the request remembers, per approver, the time of the
//! approval it counts and of the latest removal: an add older than a removal already seen is
//! ignored, and so is a removal older than the approval it would withdraw. The outcome is the
//! same whatever order the events are handled in. Same rules as the parent module: no I/O,
//! time passed in.

use super::{changed, Approval, Decision, Ignored, Request, RequestState, Transition, Withdrawal};
use crate::access::ids::{EventTs, SlackUserId};
use crate::access::policy::{ApprovalPolicy, Reaction, ReactionEmojis};
use crate::access::rejection::Rejection;
use chrono::{DateTime, Utc};

impl Request {
    /// A reaction was added to the request message at `event` (None: unknown, no ordering).
    pub fn on_reaction_added(
        &self,
        by: &SlackUserId,
        emoji: &str,
        event: Option<&EventTs>,
        policy: &ApprovalPolicy,
        emojis: &ReactionEmojis,
        now: DateTime<Utc>,
    ) -> Result<Decision, Rejection> {
        let reaction = emojis.classify(emoji);
        if reaction == Reaction::Other {
            return Ok(Decision::Ignored(Ignored::OtherEmoji));
        }
        if !self.is_pending() {
            if reaction == Reaction::Approve && self.break_glass.is_some() {
                return self.on_reviewed(by, policy.is_approver(by), now);
            }
            return Ok(Decision::Ignored(Ignored::NotPending));
        }
        if now >= self.approval_deadline {
            return Ok(self.time_out(now));
        }
        if reaction == Reaction::Deny {
            return if by == &self.requester {
                Ok(self.with_state(RequestState::Cancelled { by: by.clone(), at: now }, || {
                    Transition::Cancelled { by: by.clone() }
                }))
            } else if policy.is_approver(by) {
                Ok(self.with_state(RequestState::Denied { by: by.clone(), at: now }, || {
                    Transition::Denied { by: by.clone() }
                }))
            } else {
                Err(Rejection::NotApprover)
            };
        }
        if by == &self.requester {
            return Err(Rejection::SelfApproval);
        }
        if !policy.is_approver(by) {
            return Err(Rejection::NotApprover);
        }
        if let (Some(event), Some(removed)) = (event, self.withdrawal_of(by)) {
            // Equal times: the removal wins (fail closed).
            if event <= removed {
                return Ok(Decision::Ignored(Ignored::Superseded));
            }
        }
        if let Some(pos) = self.approvals.iter().position(|a| &a.by == by) {
            // Already counted. A newer add (its removal in between not seen yet) moves the
            // approval's time forward, so that removal, when it comes, is seen as older.
            let newer = event.filter(|e| self.approvals[pos].event.as_ref().is_none_or(|a| a < *e));
            let Some(event) = newer else {
                return Ok(Decision::Ignored(Ignored::DuplicateApproval));
            };
            let mut next = self.bumped();
            next.approvals[pos].event = Some(event.clone());
            return Ok(changed(next, Transition::ReactionNoted));
        }
        let mut next = self.bumped();
        next.approvals.push(Approval { by: by.clone(), at: now, event: event.cloned() });
        next.withdrawn.retain(|w| &w.by != by);
        let count = next.approval_count();
        if count >= self.needed {
            next.state = RequestState::Approved { at: now };
            next.withdrawn.clear();
            Ok(changed(next, Transition::Approved))
        } else {
            Ok(changed(next, Transition::ApprovalRecorded { count, needed: self.needed }))
        }
    }

    /// An approve reaction was removed at `event`: before the threshold, the approver withdraws
    /// their approval. A removal that arrives before its add is remembered, so the add, when it
    /// comes, does not count.
    pub fn on_reaction_removed(
        &self,
        by: &SlackUserId,
        emoji: &str,
        event: Option<&EventTs>,
        policy: &ApprovalPolicy,
        emojis: &ReactionEmojis,
        now: DateTime<Utc>,
    ) -> Decision {
        if emojis.classify(emoji) != Reaction::Approve {
            return Decision::Ignored(Ignored::OtherEmoji);
        }
        if !self.is_pending() {
            return Decision::Ignored(Ignored::NotPending);
        }
        if now >= self.approval_deadline {
            return self.time_out(now);
        }
        // Only reactions that could count are remembered (bounded by the approvers).
        if by == &self.requester || !policy.is_approver(by) {
            return Decision::Ignored(Ignored::NoApprovalToWithdraw);
        }
        let pos = self.approvals.iter().position(|a| &a.by == by);
        if let (Some(event), Some(pos)) = (event, pos) {
            if self.approvals[pos].event.as_ref().is_some_and(|added| added > event) {
                return Decision::Ignored(Ignored::Superseded);
            }
        }
        if pos.is_none() {
            let Some(event) = event else {
                return Decision::Ignored(Ignored::NoApprovalToWithdraw);
            };
            if self.withdrawal_of(by).is_some_and(|seen| seen >= event) {
                return Decision::Ignored(Ignored::Superseded);
            }
        }
        let mut next = self.bumped();
        if let Some(event) = event {
            next.withdrawn.retain(|w| &w.by != by);
            next.withdrawn.push(Withdrawal { by: by.clone(), event: event.clone() });
        }
        let Some(pos) = pos else {
            return changed(next, Transition::ReactionNoted);
        };
        next.approvals.remove(pos);
        let count = next.approval_count();
        changed(next, Transition::ApprovalWithdrawn { count, needed: self.needed })
    }

    /// When `by` last removed their approve reaction, if that is remembered.
    fn withdrawal_of(&self, by: &SlackUserId) -> Option<&EventTs> {
        self.withdrawn.iter().find(|w| &w.by == by).map(|w| &w.event)
    }
}

#[cfg(test)]
#[path = "reaction_tests.rs"]
mod tests;
