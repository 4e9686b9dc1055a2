//! How long a grant lasts: `GrantDuration`, parsed from `90m`, `2h`, `45s`, `1h30m` or a plain
//! number of seconds (`3600`) and bounded by the configured cap.
//!
//! The grammar is deliberately small (units `h`, `m`, `s`, each at most once, in that order),
//! so `humantime` (which also accepts months, years and spaces) is not used. Pure, panic-free
//! on any input, no I/O.

use super::rejection::{DurationProblem, Rejection};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use std::num::NonZeroU64;
use std::time::Duration;

/// No grant may ever exceed this, whatever the configuration says (the database caps
/// passwords at 2 h; this only keeps date arithmetic far from overflow).
pub const ABSOLUTE_MAX_SECS: u64 = 7 * 24 * 3600;

/// The longest grant the database function accepts (`p_hours` between 1 and 2): the
/// configured cap may not exceed it.
pub const DATABASE_CAP_SECS: u64 = 2 * 3600;

/// A positive number of whole seconds, at most the cap it was parsed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct GrantDuration(NonZeroU64);

impl GrantDuration {
    /// Parses a user-typed duration (case-insensitive, surrounding whitespace ignored).
    pub fn parse(input: &str, cap: Duration) -> Result<GrantDuration, Rejection> {
        let cap_secs = effective_cap(cap);
        let invalid = |problem| Rejection::InvalidDuration { problem, cap_secs };
        let text = input.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(invalid(DurationProblem::Empty));
        }
        if text.starts_with('-') {
            return Err(invalid(DurationProblem::Negative));
        }
        let secs = match total_seconds(&text) {
            Parsed::Secs(secs) => secs,
            Parsed::Overflow => return Err(Rejection::DurationOverCap { cap_secs }),
            Parsed::Invalid => return Err(invalid(DurationProblem::Format)),
        };
        Self::from_secs(secs, cap)
    }

    /// Builds a duration from seconds (e.g. the configured default) under `cap`.
    pub fn from_secs(secs: u64, cap: Duration) -> Result<GrantDuration, Rejection> {
        let cap_secs = effective_cap(cap);
        match NonZeroU64::new(secs) {
            None => Err(Rejection::InvalidDuration { problem: DurationProblem::Zero, cap_secs }),
            Some(_) if secs > cap_secs => Err(Rejection::DurationOverCap { cap_secs }),
            Some(n) => Ok(GrantDuration(n)),
        }
    }

    pub fn as_secs(self) -> u64 {
        self.0.get()
    }

    pub fn as_std(self) -> Duration {
        Duration::from_secs(self.as_secs())
    }

    /// As a chrono delta, for `DateTime` arithmetic (cannot fail: bounded by the absolute max).
    pub fn as_delta(self) -> TimeDelta {
        let secs = i64::try_from(self.as_secs()).unwrap_or(i64::MAX);
        TimeDelta::try_seconds(secs).unwrap_or(TimeDelta::MAX)
    }

    /// Whole hours, rounded up, at least 1: what `set_firefighter_password(p_hours)` takes.
    #[cfg(test)]
    pub(crate) fn hours_rounded_up(self) -> u64 {
        self.as_secs().div_ceil(3600).max(1)
    }
}

fn effective_cap(cap: Duration) -> u64 {
    cap.as_secs().min(ABSOLUTE_MAX_SECS)
}

enum Parsed {
    Secs(u64),
    Overflow,
    Invalid,
}

/// `3600`, or up to three `<digits><unit>` parts with units `h`, `m`, `s` in that order.
fn total_seconds(text: &str) -> Parsed {
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    let mut overflow = false;
    // Rank of the last unit seen: 0 none, 1 h, 2 m, 3 s; units must strictly increase.
    let mut last_rank = 0;
    let mut saw_unit = false;
    for c in text.chars() {
        // `to_digit(10)` accepts only ASCII '0'..='9'.
        if let Some(digit) = c.to_digit(10) {
            let next =
                number.unwrap_or(0).checked_mul(10).and_then(|n| n.checked_add(digit.into()));
            overflow |= next.is_none();
            number = Some(next.unwrap_or(u64::MAX));
            continue;
        }
        let (rank, factor) = match c {
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return Parsed::Invalid,
        };
        let Some(n) = number.take() else { return Parsed::Invalid };
        if rank <= last_rank {
            return Parsed::Invalid;
        }
        last_rank = rank;
        saw_unit = true;
        match n.checked_mul(factor).and_then(|part| total.checked_add(part)) {
            Some(t) => total = t,
            None => overflow = true,
        }
    }
    match number {
        // Digits after a unit (`1h30`) are ambiguous.
        Some(_) if saw_unit => Parsed::Invalid,
        Some(n) => {
            if overflow {
                Parsed::Overflow
            } else {
                Parsed::Secs(n)
            }
        }
        None if overflow => Parsed::Overflow,
        None => Parsed::Secs(total),
    }
}

