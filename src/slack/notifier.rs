//! The bot's Slack effects: posting and updating the request message, notes in its thread (the
//! audit trail), DMs about a request's state, alerts in the audit channel (all three through the
//! durable outbox, [`crate::slack::outbox`]), and ephemeral replies (response_url, else
//! `chat.postEphemeral`). The grant service's `Notifier` on top of it is in `grant_events`.
//!
//! Owns how things reach Slack. It must not decide access: it reports what the workflow and the
//! grant service decided. No secret passes through here but the password DM's ephemeral post
//! (`dm_secret`, called by `grant_events`); no log line or error here carries message text.

use crate::access::{MessageRef, ReactionEmojis, Request};
use crate::metrics::Metrics;
use crate::slack::client::{SlackApi, SlackError};
use crate::slack::outbox::{NoteSender, NoteTarget};
use crate::slack::render::{self, Rendered};
use crate::timers::Clock;
use crate::timers::{RequestStore, Updated};
use crate::workflow::port::GrantContext;
use anyhow::{anyhow, Context};
use axum::body::Body;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// Connection parameters of the DM, without the role (taken from each grant).
#[derive(Debug, Clone)]
pub struct ConnectTemplate {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub sslmode: String,
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Everything the bot says in Slack. Cheap to clone.
#[derive(Clone)]
pub struct SlackBot {
    api: SlackApi,
    audit_channel: String,
    pub(crate) metrics: Metrics,
    pub(crate) clock: Arc<dyn Clock>,
    pub(super) emojis: ReactionEmojis,
    requests: RequestStore,
    pub(crate) connect: ConnectTemplate,
    http: Client<Https, Body>,
    pub(super) notes: Option<NoteSender>,
    alert_group: Option<String>,
    /// The fleet target whose grants this notifier tells about (`None`: the one default).
    pub(crate) target: Option<String>,
}

impl SlackBot {
    pub fn new(
        api: SlackApi,
        audit_channel: &str,
        metrics: Metrics,
        clock: Arc<dyn Clock>,
        emojis: ReactionEmojis,
        requests: RequestStore,
        connect: ConnectTemplate,
    ) -> anyhow::Result<SlackBot> {
        Ok(SlackBot {
            api,
            audit_channel: audit_channel.to_owned(),
            metrics,
            clock,
            emojis,
            requests,
            connect,
            http: Client::builder(TokioExecutor::new())
                .build(crate::slack::https::https_connector()?),
            notes: None,
            alert_group: None,
            target: None,
        })
    }

    /// Routes thread notes, audit notes and state-change DMs through the durable outbox
    /// (`pgroles serve` always does; without it they are posted directly, best effort).
    pub fn with_outbox(mut self, notes: NoteSender) -> SlackBot {
        self.notes = Some(notes);
        self
    }

    /// The same bot, for a fleet target's grants (the reminder's buttons name it).
    pub fn with_target(mut self, target: Option<String>) -> SlackBot {
        self.target = target;
        self
    }

    /// The same bot, with the psql string of another database (a fleet target's DMs).
    pub fn with_connect(mut self, connect: ConnectTemplate) -> SlackBot {
        self.connect = connect;
        self
    }

    /// The Slack user group (`S…`, `slack.alert_group`) mentioned when something needs a
    /// human (a failed issue). Anything but a user group id is refused.
    pub fn with_alert_group(mut self, group: Option<&str>) -> anyhow::Result<SlackBot> {
        self.alert_group = alert_group(group)?;
        Ok(self)
    }

    pub fn api(&self) -> &SlackApi {
        &self.api
    }

    pub fn audit_channel(&self) -> &str {
        &self.audit_channel
    }

    pub(super) fn failed(&self, e: &SlackError) {
        self.metrics.slack_error(e.method, &e.code);
    }

    /// Posts a new top-level message in the audit channel; returns its coordinates.
    pub async fn post_audit(&self, msg: &Rendered) -> Result<MessageRef, SlackError> {
        let ts = self
            .api
            .post_message(&self.audit_channel, &msg.text, &msg.blocks, None)
            .await
            .inspect_err(|e| self.failed(e))?;
        Ok(MessageRef { channel: self.audit_channel.clone(), ts })
    }

