//! The seams of [`super::Application::build`] that tests, benchmarks and the demo replace
//! ([`Deps`]): the clock, Slack's retry policy, the grants worker's tuning, outbox timing, the
//! drain timeout and test hooks. `Deps::default()` is production; `for_local_drill` is the
//! loopback drills' quick timings. Data only: no wiring here.

use crate::grants::GrantSettings;
use crate::slack::client::RetryPolicy;
use crate::slack::outbox::OutboxPolicy;
use crate::timers::{Clock, CommitHook, SystemClock};
use std::sync::Arc;
use std::time::Duration;

/// What [`Application::build`] takes besides the configuration: the seams tests and benchmarks
/// replace. `Default` is production.
#[derive(Clone)]
pub struct Deps {
    pub clock: Arc<dyn Clock>,
    /// Retries of Slack Web API calls (tests use short waits).
    pub slack_retry: RetryPolicy,
    /// Tuning of the grants worker (tests poll faster); `None`: from `[access]`.
    pub grant_settings: Option<GrantSettings>,
    /// How long the approver group's members are cached.
    pub approver_cache_ttl: Duration,
    /// Run the timer worker in this process (off for a bench that only measures HTTP).
    pub run_worker: bool,
    /// Delivery and retry timing of the Slack outbox.
    pub outbox: OutboxPolicy,
    /// How long shutdown waits for in-flight requests (an issue, a revoke) to finish; keep it
    /// well under the pod's termination grace period.
    pub drain_timeout: Duration,
    /// Test hook: notifying it aborts the timer worker task, as a crash would.
    pub worker_kill: Option<Arc<tokio::sync::Notify>>,
    /// Test seam: runs after every stored request change (see `RequestStore::with_commit_hook`).
    pub commit_hook: Option<CommitHook>,
}

impl Default for Deps {
    fn default() -> Self {
        Deps {
            clock: Arc::new(SystemClock),
            slack_retry: RetryPolicy::default(),
            grant_settings: None,
            approver_cache_ttl: Duration::from_secs(300),
            run_worker: true,
            outbox: OutboxPolicy::default(),
            drain_timeout: Duration::from_secs(20),
            worker_kill: None,
            commit_hook: None,
        }
    }
}

impl Deps {
    /// Fast timer polling and short Slack retries, for drills on loopback: the demo and the test
    /// suites. Production uses [`Deps::default`] (settings from `[access]`).
    pub fn for_local_drill(access: &crate::config::AccessConfig) -> Deps {
        let grant_settings = GrantSettings {
            reminder_before: Duration::from_secs(access.reminder_before_secs),
            poll_interval: Duration::from_millis(50),
            retry_base: Duration::from_millis(200),
            retry_max: Duration::from_secs(1),
            ..GrantSettings::from_access(access)
        };
        Deps {
            slack_retry: RetryPolicy {
                max_attempts: 2,
                max_wait: Duration::from_secs(1),
                backoff: Duration::from_millis(50),
                call_timeout: Duration::from_secs(3),
            },
            grant_settings: Some(grant_settings),
            outbox: OutboxPolicy {
                poll_interval: Duration::from_millis(200),
                backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(2),
                call_timeout: Duration::from_secs(3),
                ..OutboxPolicy::default()
            },
            ..Deps::default()
        }
    }
}
