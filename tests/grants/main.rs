//! The grant service, its timers worker and the reconciler against real PostgreSQL (15, 16, 17),
//! real Redis and moto: a delivered password logs in until the worker expires it and ends the
//! open session; every failure fails closed; lost timers come back from the database's truth;
//! the plaintext reaches neither Redis nor the logs. The notifier is a recorder (Slack is not
//! part of this seam).

// Long async tests nest deeply.
#![recursion_limit = "256"]

#[path = "../support/mod.rs"]
mod support;

mod budget;
mod cli;
mod expiry;
mod fixture;
mod instances;
mod issue;
mod person;
mod recovery;
mod secrets;
mod stall;
