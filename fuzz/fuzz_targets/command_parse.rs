//! Fuzzes the slash-command grammar and the identifier parsers behind it
//! (`pgroles::access`). Owns only the harness: it must not relax what it checks to keep a
//! run green; a panic or a failed property here is a bug in the parser.
//!
//! Input: UTF-8 text (invalid bytes are replaced); the first line is the slash command
//! (`/firefighter`, `/pgroles`, anything) and the rest is the command text.
//!
//! Properties, besides never panicking:
//! - `Command::parse_with` (rules compiled once) and `Command::parse` (compiled per call, so
//!   checked on a sample of inputs) agree;
//! - an accepted request has a duration in `1..=max_duration_secs` and an incident id that
//!   parses again to itself, and survives a serde round trip;
//! - each id parser accepts only values that serialize and deserialize back to themselves;
//! - every rejection renders a non-empty user message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pgroles::access::{
    AccessConfig, ChannelId, Command, CommandRules, GrantDuration, IncidentId, MessageTs,
    Rejection, RequestId, SlackUserId,
};
use std::sync::OnceLock;
use std::time::Duration;

struct Fixture {
    cfg: AccessConfig,
    rules: CommandRules,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let cfg = AccessConfig::default();
        let rules = CommandRules::from_config(&cfg).expect("the default access config is valid");
        Fixture { cfg, rules }
    })
}

fn check_rejection(r: &Rejection) {
    assert!(!r.user_message().trim().is_empty(), "empty user message for {r:?}");
    let _ = r.to_string();
}

/// A value the parser accepted must come back unchanged through serde (stored documents).
fn round_trips<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).expect("an accepted id serializes");
    let back: T = serde_json::from_str(&json).expect("an accepted id deserializes");
    assert_eq!(&back, value);
}

fn check_word(word: &str, fx: &Fixture) {
    let cap = Duration::from_secs(fx.cfg.max_duration_secs);
    match IncidentId::parse(word, fx.rules.pattern()) {
        Ok(id) => {
            assert!(id.as_str().is_ascii() && id.as_str().len() <= 64, "{id:?}");
            round_trips(&id);
        }
        Err(r) => check_rejection(&r),
    }
    match GrantDuration::parse(word, cap) {
        Ok(d) => assert!((1..=fx.cfg.max_duration_secs).contains(&d.as_secs()), "{d:?}"),
        Err(r) => check_rejection(&r),
    }
    // An absurd cap is clamped, never overflows.
    let _ = GrantDuration::parse(word, Duration::MAX);
    match SlackUserId::parse(word) {
        Ok(id) => {
            assert_eq!(id.as_str(), word);
            round_trips(&id);
            let _ = id.mention();
        }
        Err(r) => check_rejection(&r),
    }
    if let Ok(id) = ChannelId::parse(word) {
        round_trips(&id);
    }
    if let Ok(ts) = MessageTs::parse(word) {
        assert_eq!(ts.as_str(), word);
        round_trips(&ts);
    }
    if let Ok(id) = RequestId::parse(word) {
        round_trips(&id);
    }
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (command, text) = input.split_once('\n').unwrap_or((input.as_ref(), ""));
    let fx = fixture();

    let parsed = Command::parse_with(command, text, &fx.rules);
    // `Command::parse` compiles the rules (a regex) on every call, which is ~30x slower than
    // the rest of this target: compare it on a deterministic 1-in-16 sample of inputs.
    if data.iter().fold(0u8, |a, b| a.wrapping_add(*b)) % 16 == 0 {
        assert_eq!(parsed, Command::parse(command, text, &fx.cfg));
    }
    match &parsed {
        Ok(Command::Request { incident, duration, .. }) => {
            assert!((1..=fx.cfg.max_duration_secs).contains(&duration.as_secs()));
            let again = IncidentId::parse(incident.as_str(), fx.rules.pattern());
            assert_eq!(again.as_ref(), Ok(incident));
            round_trips(incident);
            round_trips(duration);
        }
        Ok(_) => {}
        Err(r) => check_rejection(r),
    }

    check_word(text, fx);
    for word in text.split_whitespace().take(8) {
        check_word(word, fx);
    }
});
