//! The grant service, its timers worker and the reconciler against real PostgreSQL (15, 16, 17),
//! real Redis and moto: a delivered password logs in until the worker expires it and ends the
//! open session; every failure fails closed; lost timers come back from the database's truth;
//! the plaintext reaches neither Redis nor the logs. The notifier is a recorder (Slack is not
//! part of this seam).

// Long async tests nest deeply.
#![recursion_limit = "256"]

mod support;

#[path = "grants/budget.rs"]
mod budget;
#[path = "grants/cli.rs"]
mod cli;
#[path = "grants/expiry.rs"]
mod expiry;
#[path = "grants/fixture.rs"]
mod fixture;
#[path = "grants/issue.rs"]
mod issue;
#[path = "grants/recovery.rs"]
mod recovery;
#[path = "grants/secrets.rs"]
mod secrets;
#[path = "grants/stall.rs"]
mod stall;
