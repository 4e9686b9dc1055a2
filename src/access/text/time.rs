//! The duration and time formats users read: `1h 30m`, `13:05 UTC`, `13:05 UTC (in 1h 30m)`.
//! Pure: the time is passed in.

use chrono::{DateTime, Utc};

/// `1h 30m`, `45s`, `2h`, `1h 5s`; zero is `0s`.
pub fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let parts: Vec<String> = [(h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// `13:05 UTC`.
pub fn format_utc_time(t: DateTime<Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}

/// `13:05 UTC (in 1h 30m)`, or `13:05 UTC (passed)` once it is over. The remaining time is
/// exact to the second (a 90 s window is "in 1m 30s", never a rounded "in 2m").
pub fn format_expiry(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let remaining = (at - now).num_seconds();
    if remaining <= 0 {
        return format!("{} (passed)", format_utc_time(at));
    }
    format!("{} (in {})", format_utc_time(at), format_duration(remaining.unsigned_abs()))
}
