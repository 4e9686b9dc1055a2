//! The workflow's port, implemented for Slack: [`SlackBot`] is the workflow's
//! [`Chat`] and [`SlackApi`] its [`UserGroups`]. Turns the port's values into Slack's (a
//! [`Reply`] into a [`Rendered`] message, a [`PendingNote`] into an outbox target) and Slack's
//! errors into [`ChatError`]s.
//!
//! Owns that translation only: what to say and when is the workflow's, how it reaches Slack is
//! `notifier`'s and `client`'s. No secret passes through here (the password DM is
//! `grant_events`').

use crate::access::{CommandRules, MessageRef, Request};
use crate::slack::client::{SlackApi, SlackError};
use crate::slack::modal;
use crate::slack::notifier::SlackBot;
use crate::slack::outbox::NoteTarget;
use crate::slack::render::{self, Rendered};
use crate::timers::OutboxNote;
use crate::workflow::port::{Chat, ChatError, PendingNote, Reply, UserGroups};
use chrono::{DateTime, Utc};

impl From<SlackError> for ChatError {
    fn from(e: SlackError) -> ChatError {
        ChatError { method: e.method, code: e.code }
    }
}

impl SlackBot {
    /// Where `note` goes in Slack, and its text (an alert mentions the alert group).
    fn target(&self, note: &PendingNote) -> (NoteTarget, String) {
        match note {
            PendingNote::Thread { at, text } => {
                let target = NoteTarget::Thread { channel: at.channel.clone(), ts: at.ts.clone() };
                (target, text.clone())
            }
            PendingNote::Dm { user, text } => (NoteTarget::Dm { user: user.clone() }, text.clone()),
            PendingNote::Alert { text } => {
                let target = NoteTarget::Channel { channel: self.audit_channel().to_owned() };
                (target, self.alert_text(text))
            }
        }
    }
}

#[async_trait::async_trait]
impl Chat for SlackBot {
    fn audit_channel(&self) -> &str {
        SlackBot::audit_channel(self)
    }

    async fn post_request(
        &self,
        req: &Request,
        approvers_hint: &str,
        now: DateTime<Utc>,
    ) -> Result<MessageRef, ChatError> {
        let msg = render::request_message(req, &self.emojis, approvers_hint, now);
        Ok(self.post_audit(&msg).await?)
    }

    async fn show_request(&self, req: &Request, approvers_hint: &str) {
        SlackBot::show_request(self, req, approvers_hint).await
    }

    async fn permalink(&self, at: &MessageRef) -> Result<String, ChatError> {
        Ok(self.api().permalink(&at.channel, &at.ts).await?)
    }

    async fn thread(&self, at: &MessageRef, text: &str) {
        SlackBot::thread(self, at, text).await
    }

    async fn post_in_thread(&self, at: &MessageRef, text: &str) -> Result<MessageRef, ChatError> {
        let ts = self.api().post_message(&at.channel, text, &[], Some(&at.ts)).await?;
        Ok(MessageRef { channel: at.channel.clone(), ts })
    }

    /// Fresh ids per call; none without an outbox (then [`Chat::committed`] posts the notes
    /// directly after the change is stored).
    fn outbox_notes(&self, pending: &[PendingNote]) -> Vec<OutboxNote> {
        let Some(notes) = &self.notes else { return Vec::new() };
        pending
            .iter()
            .map(|p| {
                let (target, text) = self.target(p);
                notes.note(target, &text)
            })
            .collect()
    }

    /// Wakes the outbox's delivery, or, without an outbox, posts the notes directly now (best
    /// effort, as [`SlackBot::thread`] does).
    async fn committed(&self, pending: &[PendingNote]) {
        match &self.notes {
            Some(notes) if !pending.is_empty() => notes.wake(),
            Some(_) => {}
            None => {
                for p in pending {
                    let (target, text) = self.target(p);
                    self.post_direct(&target, &text).await;
                }
            }
        }
    }

    /// As [`SlackBot::thread`] does, each on its own.
    async fn queue_all(&self, pending: &[PendingNote]) {
        for p in pending {
            let (target, text) = self.target(p);
            self.note(target, &text).await;
        }
    }

    async fn respond(&self, response_url: &str, channel: &str, user: &str, reply: &Reply) {
        if *reply == Reply::Nothing {
            return;
        }
        SlackBot::respond(self, response_url, channel, user, &Rendered::from(reply)).await
    }

    /// Not counted here: the caller counts the failure with what it tells the user.
    async fn publish_home(
        &self,
        user: &str,
        sections: &[(String, String)],
    ) -> Result<(), ChatError> {
        let blocks = render::home_blocks(sections);
        Ok(self.api().publish_home(user, blocks).await?)
    }

    async fn post_in_channel(&self, channel: &str, reply: &Reply) -> Result<(), ChatError> {
        let msg = Rendered::from(reply);
        self.api().post_message(channel, &msg.text, &msg.blocks, None).await?;
        Ok(())
    }

    async fn open_request_form(
        &self,
        trigger_id: &str,
        channel: &str,
        rules: &CommandRules,
    ) -> Result<(), ChatError> {
        let view = modal::request_form(rules, channel);
        Ok(self.api().open_view(trigger_id, view).await?)
    }
}

#[async_trait::async_trait]
impl UserGroups for SlackApi {
    async fn members(&self, group: &str) -> Result<Vec<String>, ChatError> {
        Ok(self.usergroup_members(group).await?)
    }
}
