//! The bot's Slack effects: posting and updating the request message, notes in its thread (the
//! audit trail), ephemeral replies (response_url, else `chat.postEphemeral`), and the
//! [`Notifier`] the grant service calls: the password as an ephemeral message in the holder's
//! DM, reminders, expiry and revocation notes.
//!
//! Owns how things reach Slack. It must not decide access: it reports what the workflow and the
//! grant service decided. The password is rendered only in [`Notifier::deliver`] and sent only
//! to the holder's DM; no log line or error here carries message text.

use crate::access::text::{format_expiry, format_utc_time};
use crate::access::{MessageRef, ReactionEmojis, Request, SlackUserId};
use crate::broker::TempPassword;
use crate::grants::{GrantEvent, GrantRecord, Notifier};
use crate::server::metrics::Metrics;
use crate::slack::client::{SlackApi, SlackError};
use crate::slack::notes;
use crate::slack::outbox::{NoteSender, NoteTarget};
use crate::slack::render::{self, ConnectInfo, Rendered};
use crate::timers::Clock;
use crate::workflow::store::{RequestStore, Updated};
use anyhow::{anyhow, Context};
use axum::body::Body;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Where a grant's audit trail goes, stored in [`GrantRecord::context`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantContext {
    pub message: Option<MessageRef>,
    pub request_id: Option<String>,
}

impl GrantContext {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn of(grant: &GrantRecord) -> GrantContext {
        serde_json::from_value(grant.context.clone()).unwrap_or_default()
    }
}

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
    metrics: Metrics,
    clock: Arc<dyn Clock>,
    emojis: ReactionEmojis,
    requests: RequestStore,
    connect: ConnectTemplate,
    http: Client<Https, Body>,
    notes: Option<NoteSender>,
    alert_group: Option<String>,
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
                .build(crate::slack::client::https_connector()?),
            notes: None,
            alert_group: None,
        })
    }

    /// Routes thread notes, audit notes and state-change DMs through the durable outbox
    /// (`pgroles serve` always does; without it they are posted directly, best effort).
    pub fn with_outbox(mut self, notes: NoteSender) -> SlackBot {
        self.notes = Some(notes);
        self
    }

    /// The Slack user group (`S…`, `slack.alert_group`) mentioned when something needs a
    /// human (a failed issue). Anything but a user group id is refused.
    pub fn with_alert_group(mut self, group: Option<&str>) -> anyhow::Result<SlackBot> {
        let group = group.filter(|g| !g.is_empty());
        if let Some(g) = group {
            let valid = g.len() <= 20
                && g.starts_with('S')
                && g.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !valid {
                anyhow::bail!("slack.alert_group must be a Slack user group id such as S0123ABCD");
            }
        }
        self.alert_group = group.map(str::to_string);
        Ok(self)
    }

    pub fn api(&self) -> &SlackApi {
        &self.api
    }

    pub fn audit_channel(&self) -> &str {
        &self.audit_channel
    }

    fn failed(&self, e: &SlackError) {
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
    async fn note(&self, target: NoteTarget, text: &str) {
        if let Some(notes) = &self.notes {
            match notes.queue(target.clone(), text).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox unavailable; posting the note directly")
                }
            }
        }
        let sent = match &target {
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
        let text = match &self.alert_group {
            Some(group) => format!("<!subteam^{group}> {text}"),
            None => text.to_string(),
        };
        self.note(NoteTarget::Channel { channel: self.audit_channel.clone() }, &text).await;
    }

    /// A note in `context`'s thread, or top level in the audit channel without one.
    async fn audit(&self, context: &GrantContext, text: &str) {
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

    /// Answers a slash command later: through its response_url, else `chat.postEphemeral` in
    /// the channel it came from, else the user's DM.
    pub async fn respond(&self, response_url: &str, channel: &str, user: &str, msg: &Rendered) {
        match self.post_response_url(response_url, msg).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "response_url failed; trying chat.postEphemeral")
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
    async fn advance_request(
        &self,
        context: &GrantContext,
        decide: impl Fn(&Request) -> crate::access::Decision,
    ) {
        let Some(id) = &context.request_id else { return };
        match self.requests.update(id, |r| Ok::<_, std::convert::Infallible>(decide(r))).await {
            Ok(Updated::Changed { request, .. }) => self.show_request(&request, "").await,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not record the grant event on its request"),
        }
    }
}

fn mention(user: &str) -> String {
    SlackUserId::parse(user).map(|u| u.mention()).unwrap_or_else(|_| user.to_owned())
}

