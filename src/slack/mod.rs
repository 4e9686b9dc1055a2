//! Slack edges: the Web API client adapter, a strict local stand-in for Slack, the HTTP
//! listener (signatures, 3 s acks), the Socket Mode client, Block Kit rendering and the bot's
//! notifier.
//!
//! This module owns how the bot talks to Slack over HTTP. It must not hold access policy or
//! workflow decisions: callers pass text and blocks in, and get ids or typed errors back.

pub mod client;
pub mod fake;
pub mod listener;
pub mod notifier;
pub mod reject_log;
pub mod render;
pub mod socket;
