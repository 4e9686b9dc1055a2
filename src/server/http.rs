//! The HTTP edge Slack talks to: `/slack/commands`, `/slack/events`, `/slack/interactivity`.
//!
//! Owns, in this order: the body size limit (413), the v0 signature and 5-minute window check
//! (slack-morphism's `SlackEventSignatureVerifier`; 401 and nothing else on failure, logged at
//! most once a minute with a count, see [`super::reject_log`]), payload
//! parsing (400), `url_verification`, de-duplication of Slack's retries (`event_id`, and
//! `trigger_id` for commands) through Redis so that it holds across replicas, and answering
//! within Slack's 3 s. It must not decide anything about access: commands and events go to
//! [`Workflow`], which answers at once and continues slow work in spawned tasks.

use crate::metrics::Metrics;
use crate::server::reject_log::{RejectLine, RejectLog, REJECT_LOG_INTERVAL};
use crate::slack::render::Rendered;
use crate::timers::{keys, Idempotency};
use crate::workflow::{CommandInput, ReactionInput, Workflow};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use slack_morphism::prelude::{SlackCommandEvent, SlackSigningSecret};
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body accepted from Slack (slash commands and events are a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long an `event_id` or `trigger_id` is remembered (Slack retries for about 5 minutes).
pub const DEDUP_TTL: Duration = Duration::from_secs(15 * 60);
/// Longest wait for Redis while acknowledging (Slack gives up after 3 s).
const ACK_REDIS_TIMEOUT: Duration = Duration::from_millis(1500);

/// What a user is told when Redis cannot be reached (HTTP and Socket Mode alike).
pub(crate) const UNAVAILABLE_TEXT: &str = "The bot cannot reach its state store (Redis) right \
    now, so it cannot take requests; no access was granted. Try again in a minute; if it \
    persists, tell the platform team.";

/// What the listener needs.
#[derive(Clone)]
pub struct ListenerState {
    pub workflow: Workflow,
    pub idempotency: Idempotency,
    pub metrics: Metrics,
}

/// The three Slack routes, each behind the signature check.
pub fn routes(state: ListenerState, signing_secret: &str) -> Router {
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
pub const MAX_SKEW_SECS: i64 = 300;

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
    let trigger = keys::slack_trigger(&cmd.trigger_id.0);
    match claim(&state.idempotency, &trigger).await {
        Claim::Duplicate => {
            state.metrics.request("command", "duplicate");
            return StatusCode::OK.into_response();
        }
        Claim::Unavailable => {
            state.metrics.request("command", "unavailable");
            let text = UNAVAILABLE_TEXT;
            return Json(Rendered::text(text).response_json(false)).into_response();
        }
        Claim::Mine => {}
    }
    let input = CommandInput {
        command: cmd.command.0,
        text: cmd.text.unwrap_or_default(),
        user: cmd.user_id.0,
        channel: cmd.channel_id.0,
        response_url: cmd.response_url.0.to_string(),
    };
    let ack = state.workflow.on_command(input).await;
    Json(ack.response_json(false)).into_response()
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    challenge: Option<String>,
    event_id: Option<String>,
    event: Option<InnerEvent>,
}

#[derive(Deserialize)]
struct InnerEvent {
    #[serde(rename = "type")]
    kind: String,
    user: Option<String>,
    reaction: Option<String>,
    item: Option<Item>,
    event_ts: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(rename = "type")]
    kind: String,
    channel: Option<String>,
    ts: Option<String>,
}

/// What an Events API body asks for, decided without I/O.
#[derive(Debug, PartialEq, Eq)]
pub enum ParsedEvent {
    UrlVerification {
        challenge: String,
    },
    Reaction {
        event_id: String,
        kind: String,
        reaction: ReactionInput,
    },
    /// Anything else: acknowledged and dropped (`kind` for metrics).
    Ignored {
        kind: String,
    },
}

