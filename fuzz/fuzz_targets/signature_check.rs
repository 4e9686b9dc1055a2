//! Fuzzes the Slack v0 request signature check the bot's listener runs on every request
//! (`pgroles::server::http::verify_request`), and
//! the fake Slack's signer (`slack_fake::SlackSigner`). Owns only the harness; a panic
//! or a failed property is a bug in the verifier or the signer.
//!
//! Input: UTF-8 text (invalid bytes are replaced), four fields separated by newlines:
//! `X-Slack-Signature`, `X-Slack-Request-Timestamp`, a signing secret, and the body (the rest).
//!
//! Properties, besides never panicking:
//! - arbitrary headers and body never verify under the fixed secret (no forgery);
//! - a body signed now with the right secret verifies; with a wrong secret, a changed body or
//!   an upper-cased signature, it does not; an empty secret never verifies;
//! - a body signed at the input's timestamp verifies when that is within 5 minutes of now and
//!   is refused when it is well outside (a 10 s margin absorbs the clock moving on).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pgroles::server::http::verify_request;
use secrecy::SecretString;
use slack_fake::SlackSigner;
use slack_morphism::prelude::SlackSigningSecret;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Slack's documented example secret.
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const WINDOW_SECS: i64 = SlackEventSignatureVerifier::MAX_TIMESTAMP_AGE_SECONDS;
const MARGIN_SECS: i64 = 10;

fn verifier(secret: &str) -> SlackEventSignatureVerifier {
    SlackEventSignatureVerifier::new(&SlackSigningSecret::new(secret.to_owned()))
}

fn fixed() -> &'static (SlackEventSignatureVerifier, SlackSigner) {
    static FIXED: OnceLock<(SlackEventSignatureVerifier, SlackSigner)> = OnceLock::new();
    FIXED.get_or_init(|| (verifier(SECRET), SlackSigner::new(SecretString::from(SECRET))))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The listener's check, at the current time.
fn check(v: &SlackEventSignatureVerifier, sig: &str, body: &str, ts: &str) -> bool {
    verify_request(v, Some(sig), Some(ts), body.as_bytes(), now())
}

fn fields(input: &str) -> (&str, &str, &str, &str) {
    let mut it = input.splitn(4, '\n');
    let mut next = || it.next().unwrap_or("");
    (next(), next(), next(), next())
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (signature, timestamp, secret, body) = fields(&input);
    let (fixed_verifier, fixed_signer) = fixed();

    // Untrusted headers: never accepted.
    assert!(
        !check(fixed_verifier, signature, body, timestamp),
        "forged signature accepted: {signature:?} {timestamp:?}"
    );

    // Round trip with the right secret, at the current time.
    let t = now();
    let good = fixed_signer.sign(t, body);
    assert!(check(fixed_verifier, &good, body, &t.to_string()), "own signature refused");
    assert!(!check(fixed_verifier, &good.to_ascii_uppercase(), body, &t.to_string()));
    let changed = format!("{body}x");
    assert!(!check(fixed_verifier, &good, &changed, &t.to_string()));

    // The input's secret: signs and verifies like Slack, except that empty never verifies.
    let signer = SlackSigner::new(SecretString::from(secret));
    let theirs = signer.sign(t, body);
    let ok = check(&verifier(secret), &theirs, body, &t.to_string());
    assert_eq!(ok, !secret.is_empty(), "secret {secret:?}");
    // HMAC zero-pads keys shorter than its block, so trailing NULs give the same key.
    if secret.trim_end_matches('\0') != SECRET {
        assert!(!check(fixed_verifier, &theirs, body, &t.to_string()));
    }

    // The input's timestamp: the 5-minute window.
    if let Ok(ts) = timestamp.trim().parse::<i64>() {
        let sig = fixed_signer.sign(ts, body);
        let result = check(fixed_verifier, &sig, body, &ts.to_string());
        match now().checked_sub(ts).map(i64::unsigned_abs) {
            Some(age) if age <= (WINDOW_SECS - MARGIN_SECS).unsigned_abs() => {
                assert!(result, "fresh timestamp {ts} refused")
            }
            Some(age) if age < (WINDOW_SECS + MARGIN_SECS).unsigned_abs() => {}
            _ => assert!(!result, "stale timestamp {ts} accepted"),
        }
    }
});