    /// Queues `text` for `target` in the outbox; without an outbox, or when Redis refuses it,
    /// posts it directly (one bounded try; failures are logged and counted).
    pub(super) async fn note(&self, target: NoteTarget, text: &str) {
        if let Some(notes) = &self.notes {
            match notes.queue(target.clone(), text).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox unavailable; posting the note directly")
                }
            }
        }
        self.post_direct(&target, text).await;
    }

    pub(super) async fn post_direct(&self, target: &NoteTarget, text: &str) {
        let sent = match target {
            NoteTarget::Thread { channel, ts } => {
                self.api.post_message(channel, text, &[], Some(ts)).await.map(|_| ())
            }
            NoteTarget::Channel { channel } => {
                self.api.post_message(channel, text, &[], None).await.map(|_| ())
            }
            NoteTarget::Dm { user } => match self.api.open_dm(user).await {
                Ok(dm) => self.api.post_message(&dm, text, &[], None).await.map(|_| ()),
                Err(e) => Err(e),
            },
        };
        if let Err(e) = sent {
            self.failed(&e);
            tracing::warn!(code = %e.code, "could not post a note");
        }
    }

    /// A note in the request's thread (the audit trail), through the outbox.
    pub async fn thread(&self, at: &MessageRef, text: &str) {
        let target = NoteTarget::Thread { channel: at.channel.clone(), ts: at.ts.clone() };
        self.note(target, text).await;
    }

    /// A message to `user` in their DM with the bot (a state change of their request: denied,
    /// timed out, revoked, not issued), through the outbox. Never a secret.
    pub async fn dm_note(&self, user: &str, text: &str) {
        self.note(NoteTarget::Dm { user: user.to_string() }, text).await;
    }

    /// A top-level note in the audit channel mentioning the alert group, for what needs a
    /// human now (a failed issue), through the outbox.
    pub async fn alert(&self, text: &str) {
        let text = self.alert_text(text);
        self.note(NoteTarget::Channel { channel: self.audit_channel.clone() }, &text).await;
    }

    pub(super) fn alert_text(&self, text: &str) -> String {
        match &self.alert_group {
            Some(group) => format!("<!subteam^{group}> {text}"),
            None => text.to_string(),
        }
    }

    /// A note in `context`'s thread, or top level in the audit channel without one.
    pub(crate) async fn audit(&self, context: &GrantContext, text: &str) {
        match &context.message {
            Some(at) => self.thread(at, text).await,
            None => {
                let target = NoteTarget::Channel { channel: self.audit_channel.clone() };
                self.note(target, text).await;
            }
        }
    }

    /// Re-renders the request message for the request's current state.
    pub async fn show_request(&self, req: &Request, approvers_hint: &str) {
        let Some(at) = req.message() else { return };
        let msg = render::request_message(req, &self.emojis, approvers_hint, self.clock.now());
        if let Err(e) = self.api.update_message(&at.channel, &at.ts, &msg.text, &msg.blocks).await {
            self.failed(&e);
            tracing::warn!(code = %e.code, "could not update the request message");
        }
    }

    /// An ephemeral message to `user` in their DM with the bot.
    pub async fn dm_ephemeral(&self, user: &str, msg: &Rendered) -> Result<(), SlackError> {
        let dm = self.api.open_dm(user).await.inspect_err(|e| self.failed(e))?;
        self.api
            .post_ephemeral(&dm, user, &msg.text, &msg.blocks)
            .await
            .inspect_err(|e| self.failed(e))
    }

    /// The password DM: an ephemeral message to `user` in their DM with the bot, sent so that
    /// its text and body stay in zeroizing memory ([`SlackApi::post_ephemeral_secret`]).
    pub async fn dm_secret(
        &self,
        user: &str,
        msg: &render::SecretMessage,
    ) -> Result<(), SlackError> {
        let dm = self.api.open_dm(user).await.inspect_err(|e| self.failed(e))?;
        self.api.post_ephemeral_secret(&dm, user, msg).await.inspect_err(|e| self.failed(e))
    }

    /// Answers a slash command later: through its response_url (if it has one: a submitted
    /// form has none), else `chat.postEphemeral` in the channel it came from, else the user's DM.
    pub async fn respond(&self, response_url: &str, channel: &str, user: &str, msg: &Rendered) {
        if !response_url.is_empty() {
            match self.post_response_url(response_url, msg).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "response_url failed; trying chat.postEphemeral")
                }
            }
        }
        if self.api.post_ephemeral(channel, user, &msg.text, &msg.blocks).await.is_ok() {
            return;
        }
        if let Err(e) = self.dm_ephemeral(user, msg).await {
            tracing::warn!(code = %e.code, "could not answer the user at all");
        }
    }

    async fn post_response_url(&self, url: &str, msg: &Rendered) -> anyhow::Result<()> {
        let parsed = url::Url::parse(url).context("response_url is not a URL")?;
        let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
            return Err(anyhow!("response_url must use https"));
        }
        let body = serde_json::to_vec(&msg.response_json(false))?;
        let req = axum::http::Request::post(url)
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))?;
        let resp = tokio::time::timeout(Duration::from_secs(10), self.http.request(req))
            .await
            .context("response_url timed out")?
            .context("posting to the response_url")?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(anyhow!("response_url answered HTTP {}", resp.status().as_u16()))
        }
    }

    /// Applies a grant event to the request document (expired, revoked) and shows it.
    pub(crate) async fn advance_request(
        &self,
        context: &GrantContext,
        decide: impl Fn(&Request) -> crate::access::Decision,
    ) {
        let Some(id) = &context.request_id else { return };
        match self
            .requests
            .update(id.as_str(), |r| Ok::<_, std::convert::Infallible>(decide(r)))
            .await
        {
            Ok(Updated::Changed { request, .. }) => self.show_request(&request, "").await,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not record the grant event on its request"),
        }
    }
}

/// `slack.alert_group`: unset or empty is none; otherwise a user group id (`S` + 2..=20
/// uppercase letters and digits), so nothing else can be smuggled into the mention.
fn alert_group(group: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(g) = group.filter(|g| !g.is_empty()) else { return Ok(None) };
    let valid = (3..=21).contains(&g.len())
        && g.starts_with('S')
        && g.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !valid {
        anyhow::bail!("slack.alert_group must be a Slack user group id such as S0123ABCD");
    }
    Ok(Some(g.to_string()))
}

#[cfg(test)]
mod tests {
    use super::alert_group;

    #[test]
    fn alert_group_takes_a_user_group_id_only() {
        assert_eq!(alert_group(None).unwrap(), None);
        assert_eq!(alert_group(Some("")).unwrap(), None);
        assert_eq!(alert_group(Some("S0ALERT001")).unwrap().as_deref(), Some("S0ALERT001"));
        for bad in ["U0ALERT001", "S0>|<!here", "s0alert001", "S"] {
            let e = alert_group(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("slack.alert_group"), "{bad}: {e}");
        }
    }
}
