//! The Slack Web API adapter: exactly the calls the bot makes, with bounded retries.
//!
//! Owns the HTTP client (slack-morphism over hyper-rustls with the ring provider; the password
//! DM alone goes through the project's own JSON POST, `json_post`, to keep its body zeroizing), the retry
//! policy (honour `Retry-After` on `ratelimited`, back off on 5xx, timeouts and transport
//! errors) and the mapping of every failure to one typed [`SlackError`].
//! It must not decide anything about access, and it never logs message text, blocks or the
//! token: log lines carry the method, the attempt and the outcome code only.

use crate::config::SlackConfig;
use crate::slack::json_post::JsonPost;
use crate::slack::render::SecretMessage;
use crate::slack::secret_body;
use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

type Connector = SlackClientHyperHttpsConnector;

/// A Slack Web API call that failed for good (after any retries).
///
/// `code` is Slack's own error string (`channel_not_found`, `invalid_auth`, ...) or one of the
/// transport codes `ratelimited`, `http_<status>`, `timeout`, `connection_error`,
/// `invalid_response`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Slack {method} failed: {code} (after {attempts} attempt(s))")]
pub struct SlackError {
    pub method: &'static str,
    pub code: String,
    pub attempts: u32,
    /// What Slack's `Retry-After` asked for on the last attempt (`ratelimited` only).
    pub retry_after: Option<Duration>,
}

/// How hard to try before giving up on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first (at least 1).
    pub max_attempts: u32,
    /// Upper bound on one wait, whatever `Retry-After` says.
    pub max_wait: Duration,
    /// First backoff after a 5xx, timeout or transport error; doubles per retry.
    pub backoff: Duration,
    /// Deadline of one HTTP attempt.
    pub call_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            max_wait: Duration::from_secs(30),
            backoff: Duration::from_millis(500),
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// Slack error codes that mean "try again later" even though the HTTP status was 200.
const RETRYABLE_API_CODES: &[&str] =
    &["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"];

/// The bot's Slack Web API client. Cheap to clone.
#[derive(Clone)]
pub struct SlackApi {
    client: Arc<SlackClient<Connector>>,
    token: SlackApiToken,
    retry: RetryPolicy,
    /// The project's own JSON POST: the password DM's body stays in zeroizing memory.
    json: JsonPost,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi").field("retry", &self.retry).finish_non_exhaustive()
    }
}

enum Step<T> {
    Done(Result<T, SlackError>),
    Retry { code: String, wait: Duration },
}

impl SlackApi {
    /// Builds the client from the `[slack]` configuration (`api_url`, `bot_token`).
    pub fn from_config(cfg: &SlackConfig) -> anyhow::Result<SlackApi> {
        let token = cfg.bot_token.as_ref().context("slack.bot_token is not set")?;
        SlackApi::new(&cfg.api_url, token)
    }

