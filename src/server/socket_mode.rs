//! Socket Mode (`slack.socket_mode = true`): the bot dials out to Slack over a WebSocket instead
//! of serving `/slack/*`, for workspaces without a public endpoint.
//!
//! Owns the connection, through slack-morphism's `SlackClientSocketModeListener`
//! (`apps.connections.open` with the app-level token, the `wss://` socket, pings, acks, and a
//! new connection when the socket drops or Slack sends `disconnect`; a failed connect is retried
//! every [`RECONNECT_WAIT_SECS`]), and the mapping of envelopes onto the dispatch the HTTP
//! routes use ([`super::dispatch`]: the same `trigger_id`/`event_id` claims in Redis, the same
//! event parser, the same hand-off to the workflow). A slash command's ack carries its
//! immediate reply; an event is acked once claimed, and left unacked (Slack redelivers) while
//! Redis is unreachable. It must not hold request logic, and never logs payloads or tokens.

use super::dispatch::{self, parse_event, CommandAck, EventAck, InteractionAck, ListenerState};
use super::http::UNAVAILABLE_TEXT;
use crate::config::SlackConfig;
use crate::slack::https::https_connector;
use crate::slack::modal;
use crate::slack::render::Rendered;
use anyhow::Context;
use secrecy::ExposeSecret;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::future::Future;
use std::sync::Arc;

type Connector = SlackClientHyperHttpsConnector;

/// Wait between failed attempts to (re)connect.
pub const RECONNECT_WAIT_SECS: u64 = 5;
/// Ping interval; the socket is replaced after five unanswered pings.
const PING_INTERVAL_SECS: u64 = 15;
/// Why an envelope was not handled; the error handler decides whether it is acked.
#[derive(Debug, thiserror::Error)]
enum Skipped {
    /// Already handled (a redelivery): acked without a payload.
    #[error("duplicate delivery")]
    Duplicate,
    /// Redis unreachable: not acked, so Slack redelivers.
    #[error("state store unavailable")]
    Unavailable,
    #[error("socket mode state missing")]
    NoState,
    /// Not a payload we can read (acknowledged: a redelivery would not read better).
    #[error("malformed interaction: {0}")]
    Malformed(String),
}

/// The Socket Mode client, checked and ready to connect.
pub struct SocketMode {
    client: Arc<SlackClient<Connector>>,
    token: SlackApiToken,
    state: ListenerState,
}

impl SocketMode {
    /// Builds the client for `slack.api_url` and checks `slack.app_token` with one
    /// `apps.connections.open` (its URL is left unused), so a wrong token stops `serve` at once.
    pub async fn check(cfg: &SlackConfig, state: ListenerState) -> anyhow::Result<SocketMode> {
        let app_token = cfg.app_token.as_ref().context("slack.app_token is not set")?;
        let connector = SlackClientHyperConnector::from(https_connector()?)
            .with_slack_api_url(cfg.api_url.trim_end_matches('/'));
        let client = Arc::new(SlackClient::new(connector));
        let token = SlackApiToken::new(app_token.expose_secret().to_string().into());
        let opened = client
            .open_session(&token)
            .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
            .await;
        if let Err(e) = opened {
            let code = match &e {
                SlackClientError::ApiError(api) => api.code.clone(),
                SlackClientError::RateLimitError(_) => "ratelimited".into(),
                _ => "connection_error".into(),
            };
            anyhow::bail!(
                "Slack apps.connections.open failed ({code}): check slack.app_token (xapp-...)"
            );
        }
        Ok(SocketMode { client, token, state })
    }

    /// Connects (reconnecting as needed) and handles envelopes until `stop` completes.
    pub async fn run(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let callbacks = SlackSocketModeListenerCallbacks::new()
            .with_hello_events(|hello, _client, _states| async move {
                // (slack-morphism does not export the hello event's type by name)
                tracing::info!(connections = hello.num_connections, "Socket Mode connected");
            })
            .with_command_events(on_command)
            .with_push_events(on_push_event)
            .with_interaction_events(on_interaction);
        let environment = Arc::new(
            SlackClientEventsListenerEnvironment::new(self.client.clone())
                .with_error_handler(on_error)
                .with_user_state(self.state),
        );
        let config = SlackClientSocketModeConfig::new()
            .with_max_connections_count(1)
            .with_reconnect_timeout_in_seconds(RECONNECT_WAIT_SECS)
            .with_ping_interval_in_seconds(PING_INTERVAL_SECS);
        let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
        listener.listen_for(&self.token).await.context("registering the Socket Mode client")?;
        listener.start().await;
        tracing::info!("Socket Mode client started");
        stop.await;
        listener.shutdown().await;
        tracing::info!("Socket Mode client stopped");
        Ok(())
    }
}

