//! pgroles: a least-privilege role model for one Aurora/PostgreSQL database, and a Slack bot
//! that grants on-call engineers time-boxed firefighter access to it.
//!
//! Module map:
//! - [`config`]: layered configuration (TOML, `PGROLES_*` env, `*_FILE` secrets).
//! - [`model`]: role names, the embedded `sql/` scripts and their rendering, expected privileges.
//! - [`slack`]: the Slack Web API client adapter and a strict local fake Slack (tests, demo).

pub mod cli;
pub mod config;
pub mod model;
pub mod slack;
