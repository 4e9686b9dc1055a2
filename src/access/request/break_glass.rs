//! A break-glass request: approved by the requester's own choice (no approvals), then reviewed
//! by an approver other than the requester. Same rules as the parent module: no I/O, time
//! passed in.

use super::{changed, Decision, Ignored, Request, RequestState, Transition};
use crate::access::break_glass::Review;
use crate::access::ids::SlackUserId;
use crate::access::rejection::Rejection;
use chrono::{DateTime, Utc};

impl Request {
    /// Break glass: a pending break-glass request is approved now, without approvals.
    pub fn on_break_glass(&self, now: DateTime<Utc>) -> Decision {
        if self.break_glass.is_none() || !self.is_pending() {
            return Decision::Ignored(Ignored::NotPending);
        }
        let mut next = self.bumped();
        next.state = RequestState::Approved { at: now };
        changed(next, Transition::BrokeGlass)
    }

    /// `by` reviews this break-glass request (the Reviewed button or the approve reaction).
    /// Only an approver other than the requester may; once is enough; a pending one (not
    /// issued yet) waits.
    pub fn on_reviewed(
        &self,
        by: &SlackUserId,
        is_approver: bool,
        now: DateTime<Utc>,
    ) -> Result<Decision, Rejection> {
        let Some(bg) = &self.break_glass else {
            return Ok(Decision::Ignored(Ignored::NotPending));
        };
        if bg.reviewed.is_some() {
            return Ok(Decision::Ignored(Ignored::DuplicateApproval));
        }
        if self.is_pending() {
            return Ok(Decision::Ignored(Ignored::NotApproved));
        }
        if by == &self.requester || !is_approver {
            return Err(Rejection::NotAllowedToReview);
        }
        let mut next = self.bumped();
        if let Some(bg) = next.break_glass.as_mut() {
            bg.reviewed = Some(Review { by: by.clone(), at: now });
        }
        Ok(changed(next, Transition::Reviewed { by: by.clone() }))
    }

    /// A break-glass request not reviewed yet (reminders go on).
    pub fn awaits_review(&self) -> bool {
        self.break_glass.as_ref().is_some_and(|bg| bg.reviewed.is_none())
    }
}