async fn state_of(states: &SlackClientEventsUserState) -> Result<ListenerState, Skipped> {
    states.read().await.get_user_state::<ListenerState>().cloned().ok_or(Skipped::NoState)
}

/// A `slash_commands` envelope: the ack's payload is the immediate reply.
async fn on_command(
    cmd: SlackCommandEvent,
    _client: Arc<SlackClient<Connector>>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let state = state_of(&states).await?;
    let reply = match dispatch::command(&state, cmd).await {
        // Acked without a payload (Slack shows nothing; a form opens, or it was handled).
        CommandAck::Duplicate | CommandAck::Empty => return Err(Box::new(Skipped::Duplicate)),
        CommandAck::Unavailable => Rendered::text(UNAVAILABLE_TEXT),
        CommandAck::Reply(reply) => reply,
    };
    Ok(serde_json::from_value(reply.response_json(false))?)
}

/// An `events_api` envelope: read as the body Slack would have POSTed, then the HTTP routes'
/// dispatch (claimed once per `event_id`, handed to the workflow in the background).
async fn on_push_event(
    event: SlackPushEventCallback,
    _client: Arc<SlackClient<Connector>>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = state_of(&states).await?;
    let body = callback_body(&event)?;
    match dispatch::event(&state, parse_event(&body)?, None).await {
        EventAck::Challenge(_) | EventAck::Done => Ok(()),
        EventAck::Unavailable => Err(Box::new(Skipped::Unavailable)),
    }
}

/// The Events API body Slack would have POSTed for this callback.
fn callback_body(event: &SlackPushEventCallback) -> serde_json::Result<Vec<u8>> {
    let mut body = serde_json::to_value(event)?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("type".into(), "event_callback".into());
    }
    serde_json::to_vec(&body)
}

/// An `interactive` envelope: the payload as the HTTP route would read it (the buttons, the
/// request form), then the same dispatch; a refused form's errors ride on the ack's payload.
async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackClient<Connector>>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let state = state_of(&states).await?;
    let payload = serde_json::to_string(&event)?;
    let parsed = super::interaction::parse_payload(&payload).map_err(Skipped::Malformed)?;
    match dispatch::interaction(&state, parsed).await {
        InteractionAck::Done => Ok(SlackInteractionResponse::Empty),
        InteractionAck::Refused(errors) => {
            Ok(SlackInteractionResponse::ViewSubmission(modal::errors_response(&errors)))
        }
        InteractionAck::Unavailable => Err(Box::new(Skipped::Unavailable)),
    }
}

/// 2xx: acknowledge anyway; anything else: leave unacked so that Slack redelivers.
fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackClient<Connector>>,
    _states: SlackClientEventsUserState,
) -> HttpStatusCode {
    match err.downcast_ref::<Skipped>() {
        Some(Skipped::Duplicate) => HttpStatusCode::OK,
        Some(Skipped::Unavailable) => {
            tracing::warn!("Socket Mode event left unacknowledged: Redis is unavailable");
            HttpStatusCode::SERVICE_UNAVAILABLE
        }
        Some(Skipped::NoState | Skipped::Malformed(_)) | None => {
            tracing::warn!(error = %err, "Socket Mode envelope failed");
            HttpStatusCode::OK
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dispatch::ParsedEvent;
    use super::*;
    use slack_fake::ReactionEvent;

    #[test]
    fn a_socket_mode_reaction_reads_like_the_http_callback() {
        let http = ReactionEvent::new(true, "U1", "white_check_mark", "C1", "1700000000.000100")
            .with_event_id("Ev42")
            .to_json(1_700_000_000);
        let typed: SlackPushEventCallback = serde_json::from_value(http.clone()).unwrap();
        let from_socket = parse_event(&callback_body(&typed).unwrap()).unwrap();
        let from_http = parse_event(http.to_string().as_bytes()).unwrap();
        assert_eq!(from_socket, from_http);
        assert!(matches!(from_socket, ParsedEvent::Reaction { .. }));
    }

    #[test]
    fn a_command_reply_survives_the_typed_ack() {
        let reply = Rendered::sections("*hello*\nworld");
        let typed: SlackCommandEventResponse =
            serde_json::from_value(reply.response_json(false)).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), reply.response_json(false));
    }
}
