//! What the workflow needs from the outside world, as traits the outbound adapter implements:
//! [`Chat`] (the request message, notes in its thread, DMs, alerts, answers to commands) and
//! [`UserGroups`] (the approver group's members). The outbound adapter (`slack`) implements both; the workflow
//! never names Slack's client, rendering or outbox.
//!
//! Owns the port's value types: [`Reply`] (what a command is answered with), [`PendingNote`]
//! (a note decided with a state change), [`GrantContext`] (where a grant's audit trail goes) and
//! [`ChatError`]. No I/O here, and never a secret: the password DM is the grant service's
//! `Notifier`, which the adapter implements apart from this port.

use crate::access::{MessageRef, Request, RequestId};
use crate::grants::GrantRecord;
use crate::timers::OutboxNote;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slack_morphism::prelude::SlackBlock;

/// What the workflow answers someone with: its words and how they are laid out. The adapter
/// cuts it to the chat's limits.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Plain text only.
    Text(String),
    /// The text, plus the same text as sections.
    Sections(String),
    /// A fallback text and ready Block Kit blocks (the verify report).
    Blocks { text: String, blocks: Vec<SlackBlock> },
    /// Nothing to show: the answer is elsewhere (the request form, opened as a modal).
    Nothing,
}

/// A note decided together with a state change: committed to the outbox with the change
/// ([`Chat::outbox_notes`]), then announced with [`Chat::committed`]. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingNote {
    /// In the request's thread (the audit trail).
    Thread { at: MessageRef, text: String },
    /// To `user` in their DM with the bot, about their request.
    Dm { user: String, text: String },
    /// For the alert group, top level in the audit channel (what needs a human now).
    Alert { text: String },
}

impl PendingNote {
    pub fn thread(at: &MessageRef, text: &str) -> PendingNote {
        PendingNote::Thread { at: at.clone(), text: text.to_owned() }
    }

    pub fn dm(user: &str, text: &str) -> PendingNote {
        PendingNote::Dm { user: user.to_owned(), text: text.to_owned() }
    }

    pub fn alert(text: &str) -> PendingNote {
        PendingNote::Alert { text: text.to_owned() }
    }
}

/// Where a grant's audit trail goes, stored in [`GrantRecord::context`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantContext {
    pub message: Option<MessageRef>,
    pub request_id: Option<RequestId>,
}

impl GrantContext {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn of(grant: &GrantRecord) -> GrantContext {
        serde_json::from_value(grant.context.clone()).unwrap_or_default()
    }
}

/// A call to the chat failed: which call, and the chat's error code (shown to users as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} failed: {code}")]
pub struct ChatError {
    pub method: &'static str,
    pub code: String,
}

/// Everything the workflow says in the chat.
#[async_trait::async_trait]
pub trait Chat: Send + Sync {
    /// The channel where requests are posted and approved.
    fn audit_channel(&self) -> &str;

    /// Posts the request message in the audit channel (as of `now`); returns where it is.
    async fn post_request(
        &self,
        req: &Request,
        approvers_hint: &str,
        now: DateTime<Utc>,
    ) -> Result<MessageRef, ChatError>;

    /// Brings the request message up to date with the request's state (best effort).
    async fn show_request(&self, req: &Request, approvers_hint: &str);

    /// A link to a posted message.
    async fn permalink(&self, at: &MessageRef) -> Result<String, ChatError>;

    /// A note in the request's thread, queued on its own (best effort).
    async fn thread(&self, at: &MessageRef, text: &str);

    /// Posts `text` in the thread of `at` now and returns where it is (a message others react
    /// to, such as an extension ask; not through the outbox, since its `ts` is needed).
    async fn post_in_thread(&self, at: &MessageRef, text: &str) -> Result<MessageRef, ChatError>;

    /// `pending` as outbox notes for one commit attempt (none without an outbox).
    fn outbox_notes(&self, pending: &[PendingNote]) -> Vec<OutboxNote>;

    /// `pending` were committed with a state change: delivers them.
    async fn committed(&self, pending: &[PendingNote]);

    /// Queues `pending` on their own (no state change to commit them with).
    async fn queue_all(&self, pending: &[PendingNote]);

    /// Answers a slash command later (its response_url, else ephemeral, else a DM).
    async fn respond(&self, response_url: &str, channel: &str, user: &str, reply: &Reply);

    /// Publishes `user`'s App Home tab: a heading and its mrkdwn text per section.
    async fn publish_home(
        &self,
        user: &str,
        sections: &[(String, String)],
    ) -> Result<(), ChatError>;

    /// Posts `reply` in `channel` for everyone to see.
    async fn post_in_channel(&self, channel: &str, reply: &Reply) -> Result<(), ChatError>;

    /// Opens the request form for the person behind `trigger_id` (a slash command's, valid for
    /// 3 s); its answers come back as a submission naming `channel`.
    async fn open_request_form(
        &self,
        trigger_id: &str,
        channel: &str,
        rules: &crate::access::CommandRules,
    ) -> Result<(), ChatError>;
}

/// Who is on call (PagerDuty, issue 17): the schedule of `level` in which `user` is on call
/// right now, or `None` for "not on call" and for every failure or timeout alike (never an
/// automatic approval on doubt). Bounded by the adapter's own deadline.
#[async_trait::async_trait]
pub trait OnCall: Send + Sync {
    async fn on_call_schedule(
        &self,
        user: &crate::access::SlackUserId,
        level: crate::model::Level,
    ) -> Option<String>;
}

/// The members of a user group (the approver group).
#[async_trait::async_trait]
pub trait UserGroups: Send + Sync {
    async fn members(&self, group: &str) -> Result<Vec<String>, ChatError>;
}
