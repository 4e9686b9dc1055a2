//! The bot's Prometheus metrics (prometheus-client registry, text exposition at `/metrics`).
//!
//! Owns the metric names and their labels. Labels are fixed, low-cardinality words (command,
//! outcome, Slack method and error code): never a user id, an incident id or any secret.
//!
//! A leaf low in the stack: it imports nothing of the crate, so the workflow, the Slack adapter
//! and the server all record into it without pointing up at each other.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

type Labels = Vec<(&'static str, String)>;

/// Every counter the bot keeps. Cheap to clone (all handles share their values).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<Labels, Counter>,
    approvals: Counter,
    issues: Family<Labels, Counter>,
    expiries: Counter,
    sessions_ended: Counter,
    timer_lag: Histogram,
    slack_errors: Family<Labels, Counter>,
    outbox_notes: Gauge,
    outbox_oldest: Gauge<f64, std::sync::atomic::AtomicU64>,
    outbox_dropped: Family<Labels, Counter>,
    ops: OpsGauges,
}

/// Gauges of expiry and the connection budget, set at each scrape (see [`Metrics::set_ops`]).
#[derive(Clone, Default)]
struct OpsGauges {
    last_poll: Gauge<f64, AtomicU64>,
    overdue: Gauge,
    oldest_overdue: Gauge<f64, AtomicU64>,
    connections: Family<Labels, Gauge>,
    budget: Gauge,
    instances: Gauge,
}

