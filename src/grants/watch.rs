//! What an operator watches about expiry: the worker's heartbeat (last poll), the expiry lag
//! (deadline to password ended) and failed expiry attempts by reason.
//!
//! Owns these values and their Prometheus types (prometheus-client handles, registered by the
//! server's registry), so the grants worker records them without knowing about HTTP. Labels are
//! fixed words, never a grant id, a user or a secret.

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Labels of [`ExpiryWatch::failed`]: `reason` is `database`, `redis` or `other`.
pub type ReasonLabels = Vec<(&'static str, String)>;

/// Expiry telemetry of one process. Clone the handles to register them.
#[derive(Debug)]
pub struct ExpiryWatch {
    /// Unix millis of the worker's last poll of the queue (0: never).
    last_poll_ms: AtomicI64,
    /// Set when the worker loop has ended (returned or panicked).
    stopped: AtomicBool,
    /// Reconcile passes the worker completed (with or without an error).
    reconcile_passes: AtomicU64,
    /// Seconds from a grant's `expires_at` to its password being expired, by the Expire timer.
    pub lag: Histogram,
    /// Expire timer runs that failed (and will be retried), by reason.
    pub failed: Family<ReasonLabels, Counter>,
    /// Instances swept after a grant's end, by outcome: `unreachable` (at the end; a sweep was
    /// scheduled), `recovered` (it answered later), `abandoned` (it never did).
    pub instance_sweeps: Family<ReasonLabels, Counter>,
}

impl Default for ExpiryWatch {
    fn default() -> Self {
        ExpiryWatch {
            last_poll_ms: AtomicI64::new(0),
            stopped: AtomicBool::new(false),
            reconcile_passes: AtomicU64::new(0),
            lag: Histogram::new([0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0]),
            failed: Family::default(),
            instance_sweeps: Family::default(),
        }
    }
}

impl ExpiryWatch {
    /// The worker polled (whatever the outcome) at `now`.
    pub fn beat(&self, now: DateTime<Utc>) {
        self.last_poll_ms.store(now.timestamp_millis(), Ordering::SeqCst);
    }

    /// The worker's last poll, if it ever polled.
    pub fn last_poll(&self) -> Option<DateTime<Utc>> {
        match self.last_poll_ms.load(Ordering::SeqCst) {
            0 => None,
            ms => DateTime::from_timestamp_millis(ms),
        }
    }

    /// A reconcile pass finished (whatever its outcome).
    pub fn reconcile_done(&self) {
        self.reconcile_passes.fetch_add(1, Ordering::SeqCst);
    }

    /// Reconcile passes finished so far.
    pub fn reconcile_passes(&self) -> u64 {
        self.reconcile_passes.load(Ordering::SeqCst)
    }

    /// Marks the worker loop as ended: readiness fails from now on.
    pub fn mark_stopped(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Whether the worker is alive: not stopped, and polled within `max_age` of `now`.
    pub fn is_alive(&self, now: DateTime<Utc>, max_age: std::time::Duration) -> bool {
        let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        !self.is_stopped() && self.last_poll().is_some_and(|t| now - t <= max_age)
    }

    /// A grant's password was expired `lag` after its planned end.
    pub fn expired(&self, expires_at: DateTime<Utc>, now: DateTime<Utc>) {
        let lag = (now - expires_at).num_milliseconds().max(0) as f64 / 1000.0;
        self.lag.observe(lag);
    }

    /// An Expire timer run failed for `reason`.
    pub fn expiry_failed(&self, reason: &str) {
        self.failed.get_or_create(&vec![("reason", reason.to_owned())]).inc();
    }

    /// `n` instance sweeps reached `outcome` (`unreachable`, `recovered`, `abandoned`).
    pub fn instance_sweep(&self, outcome: &str, n: usize) {
        let c = self.instance_sweeps.get_or_create(&vec![("outcome", outcome.to_owned())]);
        c.inc_by(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alive_only_after_a_recent_poll_and_before_stop() {
        let w = ExpiryWatch::default();
        let now = Utc::now();
        let max = std::time::Duration::from_secs(5);
        assert!(!w.is_alive(now, max), "never polled");
        w.beat(now);
        assert!(w.is_alive(now + chrono::Duration::seconds(4), max));
        assert!(!w.is_alive(now + chrono::Duration::seconds(6), max), "heartbeat too old");
        w.mark_stopped();
        assert!(!w.is_alive(now, max), "stopped");
    }
}
