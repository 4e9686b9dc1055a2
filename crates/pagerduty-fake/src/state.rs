//! The fake PagerDuty account: its users, the on-call entries computed from its schedules, every
//! API call received, and pending faults.
//!
//! Owns the model and its read helpers. It must not do I/O; the HTTP layer (`server`) and the
//! endpoint rules (`api`) read and mutate it under one lock.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

/// A fault to inject into the next call(s) of one endpoint (`users` or `oncalls`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeFault {
    /// HTTP 429 with PagerDuty's rate-limit body (code 2020) and a `ratelimit-reset` header.
    RateLimited { reset_secs: u64 },
    /// That HTTP status; 500 carries PagerDuty's JSON error (code 2000), other 5xx a plain-text
    /// body as a load balancer in front of the API sends.
    Status(u16),
    /// Answer normally, after this many milliseconds.
    Delay(u64),
}

/// A user of the account (`GET /users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    /// `P` followed by six upper-case letters or digits, as PagerDuty's ids look.
    pub id: String,
    pub name: String,
    pub email: String,
}

/// One computed on-call entry: `user` is on call for `schedule` from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOnCall {
    pub user_id: String,
    pub schedule_id: String,
    pub escalation_policy_id: String,
    pub escalation_level: u32,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One API call as the fake received it. The `Authorization` header is never recorded.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// `users` or `oncalls` (the path without its `/`), or the raw path for anything else.
    pub endpoint: String,
    /// Query pairs in the order sent (repeated keys kept).
    pub query: Vec<(String, String)>,
    /// The HTTP status answered.
    pub status: u16,
    pub at: SystemTime,
}

/// The whole fake account.
#[derive(Debug)]
pub struct Account {
    pub(crate) token: String,
    pub(crate) users: Vec<FakeUser>,
    pub(crate) oncalls: Vec<FakeOnCall>,
    pub(crate) calls: Vec<RecordedCall>,
    pub(crate) faults: HashMap<String, VecDeque<FakeFault>>,
}

impl Account {
    pub(crate) fn new(token: &str) -> Account {
        Account {
            token: token.to_string(),
            users: Vec::new(),
            oncalls: Vec::new(),
            calls: Vec::new(),
            faults: HashMap::new(),
        }
    }

    /// Every recorded call of `endpoint`, oldest first.
    pub fn calls(&self, endpoint: &str) -> Vec<RecordedCall> {
        self.calls.iter().filter(|c| c.endpoint == endpoint).cloned().collect()
    }

    /// Every recorded call, oldest first.
    pub fn all_calls(&self) -> Vec<RecordedCall> {
        self.calls.clone()
    }

    /// The registered users.
    pub fn users(&self) -> &[FakeUser] {
        &self.users
    }
}
