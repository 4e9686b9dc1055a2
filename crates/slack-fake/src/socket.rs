//! The fake's Socket Mode face: `apps.connections.open` (app-level `xapp-` token only) hands
//! out a one-use `ws://127.0.0.1:<port>/socket/<ticket>` URL; the WebSocket there greets with
//! `hello`, carries the envelopes a test pushes (`slash_commands`, `events_api`, `interactive`,
//! `disconnect`) and records the bot's acknowledgements.
//!
//! Owns tickets, live connections, pushed envelopes and acks. It must not judge the bot's
//! answers: tests read them through [`SocketAck`]. Stricter than Slack in one place: an
//! envelope is delivered to the newest live connection only (Slack picks any).

use super::ack::{SentResponse, ACK_DEADLINE};
use super::signer::{SlashCommand, FAKE_APP_ID};
use super::submission::ViewOutcome;
use super::{FakeSlack, Shared, WaitTimeout};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The app-level token the fake accepts for `apps.connections.open` (fake, not a secret).
pub const DEFAULT_APP_TOKEN: &str = "xapp-1-A0FAKEAPP01-0000000000-fakeapplevel";
/// The only Web API method that takes the app-level token.
pub const OPEN_METHOD: &str = "apps.connections.open";

/// The bot's answer to one envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketAck {
    pub envelope_id: String,
    /// The ack's `payload` (a slash command's immediate reply), if any.
    pub payload: Option<Value>,
    /// From pushing the envelope to receiving the ack.
    pub elapsed: Duration,
}

enum Outbound {
    Frame(String),
    /// Drop the TCP connection without a close frame.
    Cut,
}

struct Live {
    id: u64,
    tx: mpsc::UnboundedSender<Outbound>,
}

/// Socket Mode state, beside the workspace (its own lock; never held with the workspace's).
pub(crate) struct Sockets {
    addr: SocketAddr,
    tickets: BTreeSet<String>,
    live: Vec<Live>,
    accepted: u32,
    pushed: BTreeMap<String, Instant>,
    acks: BTreeMap<String, SocketAck>,
    counter: u64,
}

