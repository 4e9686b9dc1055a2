//! The HTTP edge Slack talks to: `/slack/commands`, `/slack/events`, `/slack/interactivity`.
//!
//! Owns, in this order: the body size limit (413), the v0 signature and 5-minute window check
//! (slack-morphism's `SlackEventSignatureVerifier`; 401 and nothing else on failure, logged at
//! most once a minute with a count, see `reject_log.rs`), payload parsing (400), and
//! answering within Slack's 3 s. What a verified command or event does (de-duplication in
//! Redis, `url_verification`, the hand-off to the workflow) is [`super::dispatch`], shared with
//! Socket Mode. It must not decide anything about access.

use super::dispatch::{self, parse_event, CommandAck, EventAck, InteractionAck, ListenerState};
use super::reject_log::{RejectLine, RejectLog, REJECT_LOG_INTERVAL};
use crate::slack::modal;
use crate::slack::render::Rendered;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use slack_morphism::prelude::{SlackCommandEvent, SlackSigningSecret};
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use std::sync::Arc;

/// Largest request body accepted from Slack (slash commands and events are a few KiB).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a user is told when Redis cannot be reached (HTTP and Socket Mode alike).
pub(crate) const UNAVAILABLE_TEXT: &str = crate::access::text::reply::STATE_STORE_DOWN;

/// The three Slack routes, each behind the signature check.
pub(crate) fn routes(state: ListenerState, signing_secret: &str) -> Router {
    let verifier = Arc::new(Verifier {
        check: SlackEventSignatureVerifier::new(&SlackSigningSecret::new(
            signing_secret.to_owned(),
        )),
        refused: RejectLog::new(REJECT_LOG_INTERVAL),
    });
    Router::new()
        .route("/slack/commands", post(command))
        .route("/slack/events", post(event))
        .route("/slack/interactivity", post(interactivity))
        .layer(middleware::from_fn_with_state(verifier, verify_signature))
        .with_state(state)
}

/// The signature check and the count of what it refused.
struct Verifier {
    check: SlackEventSignatureVerifier,
    refused: RejectLog,
}

/// Reads the body (up to the limit), checks the signature and timestamp, and passes the
/// verified body on. Failures are answered without touching anything else, and logged at most
/// once a minute (with the count), so unauthenticated senders cannot drive the log volume.
async fn verify_signature(
    State(verifier): State<Arc<Verifier>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let verified = verify_request(
        &verifier.check,
        header(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER),
        header(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP),
        &bytes,
        chrono::Utc::now().timestamp(),
    );
    if !verified {
        if let RejectLine::Log { suppressed } = verifier.refused.note(std::time::Instant::now()) {
            tracing::info!(path = %parts.uri.path(), refused_since_last_line = suppressed,
                "refused a request with a missing, wrong or stale Slack signature (logged at \
                 most once a minute)");
        }
        return StatusCode::UNAUTHORIZED.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Slack's replay window for signed requests.
const MAX_SKEW_SECS: i64 = 300;

/// Checks a request's v0 signature and timestamp. Pure (the time is passed in); never panics,
/// whatever the headers hold: the timestamp is range-checked here first, because
/// slack-morphism's own check overflows on extreme values (found by fuzzing).
pub fn verify_request(
    verifier: &SlackEventSignatureVerifier,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> bool {
    let (Some(sig), Some(ts), Ok(text)) = (signature, timestamp, std::str::from_utf8(body)) else {
        return false;
    };
    let fresh = ts
        .parse::<i64>()
        .ok()
        .and_then(|t| now_secs.checked_sub(t))
        .is_some_and(|skew| skew.checked_abs().is_some_and(|a| a <= MAX_SKEW_SECS));
    fresh && verifier.verify(sig, text, ts).is_ok()
}

/// A slash command: answered at once (an ephemeral body), the rest continues in the background.
async fn command(State(state): State<ListenerState>, body: Bytes) -> Response {
    let Ok(cmd) = serde_urlencoded::from_bytes::<SlackCommandEvent>(&body) else {
        state.metrics.request("command", "malformed");
        return StatusCode::BAD_REQUEST.into_response();
    };
    match dispatch::command(&state, cmd).await {
        CommandAck::Duplicate | CommandAck::Empty => StatusCode::OK.into_response(),
        CommandAck::Unavailable => {
            let text = UNAVAILABLE_TEXT;
            Json(Rendered::text(text).response_json(false)).into_response()
        }
        CommandAck::Reply(ack) => Json(ack.response_json(false)).into_response(),
    }
}

/// An Events API delivery: `url_verification`, or a callback handled once per `event_id`.
async fn event(State(state): State<ListenerState>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(parsed) = parse_event(&body) else {
        state.metrics.request("event", "malformed");
        return StatusCode::BAD_REQUEST.into_response();
    };
    let retry = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()).unwrap_or("0");
    match dispatch::event(&state, parsed, Some(retry)).await {
        EventAck::Challenge(challenge) => {
            Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        EventAck::Done => StatusCode::OK.into_response(),
        // Slack retries a failed delivery; by then Redis may be back.
        EventAck::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The bot's buttons (`block_actions`) and the request form (`view_submission`: a refused form
/// is answered with `response_action: errors`); other interactive payloads are acknowledged
/// and dropped. A body that is not Slack's form is answered 400.
async fn interactivity(State(state): State<ListenerState>, body: Bytes) -> Response {
    let parsed = match super::interaction::parse_interaction(&body) {
        Ok(p) => p,
        Err(_) => {
            state.metrics.request("interactivity", "malformed");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    match dispatch::interaction(&state, parsed).await {
        InteractionAck::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        InteractionAck::Done => StatusCode::OK.into_response(),
        InteractionAck::Refused(errors) => Json(modal::errors_response(&errors)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use slack_fake::SlackSigner;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

    fn verifier() -> SlackEventSignatureVerifier {
        SlackEventSignatureVerifier::new(&SlackSigningSecret::new(SECRET.to_owned()))
    }

    #[test]
    fn a_fresh_signed_body_verifies_and_a_stale_or_forged_one_does_not() {
        let signer = SlackSigner::new(SecretString::from(SECRET));
        let now = chrono::Utc::now().timestamp();
        let sig = signer.sign(now, "body");
        assert!(verify_request(&verifier(), Some(&sig), Some(&now.to_string()), b"body", now));
        let stale = signer.sign(now - 360, "body");
        let ts = (now - 360).to_string();
        assert!(!verify_request(&verifier(), Some(&stale), Some(&ts), b"body", now));
        assert!(!verify_request(&verifier(), Some(&sig), Some(&now.to_string()), b"bodx", now));
        assert!(!verify_request(&verifier(), None, Some(&now.to_string()), b"body", now));
    }

    #[test]
    fn an_extreme_signed_timestamp_is_refused_without_a_panic() {
        let signer = SlackSigner::new(SecretString::from(SECRET));
        for ts in [i64::MIN, i64::MAX, -1] {
            let sig = signer.sign(ts, "body");
            assert!(!verify_request(&verifier(), Some(&sig), Some(&ts.to_string()), b"body", 1));
        }
    }
}
