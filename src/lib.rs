//! pgroles: a least-privilege role model for one Aurora/PostgreSQL database, and a Slack bot
//! that grants on-call engineers time-boxed firefighter access to it.
//!
//! Module map:
//! - [`config`]: layered configuration (TOML, `PGROLES_*` env, `*_FILE` secrets); the `[access]`
//!   section's shape is `access`'s, re-exported.
//! - [`model`]: role names, the embedded `sql/` scripts and their rendering (`AuroraMode`),
//!   expected privileges.
//! - [`access`]: the pure domain at the bottom, importing nothing of the crate: `Level`, the
//!   `[access]` settings, typed ids parsed once at the edge, command grammar, approval policy,
//!   the request state machine, and every sentence users read (`access::text`).
//! - [`metrics`]: the Prometheus counters; a leaf importing nothing of the crate.
//! - [`slack`]: outbound Slack: the Web API client adapter, rendering, the notifier and the
//!   outbox delivery; implements `workflow::port` (`Chat`, `UserGroups`), the only part of
//!   `workflow` it imports. Never imports `server`. (The fake Slack is the workspace
//!   crate `crates/slack-fake`, for tests, benches and the demo.)
//! - [`broker`]: temporary passwords, SCRAM verifiers, the `db_admin` calls over a pool.
//! - [`aws`]: Secrets Manager (the broker's password) and RDS IAM auth tokens.
//! - [`oncall`]: PagerDuty on-call lookups for auto-approval (`OnCall`/`NotOnCall`/`Unknown`,
//!   one deadline, bounded pages). (The fake PagerDuty is the workspace crate
//!   `crates/pagerduty-fake`, for tests.)
//! - [`timers`]: Redis: the timer queue, versioned documents, the request store
//!   ([`timers::RequestStore`]), idempotency keys, the outbox.
//! - [`verify`]: `pgroles verify`: drift of a live database from the role model.
//! - [`grants`]: issuing and expiring firefighter grants (fail closed), the timer worker, the
//!   reconciler.
//! - [`workflow`]: the request workflow: load, decide (`access`), CAS-persist, act; reaches the
//!   chat only through its port (`workflow::port`), which `slack` implements.
//! - [`server`]: `pgroles serve` and inbound Slack: the HTTP routes and Socket Mode sharing one
//!   dispatch, health and `/metrics`, the worker's supervision, the one shutdown signal.
//! - [`demo`]: `pgroles demo`: the demo drill (model, bot, Slack stand-in, one incident).

#![recursion_limit = "256"]
pub mod access;
pub mod aws;
pub mod broker;
pub mod cli;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod grants;
pub mod metrics;
pub mod model;
pub mod oncall;
pub mod server;
pub mod slack;
pub mod telemetry;
pub mod timers;
pub mod verify;
pub mod workflow;
