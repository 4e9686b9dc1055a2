//! Rate-limited logging of refused Slack requests (missing, wrong or stale signatures). Anyone
//! on the internet can send those, so each must not cost a log line: the first refusal in an
//! interval is logged at once, the rest are counted and reported in one line when the next
//! refusal after the interval arrives.
//!
//! Owns only the counting; the time is passed in, so the decision is pure and testable.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often at most a refused request is logged.
pub const REJECT_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// What to log for one refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectLine {
    /// Log this refusal, and that `suppressed` more were refused (not logged) before it.
    Log { suppressed: u64 },
    /// Counted only.
    Quiet,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    suppressed: u64,
}

/// Counts refusals per interval. Shared by the listener's routes.
#[derive(Debug)]
pub struct RejectLog {
    interval: Duration,
    window: Mutex<Option<Window>>,
}

impl RejectLog {
    pub fn new(interval: Duration) -> RejectLog {
        RejectLog { interval, window: Mutex::new(None) }
    }

    /// Notes one refusal at `now`.
    pub fn note(&self, now: Instant) -> RejectLine {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        match window.as_mut() {
            Some(w) if now.saturating_duration_since(w.started) < self.interval => {
                w.suppressed = w.suppressed.saturating_add(1);
                RejectLine::Quiet
            }
            _ => {
                let suppressed = window.as_ref().map_or(0, |w| w.suppressed);
                *window = Some(Window { started: now, suppressed: 0 });
                RejectLine::Log { suppressed }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_of_the_others() {
        let log = RejectLog::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(log.note(t0), RejectLine::Log { suppressed: 0 });
        for s in 1..=59 {
            assert_eq!(log.note(t0 + Duration::from_secs(s)), RejectLine::Quiet);
        }
        assert_eq!(log.note(t0 + Duration::from_secs(60)), RejectLine::Log { suppressed: 59 });
        assert_eq!(log.note(t0 + Duration::from_secs(61)), RejectLine::Quiet);
        assert_eq!(log.note(t0 + Duration::from_secs(600)), RejectLine::Log { suppressed: 1 });
    }
}
