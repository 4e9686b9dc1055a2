//! A strict local stand-in for Slack: the Web API methods the bot calls, response_urls, and a
//! signed sender that drives the bot the way Slack does (slash commands, Events API).
//!
//! Its own crate, used by pgroles' integration tests, benches and demo drill (the `demo`
//! feature). It answers like Slack (same error codes, limits and payload shapes) and records
//! everything for assertions. It must not be wired into the production path and must not depend
//! on pgroles: the bot only meets it over HTTP, through `slack.api_url`.
//!
//! - [`state`]: the workspace model and read helpers.
//! - [`spec`]: argument types and required arguments of every Web API method, from Slack's
//!   spec; `methods`: Web API method rules; `blocks`: Block Kit's checks; `server`: HTTP,
//!   auth, faults.
//! - [`signer`]: request signing and payload builders; [`sender`]: posts them to the bot;
//!   `ack`: the bot's answer ([`SentResponse`]), the 3 s deadline and what the user is shown.
//! - `payloads`: button presses and `app_home_opened` as Slack sends them.
//! - `socket`: Socket Mode (`apps.connections.open`, the WebSocket, envelopes and acks).
//! - `modal`: trigger_ids, `views.open` and each user's open modal; `modal_view`: what a modal
//!   view must be; `submission`: `view_submission` payloads and what Slack makes of the answer
//!   ([`ViewOutcome`]).

mod ack;
mod blocks;
mod failure;
mod methods;
mod modal;
mod modal_view;
mod payloads;
pub mod sender;
mod server;
pub mod signer;
mod socket;
pub mod spec;
pub mod state;
mod submission;
mod views;

pub use ack::SentResponse;
pub use methods::{MAX_BLOCKS, MAX_HEADER_CHARS, MAX_SECTION_TEXT_CHARS, MAX_TEXT_CHARS};
pub use modal::TRIGGER_TTL;
pub use modal_view::{MAX_MODAL_BLOCKS, MAX_MODAL_TITLE_CHARS};
pub use sender::SlackEventSender;
pub use signer::{ReactionEvent, SlackSigner, SlashCommand};
pub use socket::{SocketAck, DEFAULT_APP_TOKEN};
pub use state::{EphemeralSource, FakeEphemeral, FakeFault, FakeMessage, RecordedCall, Workspace};
pub use submission::{ViewOutcome, CONNECTION_TROUBLE};

use state::{Channel, Hook};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// The bot token the fake accepts unless told otherwise.
pub const DEFAULT_BOT_TOKEN: &str = "xoxb-0000000000-fake-pgroles-token";

pub(crate) struct Shared {
    state: Mutex<Workspace>,
    changed: watch::Sender<u64>,
    app_token: String,
    sockets: Mutex<socket::Sockets>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Workspace> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn sockets(&self) -> MutexGuard<'_, socket::Sockets> {
        self.sockets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `wait_for` gave up.
#[derive(Debug, thiserror::Error)]
#[error("fake Slack: condition not met within {0:?}")]
pub struct WaitTimeout(pub Duration);

/// A running fake Slack on 127.0.0.1. Cheap to clone; the server stops with the last clone.
#[derive(Clone)]
pub struct FakeSlack {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _task: Arc<ServerTask>,
}

impl FakeSlack {
    /// Starts a fake accepting [`DEFAULT_BOT_TOKEN`].
    pub async fn start() -> anyhow::Result<FakeSlack> {
        FakeSlack::start_with_token(DEFAULT_BOT_TOKEN).await
    }

