//! A grant [`Notifier`] for benches and tests that drive the grant service directly: it keeps
//! the last delivered password (in memory only) and counts expiries; and nearest-rank
//! percentiles for the benches' latency tables.
//!
//! Owns nothing else: no Slack, no logging of the password.

use pgroles::broker::TempPassword;
use pgroles::grants::{GrantEvent, GrantRecord, Notifier};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct Capture {
    pub password: Mutex<Option<String>>,
    pub expired: AtomicUsize,
}

impl Capture {
    /// The last password delivered.
    pub fn last_password(&self) -> anyhow::Result<String> {
        let p = self.password.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
        p.ok_or_else(|| anyhow::anyhow!("no password delivered"))
    }
}

#[async_trait::async_trait]
impl Notifier for Capture {
    async fn deliver(&self, _g: &GrantRecord, p: &TempPassword) -> anyhow::Result<()> {
        *self.password.lock().map_err(|_| anyhow::anyhow!("poisoned"))? =
            Some(p.expose_for_delivery().to_owned());
        Ok(())
    }
    async fn notify(&self, event: GrantEvent<'_>) -> anyhow::Result<()> {
        if let GrantEvent::Expired { .. } = event {
            self.expired.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// `| name | n | p50 ms | p99 ms | max ms |` of `samples` (one decimal), and their p99.
pub fn table_row(name: &str, mut samples: Vec<Duration>) -> (Duration, String) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p99 = percentile(&samples, 99.0);
    let line = format!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} |",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(p99),
        ms(samples.last().copied().unwrap_or_default())
    );
    (p99, line)
}

/// Nearest-rank percentile of `sorted`, `p` in 0..=100.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
