//! The PagerDuty REST API v2 adapter: `GET /users?query=<email>` to find the person, then
//! `GET /oncalls` filtered by that user and the schedules, at one instant.
//!
//! Owns the HTTP requests (`Authorization: Token token=...` marked sensitive,
//! `Accept: application/vnd.pagerduty+json;version=2`), classic pagination bounded to
//! [`MAX_PAGES`] pages per lookup, one overall deadline for the whole check, and the mapping of
//! every failure to [`OnCallAnswer::Unknown`]. It re-checks what PagerDuty returns (exact email,
//! user, schedule, the shift covering the instant) instead of trusting the filters. It never
//! retries (the deadline is short and the fallback is a human) and never logs the email or the
//! token: log lines carry the endpoint, the status and the reason code only.

use super::OnCallAnswer;
use crate::config::PagerDutyConfig;
use anyhow::{bail, Context};
use axum::body::Body;
use axum::http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use chrono::{DateTime, SecondsFormat, Utc};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// PagerDuty's versioning header.
pub const ACCEPT_V2: &str = "application/vnd.pagerduty+json;version=2";
/// Records per page asked for (PagerDuty's classic pagination maximum).
pub const PAGE_LIMIT: u64 = 100;
/// Pages read per lookup at most; beyond that the answer is `Unknown` (`too_many_pages`).
pub const MAX_PAGES: u64 = 5;
/// Largest answer read.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// A PagerDuty client for one API base and key. Cheap to clone.
#[derive(Clone)]
pub struct PagerDuty {
    base: String,
    http: Client<Https, Body>,
    /// `Token token=<key>`, marked sensitive.
    auth: HeaderValue,
    timeout: Duration,
}

impl std::fmt::Debug for PagerDuty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerDuty")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn connector() -> anyhow::Result<Https> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS configuration for PagerDuty")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build())
}

impl PagerDuty {
    /// The client of `[pagerduty]`; `None` when no API key is configured.
    pub fn from_config(cfg: &PagerDutyConfig) -> anyhow::Result<Option<PagerDuty>> {
        match &cfg.token {
            None => Ok(None),
            Some(token) => {
                let timeout = Duration::from_millis(cfg.timeout_ms);
                PagerDuty::new(&cfg.api_url, token, timeout).map(Some)
            }
        }
    }

