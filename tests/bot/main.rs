//! The Slack bot, in-process (`Application::build` on port 0) against real PostgreSQL and Redis
//! and the strict fake Slack: the firefighter drill, refusals, and outages.
//!
//! Run with `eval "$(scripts/test-services | tail -1)" && cargo test --test bot` (needs `scripts/test-services`).

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod break_glass;
mod buttons;
mod commands;
mod drill;
mod fleet;
mod form;
mod groups;
mod helpers;
mod holders;
mod home;
mod lifecycle;
mod notes;
mod oncall;
mod outages;
mod races;
mod release;
mod socket_mode;
mod wording;
