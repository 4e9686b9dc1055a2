//! The HTTP edge Slack talks to: `/slack/commands`, `/slack/events`, `/slack/interactivity`.
//!
//! Owns, in this order: the body size limit (413), the v0 signature and 5-minute window check
//! (slack-morphism's `SlackEventSignatureVerifier`; 401 and nothing else on failure), payload
//! parsing (400), `url_verification`, de-duplication of Slack's retries (`event_id`, and
//! `trigger_id` for commands) through Redis so that it holds across replicas, and answering
//! within Slack's 3 s. It must not decide anything about access: commands and events go to
//! [`Workflow`], which answers at once and continues slow work in spawned tasks.

use crate::server::metrics::Metrics;
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

/// What the listener needs.
#[derive(Clone)]
pub struct ListenerState {
    pub workflow: Workflow,
    pub idempotency: Idempotency,
    pub metrics: Metrics,
}

/// The three Slack routes, each behind the signature check.
pub fn routes(state: ListenerState, signing_secret: &str) -> Router {
    let verifier = Arc::new(SlackEventSignatureVerifier::new(&SlackSigningSecret::new(
        signing_secret.to_owned(),
    )));
    Router::new()
        .route("/slack/commands", post(command))
        .route("/slack/events", post(event))
        .route("/slack/interactivity", post(interactivity))
        .layer(middleware::from_fn_with_state(verifier, verify_signature))
        .with_state(state)
}

/// Reads the body (up to the limit), checks the signature and timestamp, and passes the
/// verified body on. Failures are answered without touching anything else.
async fn verify_signature(
    State(verifier): State<Arc<SlackEventSignatureVerifier>>,
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
    let verified = match (
        header(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER),
        header(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP),
        std::str::from_utf8(&bytes),
    ) {
        (Some(sig), Some(ts), Ok(text)) => verifier.verify(sig, text, ts).is_ok(),
        _ => false,
    };
    if !verified {
        tracing::info!(path = %parts.uri.path(), "refused a request with a missing, wrong or stale Slack signature");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
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
            let text = "The bot cannot reach its state store (Redis) right now, so it cannot \
                        take requests; no access was granted. Try again in a minute; if it \
                        persists, tell the platform team.";
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
}

#[derive(Deserialize)]
struct Item {
    #[serde(rename = "type")]
    kind: String,
    channel: Option<String>,
    ts: Option<String>,
}

/// An Events API delivery: `url_verification`, or a callback handled once per `event_id`.
async fn event(State(state): State<ListenerState>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(env) = serde_json::from_slice::<Envelope>(&body) else {
        state.metrics.request("event", "malformed");
        return StatusCode::BAD_REQUEST.into_response();
    };
    if env.kind == "url_verification" {
        let challenge = env.challenge.unwrap_or_default();
        return Json(serde_json::json!({ "challenge": challenge })).into_response();
    }
    let (Some(event_id), Some(inner)) = (env.event_id, env.event) else {
        state.metrics.request("event", "ignored");
        return StatusCode::OK.into_response();
    };
    let retry = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()).unwrap_or("0");
    match claim(&state.idempotency, &keys::slack_event(&event_id)).await {
        Claim::Duplicate => {
            tracing::debug!(event_id = %event_id, retry, "duplicate event delivery ignored");
            state.metrics.request(&inner.kind, "duplicate");
            return StatusCode::OK.into_response();
        }
        // Slack retries a failed delivery; by then Redis may be back.
        Claim::Unavailable => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Claim::Mine => {}
    }
    let added = match inner.kind.as_str() {
        "reaction_added" => true,
        "reaction_removed" => false,
        other => {
            state.metrics.request(other, "ignored");
            return StatusCode::OK.into_response();
        }
    };
    let reaction = match (inner.user, inner.reaction, inner.item) {
        (Some(user), Some(reaction), Some(Item { kind, channel: Some(channel), ts: Some(ts) }))
            if kind == "message" =>
        {
            ReactionInput { added, user, reaction, channel, ts }
        }
        _ => {
            state.metrics.request(&inner.kind, "ignored");
            return StatusCode::OK.into_response();
        }
    };
    let workflow = state.workflow.clone();
    tokio::spawn(async move { workflow.on_reaction(reaction).await });
    StatusCode::OK.into_response()
}

/// Interactive components are not used; verified payloads are acknowledged and dropped.
async fn interactivity(State(state): State<ListenerState>) -> Response {
    state.metrics.request("interactivity", "ignored");
    StatusCode::OK.into_response()
}

enum Claim {
    Mine,
    Duplicate,
    Unavailable,
}

async fn claim(idem: &Idempotency, key: &str) -> Claim {
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