    /// Starts a fake accepting only `token` (an `xoxb-` bot token).
    pub async fn start_with_token(token: &str) -> anyhow::Result<FakeSlack> {
        anyhow::ensure!(token.starts_with("xoxb-"), "the fake accepts bot tokens (xoxb-) only");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(Workspace::new(token)),
            changed: watch::Sender::new(0),
            app_token: DEFAULT_APP_TOKEN.to_string(),
            sockets: Mutex::new(socket::Sockets::new(addr)),
        });
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake Slack server stopped");
            }
        });
        Ok(FakeSlack { shared, addr, _task: Arc::new(ServerTask(task)) })
    }

    /// Web API base URL, ending in `/` (for `slack.api_url`).
    pub fn api_url(&self) -> String {
        format!("http://{}/api/", self.addr)
    }

    /// The token the fake accepts (fake, not a secret).
    pub fn bot_token(&self) -> String {
        self.shared.lock().token.clone()
    }

    /// Reads the workspace under the lock.
    pub fn with<T>(&self, f: impl FnOnce(&Workspace) -> T) -> T {
        f(&self.shared.lock())
    }

    fn edit(&self, f: impl FnOnce(&mut Workspace)) {
        f(&mut self.shared.lock());
        self.shared.bump();
    }

    /// Registers users (`U…`/`W…`).
    pub fn add_users(&self, users: &[&str]) {
        self.edit(|ws| ws.users.extend(users.iter().map(|u| u.to_string())));
    }

    /// Registers `user` (if new) with a profile email, shown by `users.info`.
    pub fn set_user_email(&self, user: &str, email: &str) {
        self.edit(|ws| {
            ws.users.insert(user.to_string());
            ws.emails.insert(user.to_string(), email.to_string());
        });
    }

    /// Registers a channel the bot is in, visible to every registered user.
    pub fn add_channel(&self, id: &str) {
        let ch = Channel { members: None, bot_member: true };
        self.edit(|ws| {
            ws.channels.insert(id.to_string(), ch);
        });
    }

    /// Registers a channel the bot is in, with exactly these members.
    pub fn add_channel_with_members(&self, id: &str, members: &[&str]) {
        let members: BTreeSet<String> = members.iter().map(|m| m.to_string()).collect();
        let ch = Channel { members: Some(members), bot_member: true };
        self.edit(|ws| {
            ws.channels.insert(id.to_string(), ch);
        });
    }

    /// Registers a channel the bot has not joined (posting there is `not_in_channel`).
    pub fn add_channel_without_bot(&self, id: &str) {
        let ch = Channel { members: None, bot_member: false };
        self.edit(|ws| {
            ws.channels.insert(id.to_string(), ch);
        });
    }

    /// Registers a user group (`S…`) and its members.
    pub fn add_usergroup(&self, id: &str, members: &[&str]) {
        let members = members.iter().map(|m| m.to_string()).collect();
        self.edit(|ws| {
            ws.groups.insert(id.to_string(), members);
        });
    }

    /// Makes the next `times` calls of `method` fail (or stall) with `fault`.
    pub fn fail_next(&self, method: &str, fault: FakeFault, times: usize) {
        self.edit(|ws| {
            let queue = ws.faults.entry(method.to_string()).or_default();
            queue.extend(std::iter::repeat_n(fault, times));
        });
    }

    /// A fresh response_url for a slash command run by `user` in `channel`.
    pub fn new_response_url(&self, channel: &str, user: &str) -> String {
        let mut ws = self.shared.lock();
        let id = format!("{:016x}{:08x}", ws.next_seq(), rand::random::<u32>());
        let hook = Hook {
            channel: channel.to_string(),
            user: user.to_string(),
            uses: 0,
            posts: Vec::new(),
        };
        ws.hooks.insert(id.clone(), hook);
        format!("http://{}/hooks/commands/{}/{id}", self.addr, ws.team_id)
    }

    /// A slash command payload as Slack would send it, with a live response_url.
    pub fn slash_command(
        &self,
        command: &str,
        text: &str,
        user: &str,
        channel: &str,
    ) -> SlashCommand {
        let response_url = self.new_response_url(channel, user);
        let (team, trigger_id) = {
            let mut ws = self.shared.lock();
            (ws.team_id.clone(), ws.new_trigger(user))
        };
        SlashCommand::new(command, text, user, channel, &response_url)
            .with_team(&team)
            .with_trigger_id(&trigger_id)
    }

    /// The view last published to `user`'s App Home (`views.publish`).
    pub fn home(&self, user: &str) -> Option<serde_json::Value> {
        self.with(|ws| ws.home(user))
    }

    /// A `reaction_added`/`reaction_removed` callback with a fresh event id.
    pub fn reaction_event(
        &self,
        added: bool,
        user: &str,
        reaction: &str,
        channel: &str,
        ts: &str,
    ) -> ReactionEvent {
        let (team, bot, seq) = {
            let mut ws = self.shared.lock();
            (ws.team_id.clone(), ws.bot_user_id.clone(), ws.next_seq())
        };
        ReactionEvent::new(added, user, reaction, channel, ts)
            .with_team(&team)
            .with_item_user(&bot)
            .with_event_id(&format!("Ev{seq:010}"))
    }

    /// Records what Slack shows after a slash command's HTTP answer (the 3 s ack): the body
    /// as an ephemeral (or channel message with `in_channel`), or Slack's timeout notice.
    pub fn record_command_ack(&self, cmd: &SlashCommand, ack: &SentResponse) {
        self.edit(|ws| ack::apply_ack(ws, cmd, ack));
    }

    /// Top-level messages in `channel`.
    pub fn messages(&self, channel: &str) -> Vec<FakeMessage> {
        self.with(|ws| ws.messages(channel))
    }

    /// Thread replies under `ts`.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<FakeMessage> {
        self.with(|ws| ws.thread(channel, ts))
    }

    /// Ephemerals shown to `user`.
    pub fn ephemerals(&self, user: &str) -> Vec<FakeEphemeral> {
        self.with(|ws| ws.ephemerals(user))
    }

    /// Calls of one method.
    pub fn calls(&self, method: &str) -> Vec<RecordedCall> {
        self.with(|ws| ws.calls(method))
    }

    /// Waits until `probe` returns `Some`, re-checking after every change to the workspace.
    pub async fn wait_for<T>(
        &self,
        probe: impl Fn(&Workspace) -> Option<T>,
        timeout: Duration,
    ) -> Result<T, WaitTimeout> {
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.with(&probe) {
                return Ok(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return self.with(&probe).ok_or(WaitTimeout(timeout)),
            }
        }
    }
}