/// Parses an Events API body. `Err` means malformed JSON (answered 400).
pub fn parse_event(body: &[u8]) -> Result<ParsedEvent, serde_json::Error> {
    let env = serde_json::from_slice::<Envelope>(body)?;
    if env.kind == "url_verification" {
        return Ok(ParsedEvent::UrlVerification { challenge: env.challenge.unwrap_or_default() });
    }
    let (Some(event_id), Some(inner)) = (env.event_id, env.event) else {
        return Ok(ParsedEvent::Ignored { kind: env.kind });
    };
    let added = match inner.kind.as_str() {
        "reaction_added" => true,
        "reaction_removed" => false,
        _ => return Ok(ParsedEvent::Ignored { kind: inner.kind }),
    };
    match (inner.user, inner.reaction, inner.item) {
        (Some(user), Some(reaction), Some(Item { kind, channel: Some(channel), ts: Some(ts) }))
            if kind == "message" =>
        {
            let reaction = ReactionInput {
                added,
                user,
                reaction,
                channel,
                ts,
                event_ts: inner.event_ts,
                event_id: Some(event_id.clone()),
            };
            Ok(ParsedEvent::Reaction { event_id, kind: inner.kind, reaction })
        }
        _ => Ok(ParsedEvent::Ignored { kind: inner.kind }),
    }
}

/// An Events API delivery: `url_verification`, or a callback handled once per `event_id`.
async fn event(State(state): State<ListenerState>, headers: HeaderMap, body: Bytes) -> Response {
    let (event_id, kind, reaction) = match parse_event(&body) {
        Err(_) => {
            state.metrics.request("event", "malformed");
            return StatusCode::BAD_REQUEST.into_response();
        }
        Ok(ParsedEvent::UrlVerification { challenge }) => {
            return Json(serde_json::json!({ "challenge": challenge })).into_response();
        }
        Ok(ParsedEvent::Ignored { kind }) => {
            state.metrics.request(&kind, "ignored");
            return StatusCode::OK.into_response();
        }
        Ok(ParsedEvent::Reaction { event_id, kind, reaction }) => (event_id, kind, reaction),
    };
    let retry = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()).unwrap_or("0");
    match claim(&state.idempotency, &keys::slack_event(&event_id)).await {
        Claim::Duplicate => {
            tracing::debug!(event_id = %event_id, retry, "duplicate event delivery ignored");
            state.metrics.request(&kind, "duplicate");
            return StatusCode::OK.into_response();
        }
        // Slack retries a failed delivery; by then Redis may be back.
        Claim::Unavailable => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Claim::Mine => {}
    }
    let workflow = state.workflow.clone();
    workflow.clone().spawn(async move { workflow.on_reaction(reaction).await });
    StatusCode::OK.into_response()
}

/// Interactive components are not used; verified payloads are acknowledged and dropped.
async fn interactivity(State(state): State<ListenerState>) -> Response {
    state.metrics.request("interactivity", "ignored");
    StatusCode::OK.into_response()
}

pub(crate) enum Claim {
    Mine,
    Duplicate,
    Unavailable,
}

pub(crate) async fn claim(idem: &Idempotency, key: &str) -> Claim {
    match tokio::time::timeout(ACK_REDIS_TIMEOUT, idem.claim_once(key, DEDUP_TTL)).await {
        Ok(Ok(true)) => Claim::Mine,
        Ok(Ok(false)) => Claim::Duplicate,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "idempotency claim failed");
            Claim::Unavailable
        }
        Err(_) => {
            tracing::warn!("idempotency claim timed out");
            Claim::Unavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::fake::SlackSigner;
    use secrecy::SecretString;

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

    #[test]
    fn parse_event_reads_reactions_and_ignores_the_rest() {
        let body = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added",
            "user":"U1","reaction":"x","item":{"type":"message","channel":"C1","ts":"1.2"}}}"#;
        let ParsedEvent::Reaction { event_id, reaction, .. } = parse_event(body).unwrap() else {
            panic!("a reaction");
        };
        assert_eq!(event_id, "Ev1");
        assert!(reaction.added && reaction.channel == "C1" && reaction.ts == "1.2");
        let other = br#"{"type":"event_callback","event_id":"Ev2","event":{"type":"app_mention"}}"#;
        assert_eq!(
            parse_event(other).unwrap(),
            ParsedEvent::Ignored { kind: "app_mention".into() }
        );
        let check = br#"{"type":"url_verification","challenge":"c"}"#;
        assert_eq!(
            parse_event(check).unwrap(),
            ParsedEvent::UrlVerification { challenge: "c".into() }
        );
        assert!(parse_event(b"{").is_err());
    }
}