    /// A client for `api_url` (plain http only for a loopback host); `timeout` bounds a whole
    /// [`PagerDuty::check`].
    pub fn new(api_url: &str, token: &SecretString, timeout: Duration) -> anyhow::Result<Self> {
        let base = api_url.trim_end_matches('/');
        let url = url::Url::parse(base).context("pagerduty.api_url is not a URL")?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            bail!("pagerduty.api_url must use https (plain http only for a loopback host)");
        }
        let header = Zeroizing::new(format!("Token token={}", token.expose_secret()));
        let mut auth = HeaderValue::from_str(&header).map_err(|_| {
            anyhow::anyhow!("pagerduty.token contains characters not allowed in an HTTP header")
        })?;
        auth.set_sensitive(true);
        Ok(PagerDuty {
            base: base.to_string(),
            http: Client::builder(TokioExecutor::new()).build(connector()?),
            auth,
            timeout,
        })
    }

    /// Is the person with `email` on call at `now` in one of `schedules`? Every request and
    /// page together get the configured deadline; anything but a clear answer is `Unknown`.
    pub async fn check(
        &self,
        email: &str,
        schedules: &[String],
        now: DateTime<Utc>,
    ) -> OnCallAnswer {
        if schedules.is_empty() {
            return OnCallAnswer::NotOnCall;
        }
        let answer = match tokio::time::timeout(self.timeout, self.ask(email, schedules, now)).await
        {
            Err(_) => OnCallAnswer::Unknown { reason: "timeout" },
            Ok(Err(reason)) => OnCallAnswer::Unknown { reason },
            Ok(Ok(answer)) => answer,
        };
        let outcome = match &answer {
            OnCallAnswer::OnCall { .. } => "on_call",
            OnCallAnswer::NotOnCall => "not_on_call",
            OnCallAnswer::Unknown { reason } => reason,
        };
        tracing::info!(outcome, "pagerduty on-call check");
        answer
    }

    async fn ask(
        &self,
        email: &str,
        schedules: &[String],
        now: DateTime<Utc>,
    ) -> Result<OnCallAnswer, &'static str> {
        let plausible = email.len() <= 254
            && email.contains('@')
            && !email.chars().any(|c| c.is_control() || c.is_whitespace());
        if !plausible {
            return Err("invalid_email");
        }
        match self.find_user(email).await? {
            None => Ok(OnCallAnswer::NotOnCall),
            Some(user) => self.find_oncall(&user, schedules, now).await,
        }
    }

    /// The id of the user whose email is exactly `email` (PagerDuty's `query` is a substring
    /// search over names and emails; emails are unique in an account).
    async fn find_user(&self, email: &str) -> Result<Option<String>, &'static str> {
        for page in 0..MAX_PAGES {
            let query = vec![
                ("query", email.to_string()),
                ("limit", PAGE_LIMIT.to_string()),
                ("offset", (page * PAGE_LIMIT).to_string()),
            ];
            let body = self.get("users", &query).await?;
            let users = body.get("users").and_then(Value::as_array).ok_or("invalid_response")?;
            let exact = users.iter().find(|u| {
                u.get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            });
            if let Some(user) = exact {
                let id = user.get("id").and_then(Value::as_str).ok_or("invalid_response")?;
                return Ok(Some(id.to_string()));
            }
            if !more(&body)? {
                return Ok(None);
            }
        }
        Err("too_many_pages")
    }

    async fn find_oncall(
        &self,
        user: &str,
        schedules: &[String],
        now: DateTime<Utc>,
    ) -> Result<OnCallAnswer, &'static str> {
        let instant = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        for page in 0..MAX_PAGES {
            let mut query = vec![("user_ids[]", user.to_string())];
            query.extend(schedules.iter().map(|s| ("schedule_ids[]", s.clone())));
            query.extend([
                ("since", instant.clone()),
                ("until", instant.clone()),
                ("limit", PAGE_LIMIT.to_string()),
                ("offset", (page * PAGE_LIMIT).to_string()),
            ]);
            let body = self.get("oncalls", &query).await?;
            let entries =
                body.get("oncalls").and_then(Value::as_array).ok_or("invalid_response")?;
            if let Some(schedule) = entries.iter().find_map(|o| covering(o, user, schedules, now)) {
                return Ok(OnCallAnswer::OnCall { schedule });
            }
            if !more(&body)? {
                return Ok(OnCallAnswer::NotOnCall);
            }
        }
        Err("too_many_pages")
    }

    /// One GET; the JSON body of a 200, or a reason code.
    async fn get(
        &self,
        endpoint: &'static str,
        query: &[(&str, String)],
    ) -> Result<Value, &'static str> {
        let qs = serde_urlencoded::to_string(query).map_err(|_| "invalid_request")?;
        let req = axum::http::Request::get(format!("{}/{endpoint}?{qs}", self.base))
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, ACCEPT_V2)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::empty())
            .map_err(|_| "invalid_request")?;
        let resp = self.http.request(req).await.map_err(|_| {
            tracing::warn!(endpoint, "pagerduty request failed: connection error");
            "connection_error"
        })?;
        let status = resp.status();
        let body = axum::body::to_bytes(Body::new(resp.into_body()), MAX_ANSWER_BYTES)
            .await
            .map_err(|_| "connection_error")?;
        if !status.is_success() {
            let reason = match status.as_u16() {
                401 | 403 => "unauthorized",
                429 => "rate_limited",
                s if s >= 500 => "server_error",
                _ => "http_error",
            };
            tracing::warn!(
                endpoint,
                status = status.as_u16(),
                reason,
                "pagerduty answered an error"
            );
            return Err(reason);
        }
        serde_json::from_slice(&body).map_err(|_| "invalid_response")
    }
}

fn more(body: &Value) -> Result<bool, &'static str> {
    match body.get("more") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err("invalid_response"),
    }
}

/// The schedule of an on-call entry for `user`, in `schedules`, whose shift covers `now`.
fn covering(entry: &Value, user: &str, schedules: &[String], now: DateTime<Utc>) -> Option<String> {
    let id = |key: &str| entry.pointer(&format!("/{key}/id")).and_then(Value::as_str);
    let at = |key: &str| {
        let raw = entry.get(key).and_then(Value::as_str)?;
        DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc))
    };
    let schedule = id("schedule")?;
    let covers = at("start").is_some_and(|s| s <= now) && at("end").is_some_and(|e| now <= e);
    (id("user") == Some(user) && schedules.iter().any(|s| s == schedule) && covers)
        .then(|| schedule.to_string())
}
