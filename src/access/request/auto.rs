//! On-call auto-approval (issue 17): a pending request whose requester is on call, in a
//! schedule configured for its level, is approved without reactions. Whether they are on call
//! is the caller's I/O (PagerDuty); this decides only what a positive answer does. Same rules as
//! the parent module: no I/O, time passed in.

use super::{Decision, Ignored, Request, RequestState, Transition};
use chrono::{DateTime, Utc};

impl Request {
    /// The requester is on call in `schedule` as of `now`: approve, if still pending and within
    /// the approval window.
    pub fn on_auto_approved(&self, schedule: &str, now: DateTime<Utc>) -> Decision {
        if !self.is_pending() {
            return Decision::Ignored(Ignored::NotPending);
        }
        if now >= self.approval_deadline {
            return self.time_out(now);
        }
        let mut next = self.bumped();
        next.state = RequestState::Approved { at: now };
        next.withdrawn.clear();
        super::changed(next, Transition::AutoApproved { schedule: schedule.to_owned() })
    }
}
