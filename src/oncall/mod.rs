//! On-call lookups for auto-approval: is this person on call right now in one of these
//! PagerDuty schedules? Three answers, and only [`OnCallAnswer::OnCall`] may ever approve.
//!
//! Owns the answer type and the PagerDuty REST API v2 adapter ([`pagerduty`]). It decides
//! nothing about access: the workflow turns `OnCall` into an approval and everything else into
//! the normal approval path. Any error, timeout, 429 or 5xx is `Unknown`, never an approval.
//! Imports only `config`.

pub mod pagerduty;

pub use pagerduty::PagerDuty;

/// What PagerDuty said about one person and a set of schedules, at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnCallAnswer {
    /// On call now in `schedule` (one of the schedules asked about).
    OnCall { schedule: String },
    /// PagerDuty answered: not on call in any of them (or no PagerDuty user has that email).
    NotOnCall,
    /// No answer to rely on: `reason` is a fixed code (`timeout`, `server_error`,
    /// `rate_limited`, `unauthorized`, `connection_error`, `invalid_response`,
    /// `too_many_pages`, `invalid_email`, `http_error`).
    Unknown { reason: &'static str },
}

impl OnCallAnswer {
    /// The schedule that approves, if any.
    pub fn approving_schedule(&self) -> Option<&str> {
        match self {
            OnCallAnswer::OnCall { schedule } => Some(schedule),
            _ => None,
        }
    }
}
