//! The access-request state machine. Every event (reaction added or removed, timer, issue,
//! failure, expiry, revocation) is a method taking the time as an argument and returning a
//! [`Decision`]: either nothing changes, or a new `Request` with `version + 1` and the
//! [`Transition`] the caller must act on. The caller stores the new value with compare-and-swap
//! on `version`, so a retried Slack event or a double reaction is a no-op.
//!
//! ```text
//! Pending --approvals reach threshold--> Approved --on_issued--> Issued --on_expired--> Expired
//!    |--deny by an approver--> Denied        |--on_issue_failed--> Failed   |--on_revoked--> Revoked
//!    |--deny by the requester--> Cancelled
//!    '--deadline passes--> TimedOut
//! ```
//!
//! No I/O, no clock reads, no Slack types: message coordinates are opaque strings. Reactions
//! (ordered by their event time, so a removal that arrives before its add cancels it) live in
//! `reaction.rs`; the post-approval events (issue, failure, expiry, revocation) in `issue.rs`.

use super::duration::GrantDuration;
use super::ids::{EventTs, IncidentId, RequestId, SlackUserId};
use super::policy::ApprovalPolicy;
#[cfg(test)]
use super::rejection::Rejection;
use crate::access::level::Level;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One approver's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub by: SlackUserId,
    pub at: DateTime<Utc>,
    /// Slack's `event_ts` of the reaction (orders it against a removal that arrives first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventTs>,
}

/// An approver removed their approve reaction at `event` (Slack's `event_ts`): an add of theirs
/// that happened before it, arriving late, does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub by: SlackUserId,
    pub event: EventTs,
}

/// Where the request was posted, as the messaging layer reports it (channel id, message ts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: String,
    pub ts: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Approved {
        at: DateTime<Utc>,
    },
    Denied {
        by: SlackUserId,
        at: DateTime<Utc>,
    },
    Cancelled {
        by: SlackUserId,
        at: DateTime<Utc>,
    },
    TimedOut {
        at: DateTime<Utc>,
    },
    Issued {
        granted_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    /// `reason` is for the audit trail, never shown to users.
    Failed {
        reason: String,
        at: DateTime<Utc>,
    },
    Expired {
        at: DateTime<Utc>,
    },
    Revoked {
        by: SlackUserId,
        at: DateTime<Utc>,
    },
}

impl RequestState {
    /// Short name for logs and metrics labels.
    pub fn name(&self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved { .. } => "approved",
            RequestState::Denied { .. } => "denied",
            RequestState::Cancelled { .. } => "cancelled",
            RequestState::TimedOut { .. } => "timed_out",
            RequestState::Issued { .. } => "issued",
            RequestState::Failed { .. } => "failed",
            RequestState::Expired { .. } => "expired",
            RequestState::Revoked { .. } => "revoked",
        }
    }

    /// No further event changes a request in a final state.
    #[cfg(test)]
    pub(crate) fn is_final(&self) -> bool {
        !matches!(
            self,
            RequestState::Pending | RequestState::Approved { .. } | RequestState::Issued { .. }
        )
    }
}

/// What happened, for the caller to act on (post, DM, schedule, audit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    ApprovalRecorded {
        count: u32,
        needed: u32,
    },
    ApprovalWithdrawn {
        count: u32,
        needed: u32,
    },
    /// The threshold was reached: issue the password.
    Approved,
    /// The requester is on call in `schedule` (PagerDuty): issue the password, no reactions.
    AutoApproved {
        schedule: String,
    },
    /// The requester broke glass: issue the password now, tell everyone, ask for a review.
    BrokeGlass,
    /// An approver reviewed a break-glass grant.
    Reviewed {
        by: SlackUserId,
    },
    Denied {
        by: SlackUserId,
    },
    Cancelled {
        by: SlackUserId,
    },
    TimedOut,
    Issued {
        expires_at: DateTime<Utc>,
    },
    Failed,
    Expired,
    Revoked {
        by: SlackUserId,
    },
    MessageAttached,
    /// A reaction event was remembered for ordering (a removal that arrived before its add, or
    /// the newer time of an approval already counted): nothing visible changes.
    ReactionNoted,
}

/// Why an event changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Neither the approve nor the deny emoji.
    OtherEmoji,
    DuplicateApproval,
    NoApprovalToWithdraw,
    /// The request is no longer waiting for approvals.
    NotPending,
    NotApproved,
    NotIssued,
    /// A timer fired early (e.g. clock skew between replicas).
    NotDue,
    /// A reaction event older than one already applied for the same approver (an add that
    /// happened before a removal already seen, or a removal of an older add).
    Superseded,
}

/// The outcome of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Store `next` with compare-and-swap on the old version, then act on `transition`.
    Changed {
        next: Box<Request>,
        transition: Transition,
    },
    Ignored(Ignored),
}

/// What the requester asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub id: RequestId,
    pub level: Level,
    pub incident: IncidentId,
    pub requester: SlackUserId,
    pub duration: GrantDuration,
}