impl Sockets {
    pub(crate) fn new(addr: SocketAddr) -> Sockets {
        Sockets {
            addr,
            tickets: BTreeSet::new(),
            live: Vec::new(),
            accepted: 0,
            pushed: BTreeMap::new(),
            acks: BTreeMap::new(),
            counter: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

/// Which auth error (if any) Slack gives `presented` for `method`: `apps.connections.open`
/// takes the app-level token only, every other method the bot token only.
pub(crate) fn auth_error(
    method: &str,
    presented: Option<&str>,
    bot_token: &str,
    app_token: &str,
) -> Option<&'static str> {
    let (wanted, other) =
        if method == OPEN_METHOD { (app_token, bot_token) } else { (bot_token, app_token) };
    match presented {
        None => Some("not_authed"),
        Some(t) if t == wanted => None,
        Some(t) if t == other => Some("not_allowed_token_type"),
        Some(_) => Some("invalid_auth"),
    }
}

/// `apps.connections.open`: a fresh one-use WebSocket URL.
pub(crate) fn open_connection(shared: &Shared) -> Value {
    let mut s = shared.sockets();
    let ticket = format!("{:08x}{:016x}", s.next(), rand::random::<u64>());
    s.tickets.insert(ticket.clone());
    json!({ "url": format!("ws://{}/socket/{ticket}?app_id={FAKE_APP_ID}", s.addr) })
}

/// `GET /socket/{ticket}`: upgrades a valid, unused ticket; anything else is refused.
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Path(ticket): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    if !shared.sockets().tickets.remove(&ticket) {
        return (StatusCode::UNAUTHORIZED, "invalid_ticket").into_response();
    }
    ws.on_upgrade(move |socket| serve_socket(shared, socket))
}

async fn serve_socket(shared: Arc<Shared>, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (id, count) = {
        let mut s = shared.sockets();
        let id = s.next();
        s.live.push(Live { id, tx });
        s.accepted += 1;
        (id, s.live.len())
    };
    let hello = json!({
        "type": "hello",
        "num_connections": count,
        "debug_info": { "host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060 },
        "connection_info": { "app_id": FAKE_APP_ID },
    });
    if socket.send(Message::Text(hello.to_string().into())).await.is_ok() {
        shared.bump();
        relay(&shared, &mut socket, &mut rx).await;
    }
    shared.sockets().live.retain(|l| l.id != id);
    shared.bump();
}

/// Sends what tests push and records what the bot answers, until either side ends.
async fn relay(
    shared: &Shared,
    socket: &mut WebSocket,
    rx: &mut mpsc::UnboundedReceiver<Outbound>,
) {
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outbound::Frame(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Some(Outbound::Cut) | None => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => record_ack(shared, text.as_str()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

fn record_ack(shared: &Shared, text: &str) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Some(envelope_id) = frame.get("envelope_id").and_then(Value::as_str) else {
        return;
    };
    {
        let mut s = shared.sockets();
        let elapsed = s.pushed.get(envelope_id).map(Instant::elapsed).unwrap_or_default();
        let ack = SocketAck {
            envelope_id: envelope_id.to_string(),
            payload: frame.get("payload").cloned(),
            elapsed,
        };
        s.acks.insert(envelope_id.to_string(), ack);
    }
    shared.bump();
}

impl FakeSlack {
    /// The app-level token `apps.connections.open` accepts (fake, not a secret).
    pub fn app_token(&self) -> String {
        self.shared.app_token.clone()
    }

    /// WebSocket connections accepted so far.
    pub fn socket_connections(&self) -> u32 {
        self.shared.sockets().accepted
    }

    /// Connections open right now.
    pub fn live_sockets(&self) -> usize {
        self.shared.sockets().live.len()
    }

    async fn wait_sockets<T>(
        &self,
        probe: impl Fn(&Sockets) -> Option<T>,
        timeout: Duration,
    ) -> Result<T, WaitTimeout> {
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = probe(&self.shared.sockets()) {
                return Ok(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return probe(&self.shared.sockets()).ok_or(WaitTimeout(timeout)),
            }
        }
    }

    /// Waits until `n` connections were accepted in all and one is open.
    pub async fn wait_socket_connections(
        &self,
        n: u32,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        self.wait_sockets(|s| (s.accepted >= n && !s.live.is_empty()).then_some(()), timeout).await
    }

    /// Sends `frame` on the newest open connection; `false` if none is open.
    fn send_frame(&self, frame: &Value) -> bool {
        let s = self.shared.sockets();
        s.live.last().is_some_and(|l| l.tx.send(Outbound::Frame(frame.to_string())).is_ok())
    }

    /// Pushes an envelope of `kind` (`slash_commands`, `events_api`, `interactive`) carrying
    /// `payload`; `retry_attempt` > 0 marks a redelivery. Returns the new envelope id.
    pub fn push_envelope(
        &self,
        kind: &str,
        payload: Value,
        retry_attempt: u32,
    ) -> anyhow::Result<String> {
        let envelope_id = {
            let mut s = self.shared.sockets();
            let n = s.next();
            format!("{n:08x}-fake-{:08x}", rand::random::<u32>())
        };
        let mut frame = json!({
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": kind != "events_api",
        });
        if kind == "events_api" {
            frame["retry_attempt"] = json!(retry_attempt);
            frame["retry_reason"] = json!(if retry_attempt > 0 { "timeout" } else { "" });
        }
        self.shared.sockets().pushed.insert(envelope_id.clone(), Instant::now());
        anyhow::ensure!(self.send_frame(&frame), "fake Slack: no Socket Mode connection is open");
        Ok(envelope_id)
    }

    /// Waits for the bot's ack of `envelope_id`.
    pub async fn wait_ack(
        &self,
        envelope_id: &str,
        timeout: Duration,
    ) -> Result<SocketAck, WaitTimeout> {
        self.wait_sockets(|s| s.acks.get(envelope_id).cloned(), timeout).await
    }

    /// The ack of `envelope_id`, if one came.
    pub fn ack_of(&self, envelope_id: &str) -> Option<SocketAck> {
        self.shared.sockets().acks.get(envelope_id).cloned()
    }

    /// Delivers a slash command over the socket, waits up to 3 s for the ack and shows its
    /// payload to the user as Slack does (as [`FakeSlack::record_command_ack`] for HTTP).
    pub async fn socket_command(&self, cmd: &SlashCommand) -> anyhow::Result<SocketAck> {
        let payload = serde_json::to_value(cmd)?;
        let id = self.push_envelope("slash_commands", payload, 0)?;
        let ack = self.wait_ack(&id, ACK_DEADLINE).await?;
        let body = ack.payload.as_ref().map(Value::to_string).unwrap_or_default();
        let shown = SentResponse { status: 200, body, elapsed: ack.elapsed };
        self.record_command_ack(cmd, &shown);
        Ok(ack)
    }

    /// Delivers an Events API callback over the socket (delivery `retry_attempt`) and waits
    /// up to 3 s for the ack.
    pub async fn socket_event(
        &self,
        payload: &Value,
        retry_attempt: u32,
    ) -> anyhow::Result<SocketAck> {
        let id = self.push_envelope("events_api", payload.clone(), retry_attempt)?;
        Ok(self.wait_ack(&id, ACK_DEADLINE).await?)
    }

    /// Submits a modal over the socket: pushes the `view_submission` `payload` in an
    /// `interactive` envelope, waits for the ack (up to twice the 3 s deadline, so a late ack
    /// is judged late rather than lost) and applies its payload as the answer, as
    /// [`FakeSlack::view_answer`] does for HTTP (an ack without payload closes the modal).
    pub async fn socket_view_submission(
        &self,
        payload: &Value,
    ) -> anyhow::Result<(SocketAck, ViewOutcome)> {
        let id = self.push_envelope("interactive", payload.clone(), 0)?;
        let ack = self.wait_ack(&id, ACK_DEADLINE * 2).await?;
        let body = ack.payload.as_ref().filter(|p| !p.is_null()).map(Value::to_string);
        let answer =
            SentResponse { status: 200, body: body.unwrap_or_default(), elapsed: ack.elapsed };
        let outcome = self.view_answer(payload, &answer);
        Ok((ack, outcome))
    }

    /// Sends Slack's `disconnect` envelope (`refresh_requested`, `warning`, ...) on the newest
    /// connection; the socket stays open until the bot closes it.
    pub fn send_disconnect(&self, reason: &str) -> bool {
        let frame = json!({
            "type": "disconnect",
            "reason": reason,
            "debug_info": { "host": "applink-fake" },
        });
        self.send_frame(&frame)
    }

    /// Drops every open connection without a close frame (a network cut).
    pub fn cut_sockets(&self) {
        for live in &self.shared.sockets().live {
            let _ = live.tx.send(Outbound::Cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_works_only_for_its_own_methods() {
        let (bot, app) = ("xoxb-1", "xapp-1");
        assert_eq!(auth_error(OPEN_METHOD, Some(app), bot, app), None);
        assert_eq!(auth_error(OPEN_METHOD, Some(bot), bot, app), Some("not_allowed_token_type"));
        assert_eq!(
            auth_error("chat.postMessage", Some(app), bot, app),
            Some("not_allowed_token_type")
        );
        assert_eq!(auth_error("chat.postMessage", Some(bot), bot, app), None);
        assert_eq!(auth_error(OPEN_METHOD, Some("xapp-2"), bot, app), Some("invalid_auth"));
        assert_eq!(auth_error(OPEN_METHOD, None, bot, app), Some("not_authed"));
    }
}