impl TryFrom<u64> for GrantDuration {
    type Error = Rejection;
    /// Used when reading a stored request back: only the absolute bound is known here.
    fn try_from(secs: u64) -> Result<Self, Rejection> {
        Self::from_secs(secs, Duration::from_secs(ABSOLUTE_MAX_SECS))
    }
}

impl From<GrantDuration> for u64 {
    fn from(d: GrantDuration) -> u64 {
        d.as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Duration = Duration::from_secs(7200);

    fn secs(s: &str) -> Result<u64, Rejection> {
        GrantDuration::parse(s, CAP).map(GrantDuration::as_secs)
    }

    fn problem(s: &str) -> Option<DurationProblem> {
        match GrantDuration::parse(s, CAP) {
            Err(Rejection::InvalidDuration { problem, .. }) => Some(problem),
            _ => None,
        }
    }

    #[test]
    fn accepted_forms_give_seconds() {
        assert_eq!(secs("90m"), Ok(5400));
        assert_eq!(secs("2h"), Ok(7200));
        assert_eq!(secs("45s"), Ok(45));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs("1h0m30s"), Ok(3630));
        assert_eq!(secs("3600"), Ok(3600));
        assert_eq!(secs("0h90m"), Ok(5400));
    }

    #[test]
    fn units_are_case_insensitive_and_whitespace_is_trimmed() {
        assert_eq!(secs(" 1H30M "), Ok(5400));
    }

    #[test]
    fn zero_is_rejected() {
        for s in ["0", "0m", "0h0m0s", "000"] {
            assert_eq!(problem(s), Some(DurationProblem::Zero), "{s}");
        }
    }

    #[test]
    fn negative_is_rejected() {
        assert_eq!(problem("-5m"), Some(DurationProblem::Negative));
        assert_eq!(problem("-1"), Some(DurationProblem::Negative));
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for s in [
            "m", "h1", "1x", "1.5h", "+5m", "30m1h", "1h1h", "1h30", "1 h", "1h 30m", "٣m", "５m",
            "1e3", "ninety",
        ] {
            assert_eq!(problem(s), Some(DurationProblem::Format), "{s:?}");
        }
        assert_eq!(problem(""), Some(DurationProblem::Empty));
        assert_eq!(problem("   "), Some(DurationProblem::Empty));
    }

    #[test]
    fn duration_over_cap_states_the_cap() {
        let err = GrantDuration::parse("3h", CAP).unwrap_err();
        assert_eq!(err, Rejection::DurationOverCap { cap_secs: 7200 });
        assert!(err.user_message().contains("2h"), "{}", err.user_message());
        assert_eq!(secs("7201"), Err(Rejection::DurationOverCap { cap_secs: 7200 }));
    }

    #[test]
    fn overflowing_numbers_are_over_the_cap_not_a_panic() {
        for s in ["99999999999999999999999", "5124095576030432h", "18446744073709551615s"] {
            assert_eq!(secs(s), Err(Rejection::DurationOverCap { cap_secs: 7200 }), "{s}");
        }
    }

    #[test]
    fn a_huge_configured_cap_is_bounded_by_the_absolute_maximum() {
        let err = GrantDuration::parse("8d", Duration::MAX);
        assert!(err.is_err());
        let week = GrantDuration::parse("168h", Duration::MAX).map(GrantDuration::as_secs);
        assert_eq!(week, Ok(ABSOLUTE_MAX_SECS));
        assert!(GrantDuration::parse("169h", Duration::MAX).is_err());
    }

    #[test]
    fn hours_for_the_database_round_up() {
        let d = |s| GrantDuration::parse(s, CAP).map(GrantDuration::hours_rounded_up);
        assert_eq!(d("45s"), Ok(1));
        assert_eq!(d("1h"), Ok(1));
        assert_eq!(d("61m"), Ok(2));
    }

    #[test]
    fn stored_duration_round_trips_and_zero_is_refused() {
        let d = GrantDuration::parse("90m", CAP).unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "5400");
        assert_eq!(serde_json::from_str::<GrantDuration>(&json).unwrap(), d);
        assert!(serde_json::from_str::<GrantDuration>("0").is_err());
    }
}