/// What [`Metrics::set_ops`] records.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpsSnapshot {
    /// Unix seconds of the worker's last poll (0: never or no worker here).
    pub last_poll_unix: f64,
    /// Timers past their due time by more than the grace (any replica's), and the oldest's age.
    pub overdue: i64,
    pub oldest_overdue_secs: f64,
    /// This process's broker pool: connections open and in use, and the pool's maximum.
    pub connections_open: i64,
    pub connections_in_use: i64,
    pub pool_max: i64,
    /// The cluster's other instances this process ends sessions on (listed and discovered).
    pub instances: i64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pgroles");
        let requests = Family::<Labels, Counter>::default();
        let approvals = Counter::default();
        let issues = Family::<Labels, Counter>::default();
        let expiries = Counter::default();
        let sessions_ended = Counter::default();
        let timer_lag = Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]);
        let slack_errors = Family::<Labels, Counter>::default();
        let ops = OpsGauges::default();
        registry.register(
            "worker_last_poll_timestamp_seconds",
            "When this process's timer worker last polled the queue (unix seconds)",
            ops.last_poll.clone(),
        );
        registry.register(
            "timers_overdue",
            "Timers more than 5 s past their due time and not yet done (all replicas)",
            ops.overdue.clone(),
        );
        registry.register(
            "timer_oldest_overdue_seconds",
            "How far past its due time the oldest overdue timer is",
            ops.oldest_overdue.clone(),
        );
        registry.register(
            "broker_connections",
            "This process's broker connections, by state (open, in_use)",
            ops.connections.clone(),
        );
        registry.register(
            "broker_pool_max_connections",
            "This process's share of the broker's connection budget (database.pool_size)",
            ops.budget.clone(),
        );
        registry.register(
            "instances",
            "Other instances of the cluster (Aurora readers) whose firefighter sessions end too \
             (database.instances and database.discover_cluster)",
            ops.instances.clone(),
        );
        registry.register(
            "slack_requests",
            "Slack commands and events handled, by command and outcome",
            requests.clone(),
        );
        registry.register("approvals", "Approvals recorded", approvals.clone());
        registry.register("grants_issued", "Password issues, by outcome", issues.clone());
        registry.register("grants_expired", "Grants that expired", expiries.clone());
        registry.register(
            "sessions_ended",
            "Firefighter sessions ended at expiry or revocation",
            sessions_ended.clone(),
        );
        registry.register(
            "timer_lag_seconds",
            "How late approval-timeout timers ran after their due time",
            timer_lag.clone(),
        );
        registry.register(
            "slack_api_errors",
            "Slack Web API calls that failed for good, by method and code",
            slack_errors.clone(),
        );
        let outbox_notes = Gauge::default();
        let outbox_oldest = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let outbox_dropped = Family::<Labels, Counter>::default();
        registry.register(
            "outbox_notes",
            "Slack notes queued in the outbox, not yet posted",
            outbox_notes.clone(),
        );
        registry.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest note in the outbox (0 when empty)",
            outbox_oldest.clone(),
        );
        registry.register(
            "outbox_dropped",
            "Outbox notes never posted, by reason (refused, gave_up, unreadable)",
            outbox_dropped.clone(),
        );
        Metrics {
            registry: Arc::new(Mutex::new(registry)),
            outbox_notes,
            outbox_oldest,
            outbox_dropped,
            requests,
            approvals,
            issues,
            expiries,
            sessions_ended,
            timer_lag,
            slack_errors,
            ops,
        }
    }

    /// Registers the expiry lag histogram and the failed-expiry counter of the grants worker
    /// (the handles of its `ExpiryWatch`; this module imports nothing of the crate).
    pub fn register_expiry(
        &self,
        lag: Histogram,
        failed: Family<Labels, Counter>,
        instance_sweeps: Family<Labels, Counter>,
    ) {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry.register(
            "expiry_lag_seconds",
            "From a grant's planned end to its password being expired by the Expire timer",
            lag,
        );
        registry.register(
            "expiry_failures",
            "Expire timer runs that failed and will be retried, by reason",
            failed,
        );
        registry.register(
            "instance_sweeps",
            "Instances where a grant's sessions could not be ended at its end (unreachable), and \
             how their retries ended (recovered, abandoned)",
            instance_sweeps,
        );
    }

    /// Sets the scrape-time gauges.
    pub fn set_ops(&self, s: OpsSnapshot) {
        self.ops.last_poll.set(s.last_poll_unix);
        self.ops.overdue.set(s.overdue);
        self.ops.oldest_overdue.set(s.oldest_overdue_secs);
        self.ops
            .connections
            .get_or_create(&vec![("state", "open".to_owned())])
            .set(s.connections_open);
        self.ops
            .connections
            .get_or_create(&vec![("state", "in_use".to_owned())])
            .set(s.connections_in_use);
        self.ops.budget.set(s.pool_max);
        self.ops.instances.set(s.instances);
    }

    /// One handled command or event (`command`: `ro`, `status`, `reaction_added`, ...;
    /// `outcome`: `ok`, `rejected`, `error`, `duplicate`, `ignored`).
    pub fn request(&self, command: &str, outcome: &str) {
        self.requests
            .get_or_create(&vec![("command", command.to_owned()), ("outcome", outcome.to_owned())])
            .inc();
    }

    pub fn approval(&self) {
        self.approvals.inc();
    }

    /// `outcome`: `ok` or `failed`.
    pub fn issue(&self, outcome: &str) {
        self.issues.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    pub fn expiry(&self, sessions_ended: i32) {
        self.expiries.inc();
        self.sessions(sessions_ended);
    }

    pub fn sessions(&self, ended: i32) {
        self.sessions_ended.inc_by(u64::try_from(ended).unwrap_or(0));
    }

    pub fn timer_lag(&self, seconds: f64) {
        self.timer_lag.observe(seconds.max(0.0));
    }

    pub fn slack_error(&self, method: &str, code: &str) {
        self.slack_errors
            .get_or_create(&vec![("method", method.to_owned()), ("code", code.to_owned())])
            .inc();
    }

    /// The outbox's depth and the age of its oldest note.
    pub fn outbox(&self, notes: u64, oldest_age_secs: f64) {
        self.outbox_notes.set(i64::try_from(notes).unwrap_or(i64::MAX));
        self.outbox_oldest.set(oldest_age_secs);
    }

    /// A note that will never be posted (`reason`: `refused`, `gave_up`, `unreadable`).
    pub fn outbox_dropped(&self, reason: &str) {
        self.outbox_dropped.get_or_create(&vec![("reason", reason.to_owned())]).inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_up_in_the_exposition_with_their_labels() {
        let m = Metrics::new();
        m.request("ro", "ok");
        m.slack_error("chat.postMessage", "channel_not_found");
        m.expiry(2);
        let text = m.encode();
        assert!(
            text.contains("pgroles_slack_requests_total{command=\"ro\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("code=\"channel_not_found\""), "{text}");
        assert!(text.contains("pgroles_sessions_ended_total 2"), "{text}");
    }
}