/// One access request and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    id: RequestId,
    level: Level,
    incident: IncidentId,
    requester: SlackUserId,
    duration: GrantDuration,
    /// Approvals needed, fixed when the request was opened.
    needed: u32,
    created_at: DateTime<Utc>,
    approval_deadline: DateTime<Utc>,
    state: RequestState,
    approvals: Vec<Approval>,
    /// The latest removal per approver, kept while the request is pending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    withdrawn: Vec<Withdrawal>,
    message: Option<MessageRef>,
    version: u64,
    /// The fleet target the request is for (`None`: the one default target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    /// Why the requester needs access (shown escaped on the request message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<crate::access::reason::Reason>,
    /// Set on a break-glass request: its review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    break_glass: Option<crate::access::break_glass::BreakGlass>,
}

impl Request {
    /// Opens a pending request; the threshold and deadline come from `policy` now.
    pub fn open(new: NewRequest, policy: &ApprovalPolicy, now: DateTime<Utc>) -> Request {
        let approval_deadline =
            now.checked_add_signed(policy.approval_window()).unwrap_or(DateTime::<Utc>::MAX_UTC);
        Request {
            needed: policy.threshold(new.level),
            id: new.id,
            level: new.level,
            incident: new.incident,
            requester: new.requester,
            duration: new.duration,
            created_at: now,
            approval_deadline,
            state: RequestState::Pending,
            approvals: Vec::new(),
            withdrawn: Vec::new(),
            message: None,
            version: 0,
            target: None,
            reason: None,
            break_glass: None,
        }
    }

    /// The same request, break-glass (issued without approvals, reviewed afterwards).
    pub fn with_break_glass(
        mut self,
        bg: Option<crate::access::break_glass::BreakGlass>,
    ) -> Request {
        self.break_glass = bg;
        self
    }

    /// The break-glass review state; `None` for a normal request.
    pub fn break_glass(&self) -> Option<&crate::access::break_glass::BreakGlass> {
        self.break_glass.as_ref()
    }

    /// The same request with the requester's reason.
    pub fn with_reason(mut self, reason: Option<crate::access::reason::Reason>) -> Request {
        self.reason = reason;
        self
    }

    pub fn reason(&self) -> Option<&crate::access::reason::Reason> {
        self.reason.as_ref()
    }

    /// The same request for a fleet target (set when it is opened).
    pub fn with_target(mut self, target: Option<String>) -> Request {
        self.target = target;
        self
    }

    /// The fleet target, `None` for the one default target.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    pub fn id(&self) -> &RequestId {
        &self.id
    }
    pub fn level(&self) -> Level {
        self.level
    }
    pub fn incident(&self) -> &IncidentId {
        &self.incident
    }
    pub fn requester(&self) -> &SlackUserId {
        &self.requester
    }
    pub fn duration(&self) -> GrantDuration {
        self.duration
    }
    pub fn needed(&self) -> u32 {
        self.needed
    }
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    pub fn approval_deadline(&self) -> DateTime<Utc> {
        self.approval_deadline
    }
    pub fn state(&self) -> &RequestState {
        &self.state
    }
    pub fn approvals(&self) -> &[Approval] {
        &self.approvals
    }
    pub fn message(&self) -> Option<&MessageRef> {
        self.message.as_ref()
    }
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn is_pending(&self) -> bool {
        self.state == RequestState::Pending
    }

    /// Whether this request was posted as message `ts` in `channel`.
    #[cfg(test)]
    pub(crate) fn is_message(&self, channel: &str, ts: &str) -> bool {
        self.message.as_ref().is_some_and(|m| m.channel == channel && m.ts == ts)
    }

    /// Records where the request message was posted.
    pub fn attach_message(&self, message: MessageRef) -> Decision {
        let mut next = self.bumped();
        next.message = Some(message);
        changed(next, Transition::MessageAttached)
    }

    /// The approval timer fired.
    pub fn on_timeout(&self, now: DateTime<Utc>) -> Decision {
        if !self.is_pending() {
            Decision::Ignored(Ignored::NotPending)
        } else if now < self.approval_deadline {
            Decision::Ignored(Ignored::NotDue)
        } else {
            self.time_out(now)
        }
    }

    /// The requester withdraws a pending request (e.g. `/firefighter` cancel or deny reaction).
    /// No command does yet, so only the state machine's tests call it.
    #[cfg(test)]
    pub(crate) fn on_cancel(
        &self,
        by: &SlackUserId,
        now: DateTime<Utc>,
    ) -> Result<Decision, Rejection> {
        if by != &self.requester {
            return Err(Rejection::NotAllowedToCancel);
        }
        if !self.is_pending() {
            return Ok(Decision::Ignored(Ignored::NotPending));
        }
        Ok(self.with_state(RequestState::Cancelled { by: by.clone(), at: now }, || {
            Transition::Cancelled { by: by.clone() }
        }))
    }

    fn approval_count(&self) -> u32 {
        u32::try_from(self.approvals.len()).unwrap_or(u32::MAX)
    }

    fn time_out(&self, now: DateTime<Utc>) -> Decision {
        self.with_state(RequestState::TimedOut { at: now }, || Transition::TimedOut)
    }

    fn bumped(&self) -> Request {
        let mut next = self.clone();
        next.version = self.version.saturating_add(1);
        next
    }

    fn with_state(&self, state: RequestState, transition: impl FnOnce() -> Transition) -> Decision {
        let mut next = self.bumped();
        next.state = state;
        changed(next, transition())
    }
}

fn changed(next: Request, transition: Transition) -> Decision {
    Decision::Changed { next: Box::new(next), transition }
}

mod auto;
mod break_glass;
mod issue;
mod reaction;
#[cfg(test)]
mod tests;
