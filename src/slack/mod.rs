//! Slack edges: the Web API client adapter, a strict local stand-in for Slack, the HTTP
//! listener (signatures, 3 s acks), the Socket Mode client, Block Kit rendering, the bot's
//! notifier (`notifier`, `grant_events`) and the delivery of the durable outbox
//! (`outbox`). The password DM's text and body are built in zeroizing memory (`secret_body`)
//! and sent by the project's own JSON POST (`json_post`).
//!
//! This module owns how the bot talks to Slack over HTTP. It must not hold access policy or
//! workflow decisions: callers pass text and blocks in, and get ids or typed errors back.

pub mod client;
mod grant_events;
mod https;
mod json_post;
pub mod listener;
pub mod notifier;
pub mod outbox;
pub mod reject_log;
pub mod render;
pub mod secret_body;
pub mod socket;
