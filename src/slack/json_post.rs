//! The project's own JSON POST to the Slack Web API, for the one call whose body must stay in
//! zeroizing memory (the password DM, [`crate::slack::client::SlackApi::post_ephemeral_secret`]).
//!
//! Owns the request (`Authorization: Bearer`, `application/json; charset=utf-8`, the body as
//! given, never copied) and the reading of Slack's answer (`ok`, `error`, `Retry-After`),
//! mapped to slack-morphism's errors so that the client's retry policy classifies them like
//! every other call. It must not retry, log, or look at the body.

use axum::body::Body;
use axum::http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use bytes::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::*;
use std::time::Duration;
use zeroize::Zeroizing;

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// Largest Slack answer read (answers to `chat.postEphemeral` are tiny).
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A JSON POST client for one Web API base URL and bot token. Cheap to clone.
#[derive(Clone)]
pub(crate) struct JsonPost {
    /// The API base without a trailing `/` (checked by `SlackApi::new`).
    base: String,
    http: Client<Https, Body>,
    /// `Bearer <token>`, marked sensitive (hyper never prints it).
    auth: HeaderValue,
}

impl JsonPost {
    pub(crate) fn new(base: &str, bot_token: &SecretString) -> anyhow::Result<JsonPost> {
        let bearer = Zeroizing::new(format!("Bearer {}", bot_token.expose_secret()));
        let mut auth = HeaderValue::from_str(&bearer).map_err(|_| {
            anyhow::anyhow!("slack.bot_token contains characters not allowed in an HTTP header")
        })?;
        auth.set_sensitive(true);
        let connector = crate::slack::https::https_connector()?;
        Ok(JsonPost {
            base: base.trim_end_matches('/').to_string(),
            http: Client::builder(TokioExecutor::new()).build(connector),
            auth,
        })
    }

    /// One POST of `body` (JSON) to `method`. Reads only `ok`, `error` and `Retry-After`.
    pub(crate) async fn post(&self, method: &str, body: Bytes) -> Result<(), SlackClientError> {
        let transport = |e: Box<dyn std::error::Error + Send + Sync>| {
            SlackClientError::HttpProtocolError(SlackClientHttpProtocolError::new().with_cause(e))
        };
        let req = axum::http::Request::post(format!("{}/{method}", self.base))
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .header(AUTHORIZATION, self.auth.clone())
            .body(Body::from(body))
            .map_err(|e| transport(Box::new(e)))?;
        let resp = self.http.request(req).await.map_err(|e| transport(Box::new(e)))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let answer = axum::body::to_bytes(Body::new(resp.into_body()), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| transport(Box::new(e)))?;
        if status.as_u16() == 429 {
            let e = SlackRateLimitError::new().opt_retry_after(retry_after);
            return Err(SlackClientError::RateLimitError(e));
        }
        if !status.is_success() {
            return Err(SlackClientError::HttpError(SlackClientHttpError::new(status)));
        }
        let reply: Reply = serde_json::from_slice(&answer)
            .map_err(|e| SlackClientError::ProtocolError(SlackClientProtocolError::new(e)))?;
        match (reply.ok, reply.error) {
            (true, _) => Ok(()),
            (false, code) => Err(SlackClientError::ApiError(SlackClientApiError::new(
                code.unwrap_or_else(|| "unknown_error".into()),
            ))),
        }
    }
}

/// The envelope of a Web API answer: all [`JsonPost::post`] reads of it.
#[derive(serde::Deserialize)]
struct Reply {
    ok: bool,
    error: Option<String>,
}
