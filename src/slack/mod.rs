//! The outbound Slack adapter: the Web API client, Block Kit rendering (`render`; the request
//! form's modal in `modal`), the bot's notifier
//! (`notifier`, `grant_events`) and the delivery of the durable outbox (`outbox`). The password
//! DM's text and body are built in zeroizing memory (`secret_body`) and sent by the project's
//! own JSON POST (`json_post`).
//!
//! This module owns how the bot talks to Slack over HTTP. It must not hold access policy or
//! workflow decisions: callers pass text and blocks in, and get ids or typed errors back. It
//! implements the workflow's port (`chat`: [`crate::workflow::port`]'s `Chat` and `UserGroups`;
//! [`oncall`]: `OnCall`, with `users.info` and PagerDuty through [`crate::oncall`])
//! and imports of `workflow` only those port types, never `server`; what Slack
//! sends to the bot (the HTTP routes, Socket Mode) is the inbound side, in [`crate::server`].

mod chat;
pub mod client;
mod grant_events;
pub(crate) mod https;
mod json_post;
pub mod modal;
pub mod notifier;
pub mod oncall;
pub mod outbox;
pub mod render;
pub mod secret_body;