    /// Builds a client for `api_url` (e.g. `https://slack.com/api/`). Plain `http` is accepted
    /// only for a loopback host (the local fake).
    pub fn new(api_url: &str, bot_token: &SecretString) -> anyhow::Result<SlackApi> {
        let base = api_url.trim_end_matches('/');
        let url = url::Url::parse(base).context("slack.api_url is not a URL")?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            bail!("slack.api_url must use https (plain http only for a loopback host)");
        }
        let connector = SlackClientHyperConnector::from(crate::slack::https::https_connector()?)
            .with_slack_api_url(base);
        Ok(SlackApi {
            client: Arc::new(SlackClient::new(connector)),
            token: SlackApiToken::new(bot_token.expose_secret().to_string().into()),
            retry: RetryPolicy::default(),
            json: JsonPost::new(base, bot_token)?,
        })
    }

    /// Replaces the retry policy (tests use short waits).
    pub fn with_retry(mut self, retry: RetryPolicy) -> SlackApi {
        self.retry = RetryPolicy { max_attempts: retry.max_attempts.max(1), ..retry };
        self
    }

    /// `chat.postMessage`; returns the new message's `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: &[SlackBlock],
        thread_ts: Option<&str>,
    ) -> Result<String, SlackError> {
        let mut req = SlackApiChatPostMessageRequest::new(channel.into(), content(text, blocks));
        req.thread_ts = thread_ts.map(|ts| ts.into());
        let req = &req;
        let resp = self
            .call("chat.postMessage", || async move {
                self.client.open_session(&self.token).chat_post_message(req).await
            })
            .await?;
        Ok(resp.ts.0)
    }

    /// `views.publish` of `user`'s App Home tab.
    pub async fn publish_home(
        &self,
        user: &str,
        blocks: Vec<SlackBlock>,
    ) -> Result<(), SlackError> {
        let view = SlackView::Home(SlackHomeView::new(blocks));
        let req = &SlackApiViewsPublishRequest::new(user.into(), view);
        self.call("views.publish", || async move {
            self.client.open_session(&self.token).views_publish(req).await
        })
        .await?;
        Ok(())
    }

    /// `views.open` of a modal for the user behind `trigger_id`.
    pub async fn open_view(&self, trigger_id: &str, view: SlackView) -> Result<(), SlackError> {
        let req = &SlackApiViewsOpenRequest::new(trigger_id.into(), view);
        self.call("views.open", || async move {
            self.client.open_session(&self.token).views_open(req).await
        })
        .await?;
        Ok(())
    }

    /// `chat.update` of a message the bot posted.
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &[SlackBlock],
    ) -> Result<(), SlackError> {
        let req = &SlackApiChatUpdateRequest::new(channel.into(), content(text, blocks), ts.into());
        self.call("chat.update", || async move {
            self.client.open_session(&self.token).chat_update(req).await
        })
        .await?;
        Ok(())
    }

    /// `chat.postEphemeral`: visible to `user` only, in `channel` (a channel or a DM id).
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        blocks: &[SlackBlock],
    ) -> Result<(), SlackError> {
        let req = &SlackApiChatPostEphemeralRequest::new(
            channel.into(),
            user.into(),
            content(text, blocks),
        );
        self.call("chat.postEphemeral", || async move {
            self.client.open_session(&self.token).chat_post_ephemeral(req).await
        })
        .await?;
        Ok(())
    }

    /// `chat.postEphemeral` of the message carrying the password, visible to `user` only.
    ///
    /// Sent with the project's own request, not slack-morphism's: its typed request and the
    /// JSON it serializes are plain `String`s, freed without being wiped. Here the body is
    /// built in a zeroizing buffer of exact size and handed to hyper without a copy
    /// ([`secret_body`]); the arguments are Slack's (`channel`, `user`, `text`, `blocks`), and
    /// the retry policy and error codes are those of every other call.
    pub async fn post_ephemeral_secret(
        &self,
        channel: &str,
        user: &str,
        msg: &SecretMessage,
    ) -> Result<(), SlackError> {
        const METHOD: &str = "chat.postEphemeral";
        let body = secret_body::ephemeral_body(channel, user, msg.expose_text()).map_err(|_| {
            SlackError {
                method: METHOD,
                code: "invalid_request".into(),
                attempts: 0,
                retry_after: None,
            }
        })?;
        let body = &secret_body::into_wiped_bytes(body);
        self.call(METHOD, || async move { self.json.post(METHOD, body.clone()).await }).await
    }

    /// `conversations.open` with one user; returns the DM channel id (`D…`).
    ///
    /// Slack documents `users` as a comma-separated string; slack-morphism's own request type
    /// sends a JSON array, so this call goes through its generic post with `OpenDm`.
    pub async fn open_dm(&self, user: &str) -> Result<String, SlackError> {
        let req = &OpenDm { users: user.to_string() };
        let resp: SlackApiConversationsOpenResponse<SlackBasicChannelInfo> = self
            .call("conversations.open", || async move {
                self.client
                    .open_session(&self.token)
                    .http_session_api
                    .http_post("conversations.open", req, Some(&SLACK_TIER3_METHOD_CONFIG))
                    .await
            })
            .await?;
        Ok(resp.channel.id.0)
    }

    /// `usergroups.users.list`: the user ids in a user group (`S…`).
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackError> {
        let req = &SlackApiUserGroupsUsersListRequest::new(group.into());
        let resp = self
            .call("usergroups.users.list", || async move {
                self.client.open_session(&self.token).usergroups_users_list(req).await
            })
            .await?;
        Ok(resp.users.into_iter().map(|u| u.0).collect())
    }

    /// `users.info`: the user's profile email, `None` when Slack shows none (the app lacks the
    /// `users:read.email` scope, or the user has no email). Used to find the requester in
    /// PagerDuty; the email is never logged.
    pub async fn user_email(&self, user: &str) -> Result<Option<String>, SlackError> {
        let req = &SlackApiUsersInfoRequest::new(user.into());
        let resp = self
            .call("users.info", || async move {
                self.client.open_session(&self.token).users_info(req).await
            })
            .await?;
        Ok(resp.user.profile.and_then(|p| p.email).map(|e| e.0))
    }

    /// `chat.getPermalink`: a link to a message, for audit lines.
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, SlackError> {
        let req = &SlackApiChatGetPermalinkRequest::new(channel.into(), ts.into());
        let resp = self
            .call("chat.getPermalink", || async move {
                self.client.open_session(&self.token).chat_get_permalink(req).await
            })
            .await?;
        Ok(resp.permalink.to_string())
    }

    /// `auth.test`: the bot's own user id (to ignore its own reactions) and checks the token.
    pub async fn auth_test(&self) -> Result<String, SlackError> {
        let resp =
            self.call("auth.test", || async move {
                self.client.open_session(&self.token).auth_test().await
            })
            .await?;
        Ok(resp.user_id.0)
    }

    /// Runs one method with the retry policy; logs method and outcome only.
    async fn call<T, F, Fut>(&self, method: &'static str, op: F) -> Result<T, SlackError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SlackClientError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = tokio::time::timeout(self.retry.call_timeout, op()).await;
            match self.classify(method, attempt, outcome) {
                Step::Done(result) => {
                    match &result {
                        Ok(_) => tracing::debug!(method, attempt, "slack call ok"),
                        Err(e) => {
                            tracing::warn!(method, attempt, code = %e.code, "slack call failed")
                        }
                    }
                    return result;
                }
                Step::Retry { code, wait } => {
                    tracing::info!(method, attempt, code = %code, wait_ms = wait.as_millis() as u64, "slack call retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn classify<T>(
        &self,
        method: &'static str,
        attempt: u32,
        outcome: Result<Result<T, SlackClientError>, tokio::time::error::Elapsed>,
    ) -> Step<T> {
        let backoff =
            self.retry.backoff.saturating_mul(1 << (attempt - 1).min(16)).min(self.retry.max_wait);
        let mut retry_after = None;
        let (code, wait) = match outcome {
            Ok(Ok(value)) => return Step::Done(Ok(value)),
            Err(_elapsed) => ("timeout".to_string(), Some(backoff)),
            Ok(Err(SlackClientError::RateLimitError(e))) => {
                let asked = e.retry_after.unwrap_or(Duration::from_secs(1));
                retry_after = Some(asked);
                ("ratelimited".to_string(), Some(asked.min(self.retry.max_wait)))
            }
            Ok(Err(SlackClientError::ApiError(e))) => {
                let retry = RETRYABLE_API_CODES.contains(&e.code.as_str()).then_some(backoff);
                (e.code, retry)
            }
            Ok(Err(SlackClientError::HttpError(e))) => {
                let status = e.status_code;
                (format!("http_{}", status.as_u16()), status.is_server_error().then_some(backoff))
            }
            Ok(Err(SlackClientError::HttpProtocolError(_)))
            | Ok(Err(SlackClientError::EndOfStream(_))) => {
                ("connection_error".to_string(), Some(backoff))
            }
            Ok(Err(SlackClientError::ProtocolError(_))) => ("invalid_response".to_string(), None),
            Ok(Err(_)) => ("client_error".to_string(), None),
        };
        match wait {
            Some(wait) if attempt < self.retry.max_attempts => Step::Retry { code, wait },
            _ => Step::Done(Err(SlackError { method, code, attempts: attempt, retry_after })),
        }
    }
}

/// `conversations.open` arguments as Slack documents them: `users` is one comma-separated
/// string (here a single user id).
#[derive(Debug, serde::Serialize)]
struct OpenDm {
    users: String,
}

fn content(text: &str, blocks: &[SlackBlock]) -> SlackMessageContent {
    let content = SlackMessageContent::new().with_text(text.to_string());
    if blocks.is_empty() {
        content
    } else {
        content.with_blocks(blocks.to_vec())
    }
}
