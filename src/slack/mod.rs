//! Slack edges: the Web API client adapter and a strict local stand-in for Slack.
//!
//! This module owns how the bot talks to Slack over HTTP. It must not hold access policy or
//! workflow decisions: callers pass text and blocks in, and get ids or typed errors back.

pub mod client;
pub mod fake;
