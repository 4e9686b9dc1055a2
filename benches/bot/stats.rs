//! Latency samples: percentiles (nearest rank) and one printed line per series.
//!
//! Owns arithmetic and formatting only; it must not measure anything.

use std::time::Duration;

/// A named series of latencies.
pub struct Series {
    pub name: String,
    sorted: Vec<Duration>,
    /// Requests that failed (non-200, wrong body, transport error); not in `sorted`.
    pub errors: usize,
}

impl Series {
    pub fn new(name: impl Into<String>, mut samples: Vec<Duration>, errors: usize) -> Series {
        samples.sort();
        Series { name: name.into(), sorted: samples, errors }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Nearest-rank percentile, `p` in 0..=100; zero when empty.
    pub fn pct(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }

    /// `| name | n | errors | p50 | p95 | p99 | max |` in milliseconds.
    pub fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            self.name,
            self.len(),
            self.errors,
            ms(self.pct(50.0)),
            ms(self.pct(95.0)),
            ms(self.pct(99.0)),
            ms(self.max())
        )
    }
}

/// The header matching [`Series::row`].
pub fn header(first: &str) -> String {
    format!("| {first} | n | errors | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|")
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}
