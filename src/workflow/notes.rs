//! The notes a stored request change produces (thread note, requester DM, alert), decided before
//! the change is stored so that they commit with it
//! ([`RequestStore::update_with_notes`](crate::timers::RequestStore::update_with_notes)): a
//! change is never stored without its notes, and a lost compare-and-swap queues none.
//!
//! Owns which transition says what, and where; the sentences are [`crate::access::text`]'s
//! (`notes`, `dm`). No I/O here and never a secret.

use super::port::PendingNote;
use super::Workflow;
use crate::access::text::{dm, notes};
use crate::access::{Request, SlackUserId, Transition};
use crate::timers::OutboxNote;

impl Workflow {
    /// What `transition` (to `req`) says in the request's thread and to the requester.
    /// `actor` is who reacted (none for a timer).
    pub(super) fn transition_notes(
        &self,
        req: &Request,
        transition: &Transition,
        actor: Option<&SlackUserId>,
    ) -> Vec<PendingNote> {
        let who = notes::actor(actor);
        let thread = match transition {
            Transition::ApprovalRecorded { count, needed } => {
                Some(notes::approval_recorded(&who, *count, *needed))
            }
            Transition::ApprovalWithdrawn { count, needed } => {
                Some(notes::approval_withdrawn(&who, *count, *needed))
            }
            Transition::Approved => Some(notes::approved(&who, req.needed())),
            Transition::AutoApproved { schedule } => {
                Some(notes::auto_approved(req.requester(), schedule))
            }
            Transition::Reviewed { .. } => Some(crate::access::text::break_glass::reviewed(req)),
            Transition::Denied { by } => Some(notes::denied(by)),
            Transition::Cancelled { by } => Some(notes::cancelled(by)),
            Transition::TimedOut => Some(notes::TIMED_OUT.to_owned()),
            _ => None,
        };
        let mut out = Vec::new();
        if let (Some(text), Some(at)) = (thread, req.message()) {
            out.push(PendingNote::thread(at, &text));
        }
        let (level, incident) = (req.level(), req.incident());
        let dm = match transition {
            Transition::Denied { by } => Some(dm::denied(level, incident, by)),
            Transition::TimedOut => Some(dm::timed_out(level, incident)),
            _ => None,
        };
        if let Some(dm) = dm {
            out.push(PendingNote::dm(req.requester().as_str(), &dm));
        }
        out
    }

    /// The notes of an approved request that could not be issued: a thread note (unless
    /// `thread` is `None`), the requester's DM and the alert, in that order.
    pub(super) fn not_issued_notes(
        &self,
        req: &Request,
        thread: Option<&str>,
        reason: &str,
    ) -> Vec<PendingNote> {
        let mut out = Vec::new();
        if let (Some(text), Some(at)) = (thread, req.message()) {
            out.push(PendingNote::thread(at, text));
        }
        let (level, incident, requester) = (req.level(), req.incident(), req.requester());
        out.push(PendingNote::dm(requester.as_str(), &dm::not_issued(level, incident, reason)));
        out.push(PendingNote::alert(&dm::issue_failed_alert(level, incident, requester, reason)));
        out
    }

    /// `pending` as outbox notes for one commit attempt.
    pub(super) fn outbox_notes(&self, pending: &[PendingNote]) -> Vec<OutboxNote> {
        self.inner.chat.outbox_notes(pending)
    }
}
