//! The notes a stored request change produces (thread note, requester DM, alert), decided before
//! the change is stored so that they commit with it
//! ([`RequestStore::update_with_notes`](crate::timers::RequestStore::update_with_notes)): a
//! change is never stored without its notes, and a lost compare-and-swap queues none.
//!
//! Owns which transition says what, and where; the sentences of DMs and alerts are
//! [`crate::slack::notes`]'. No I/O here and never a secret.

use super::Workflow;
use crate::access::{Request, SlackUserId, Transition};
use crate::slack::notes;
use crate::slack::notifier::PendingNote;
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
        let who = actor.map(SlackUserId::mention).unwrap_or_else(|| "someone".into());
        let thread = match transition {
            Transition::ApprovalRecorded { count, needed } => {
                Some(format!("{who} approved ({count} of {needed})."))
            }
            Transition::ApprovalWithdrawn { count, needed } => {
                Some(format!("{who} withdrew their approval ({count} of {needed})."))
            }
            Transition::Approved => Some(format!(
                "{who} approved; all {} approval(s) are in. Issuing access…",
                req.needed()
            )),
            Transition::Denied { by } => Some(format!("Denied by {}.", by.mention())),
            Transition::Cancelled { by } => Some(format!("Cancelled by {}.", by.mention())),
            Transition::TimedOut => {
                Some("Timed out: not enough approvals arrived in time. Nothing was granted.".into())
            }
            _ => None,
        };
        let bot = &self.inner.bot;
        let mut out = Vec::new();
        if let (Some(text), Some(at)) = (thread, req.message()) {
            out.push(bot.thread_note(at, &text));
        }
        let (level, incident) = (req.level().as_str(), req.incident().to_string());
        let dm = match transition {
            Transition::Denied { by } => Some(notes::denied(level, &incident, by.as_str())),
            Transition::TimedOut => Some(notes::timed_out(level, &incident)),
            _ => None,
        };
        if let Some(dm) = dm {
            out.push(bot.dm_pending(req.requester().as_str(), &dm));
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
        let bot = &self.inner.bot;
        let mut out = Vec::new();
        if let (Some(text), Some(at)) = (thread, req.message()) {
            out.push(bot.thread_note(at, text));
        }
        let (level, incident) = (req.level().as_str(), req.incident().to_string());
        let requester = req.requester().as_str();
        out.push(bot.dm_pending(requester, &notes::not_issued(level, &incident, reason)));
        out.push(bot.alert_note(&notes::issue_failed_alert(level, &incident, requester, reason)));
        out
    }

    /// `pending` as outbox notes for one commit attempt.
    pub(super) fn outbox_notes(&self, pending: &[PendingNote]) -> Vec<OutboxNote> {
        self.inner.bot.outbox_notes(pending)
    }
}
