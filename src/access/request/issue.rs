//! The second half of a request's life: after approval, the password is issued (or issuing
//! fails), then the grant expires or is revoked. Same rules as the parent module: each event
//! returns a [`Decision`], no I/O, time passed in.

use super::{Decision, Ignored, Request, RequestState, Transition};
use crate::access::grant::Grant;
use crate::access::ids::SlackUserId;
use chrono::{DateTime, Utc};

impl Request {
    /// The active grant, once issued.
    pub fn grant(&self) -> Option<Grant> {
        match self.state {
            RequestState::Issued { granted_at, expires_at } => Some(Grant {
                level: self.level,
                holder: self.requester.clone(),
                incident: self.incident.clone(),
                granted_at,
                expires_at,
                request_id: self.id.clone(),
            }),
            _ => None,
        }
    }

    /// The password was set: access lasts `duration` from `now`.
    pub fn on_issued(&self, now: DateTime<Utc>) -> Decision {
        if !matches!(self.state, RequestState::Approved { .. }) {
            return Decision::Ignored(Ignored::NotApproved);
        }
        let expires_at =
            now.checked_add_signed(self.duration.as_delta()).unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.with_state(RequestState::Issued { granted_at: now, expires_at }, || {
            Transition::Issued { expires_at }
        })
    }

    /// Issuing failed; `reason` goes to the audit trail only.
    pub fn on_issue_failed(&self, reason: &str, now: DateTime<Utc>) -> Decision {
        if !matches!(self.state, RequestState::Approved { .. }) {
            return Decision::Ignored(Ignored::NotApproved);
        }
        self.with_state(RequestState::Failed { reason: reason.to_owned(), at: now }, || {
            Transition::Failed
        })
    }

    /// The expiry timer fired.
    pub fn on_expired(&self, now: DateTime<Utc>) -> Decision {
        match self.state {
            RequestState::Issued { expires_at, .. } if now >= expires_at => {
                self.with_state(RequestState::Expired { at: now }, || Transition::Expired)
            }
            RequestState::Issued { .. } => Decision::Ignored(Ignored::NotDue),
            _ => Decision::Ignored(Ignored::NotIssued),
        }
    }

    /// Access was revoked early; the caller checked [`crate::access::can_revoke`] first.
    pub fn on_revoked(&self, by: &SlackUserId, now: DateTime<Utc>) -> Decision {
        if !matches!(self.state, RequestState::Issued { .. }) {
            return Decision::Ignored(Ignored::NotIssued);
        }
        self.with_state(RequestState::Revoked { by: by.clone(), at: now }, || Transition::Revoked {
            by: by.clone(),
        })
    }
}
