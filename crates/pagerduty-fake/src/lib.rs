//! A strict local stand-in for PagerDuty's REST API v2: the two reads the bot makes to decide
//! whether a requester is on call (`GET /users?query=<email>`, `GET /oncalls` by schedule and
//! user), with PagerDuty's authentication, versioning header, classic pagination and error
//! bodies, and injectable faults (5xx, 429, slow answers).
//!
//! Its own crate, used by pgroles' integration tests. It must not be wired into the production
//! path and must not depend on pgroles: the bot meets it only over HTTP, through
//! `pagerduty.api_url`.
//!
//! - [`state`]: the account model (users, on-call entries, recorded calls, faults).
//! - `api`: the endpoint rules, derived from PagerDuty's OpenAPI reference.
//! - `server`: HTTP, authentication, required headers, faults.

mod api;
mod server;
pub mod state;

pub use api::{DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET_PLUS_LIMIT};
pub use server::ACCEPT_V2;
pub use state::{Account, FakeFault, FakeOnCall, FakeUser, RecordedCall};

use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// The API key the fake accepts unless told otherwise (fake, not a secret).
pub const DEFAULT_TOKEN: &str = "y_NbAkKc66ryYTWUXYEu";

pub(crate) struct Shared {
    state: Mutex<Account>,
    changed: watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Account> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running fake PagerDuty on 127.0.0.1. Cheap to clone; the server stops with the last clone.
#[derive(Clone)]
pub struct FakePagerDuty {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _task: Arc<ServerTask>,
}

impl FakePagerDuty {
    /// Starts a fake accepting [`DEFAULT_TOKEN`].
    pub async fn start() -> anyhow::Result<FakePagerDuty> {
        FakePagerDuty::start_with_token(DEFAULT_TOKEN).await
    }

    /// Starts a fake accepting only `token`.
    pub async fn start_with_token(token: &str) -> anyhow::Result<FakePagerDuty> {
        anyhow::ensure!(!token.is_empty(), "the fake needs a non-empty API key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(Account::new(token)),
            changed: watch::Sender::new(0),
        });
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake PagerDuty server stopped");
            }
        });
        Ok(FakePagerDuty { shared, addr, _task: Arc::new(ServerTask(task)) })
    }

    /// The REST API base URL, without a trailing `/` (for `pagerduty.api_url`).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API key the fake accepts.
    pub fn token(&self) -> String {
        self.shared.lock().token.clone()
    }

    /// Reads the account under the lock.
    pub fn with<T>(&self, f: impl FnOnce(&Account) -> T) -> T {
        f(&self.shared.lock())
    }

    fn edit(&self, f: impl FnOnce(&mut Account)) {
        f(&mut self.shared.lock());
        self.shared.bump();
    }

    /// Registers a user; returns its id (`P` and six characters).
    pub fn add_user(&self, name: &str, email: &str) -> String {
        let mut id = String::new();
        self.edit(|acc| {
            id = format!("PU{:05}", acc.users.len() + 1);
            acc.users.push(FakeUser { id: id.clone(), name: name.into(), email: email.into() });
        });
        id
    }

    /// Puts `user_id` on call for `schedule_id` from `start` to `end` (escalation level 1).
    pub fn add_oncall(
        &self,
        user_id: &str,
        schedule_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) {
        let entry = FakeOnCall {
            user_id: user_id.into(),
            schedule_id: schedule_id.into(),
            escalation_policy_id: format!("PE{}", schedule_id.trim_start_matches('P')),
            escalation_level: 1,
            start,
            end,
        };
        self.edit(|acc| acc.oncalls.push(entry));
    }

    /// Makes the next `times` calls of `endpoint` (`users` or `oncalls`) fail or stall.
    pub fn fail_next(&self, endpoint: &str, fault: FakeFault, times: usize) {
        self.edit(|acc| {
            let queue = acc.faults.entry(endpoint.to_string()).or_default();
            queue.extend(std::iter::repeat_n(fault, times));
        });
    }

    /// Calls of one endpoint, oldest first.
    pub fn calls(&self, endpoint: &str) -> Vec<RecordedCall> {
        self.with(|acc| acc.calls(endpoint))
    }

    /// Every call, oldest first.
    pub fn all_calls(&self) -> Vec<RecordedCall> {
        self.with(|acc| acc.all_calls())
    }

    /// Waits until `probe` returns `Some`, re-checking after every call the fake answers;
    /// `None` when `timeout` passes first.
    pub async fn wait_for<T>(
        &self,
        probe: impl Fn(&Account) -> Option<T>,
        timeout: std::time::Duration,
    ) -> Option<T> {
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.with(&probe) {
                return Some(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return self.with(&probe),
            }
        }
    }
}