#[async_trait::async_trait]
impl Notifier for SlackBot {
    async fn deliver(&self, grant: &GrantRecord, password: &TempPassword) -> anyhow::Result<()> {
        let holder = SlackUserId::parse(&grant.holder)
            .map_err(|_| anyhow!("the holder is not a Slack user; no DM possible"))?;
        let info = ConnectInfo {
            host: self.connect.host.clone(),
            port: self.connect.port,
            dbname: self.connect.dbname.clone(),
            role: grant.role.clone(),
            sslmode: self.connect.sslmode.clone(),
        };
        let msg = render::credentials(
            grant.level.as_str(),
            &grant.incident,
            &info,
            password,
            grant.expires_at,
            self.clock.now(),
        );
        self.dm_ephemeral(holder.as_str(), &msg)
            .await
            .map_err(|e| anyhow!("Slack {} failed: {}", e.method, e.code))
    }

    async fn notify(&self, event: GrantEvent<'_>) -> anyhow::Result<()> {
        let now = self.clock.now();
        match event {
            GrantEvent::Reminder { grant } => {
                let ctx = GrantContext::of(grant);
                let when = format_expiry(grant.expires_at, now);
                let text = format!(
                    "Your {} access for {} ends at {when}. Request it again if you still need it.",
                    grant.level, grant.incident
                );
                let sent = self.dm_ephemeral(&grant.holder, &Rendered::text(&text)).await;
                let note = match sent {
                    Ok(()) => format!(
                        "Reminder sent to {}: access ends at {when}.",
                        mention(&grant.holder)
                    ),
                    Err(e) => format!(
                        "Could not remind {} by DM ({}); access ends at {when}.",
                        mention(&grant.holder),
                        e.code
                    ),
                };
                self.audit(&ctx, &note).await;
            }
            GrantEvent::Expired { grant, sessions_ended } => {
                self.metrics.expiry(sessions_ended);
                let ctx = GrantContext::of(grant);
                let text = format!(
                    "Password expired: {} access of {} for {} ended at {}; {} ended.",
                    grant.level,
                    mention(&grant.holder),
                    grant.incident,
                    format_utc_time(now),
                    sessions(sessions_ended)
                );
                self.audit(&ctx, &text).await;
                // The request may end a moment after the grant; the grant's end is what counts.
                self.advance_request(&ctx, |r| r.on_expired(now.max(request_end(r)))).await;
            }
            GrantEvent::Resent { grant } => {
                let text = notes::resent(grant.level.as_str(), &grant.holder);
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::Revoked { grant, by, sessions_ended } => {
                self.metrics.sessions(sessions_ended);
                let ctx = GrantContext::of(grant);
                let text = format!(
                    "Access revoked by {}: the {} password of {} expired; {} ended.",
                    mention(by),
                    grant.level,
                    mention(&grant.holder),
                    sessions(sessions_ended)
                );
                self.audit(&ctx, &text).await;
                let dm = notes::revoked(
                    grant.level.as_str(),
                    &grant.incident,
                    by,
                    &sessions(sessions_ended),
                );
                self.dm_note(&grant.holder, &dm).await;
                if let Ok(by) = SlackUserId::parse(by) {
                    self.advance_request(&ctx, |r| r.on_revoked(&by, now)).await;
                }
            }
            GrantEvent::TakenOver { previous, by } => {
                let text = format!(
                    "{} took {} over for {}; the previous password of {} no longer works.",
                    mention(&by.holder),
                    by.level,
                    by.incident,
                    mention(&previous.holder)
                );
                self.audit(&GrantContext::of(previous), &text).await;
            }
            GrantEvent::DeliveryFailed { grant, reason } => {
                let text = format!(
                    "The password could not be delivered to {} by DM ({reason}), so it was \
                     expired again right away. Please request access again.",
                    mention(&grant.holder)
                );
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::ExpiryDelayed { grant, .. } => {
                let text = format!(
                    "The {} password of {} could not be expired yet (database unreachable); \
                     retrying. The database itself caps it at {}.",
                    grant.level,
                    mention(&grant.holder),
                    format_utc_time(grant.db_valid_until)
                );
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::Restored { role, expires_at } => {
                let text = format!(
                    "Found {role} with a live password and no expiry timer; it will be expired at {}.",
                    format_utc_time(expires_at)
                );
                self.audit(&GrantContext::default(), &text).await;
            }
            GrantEvent::OrphanSessionsEnded { role, sessions_ended } => {
                let text = format!(
                    "Ended {} of {role}, which holds no active grant.",
                    sessions(sessions_ended)
                );
                self.audit(&GrantContext::default(), &text).await;
            }
        }
        Ok(())
    }
}

fn request_end(r: &Request) -> chrono::DateTime<chrono::Utc> {
    match r.state() {
        crate::access::RequestState::Issued { expires_at, .. } => *expires_at,
        _ => chrono::DateTime::<chrono::Utc>::MIN_UTC,
    }
}

fn sessions(n: i32) -> String {
    if n == 1 {
        "1 session".into()
    } else {
        format!("{n} sessions")
    }
}
