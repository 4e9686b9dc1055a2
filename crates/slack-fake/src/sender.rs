//! Drives the bot over HTTP the way Slack does: signed slash commands to `/slack/commands`,
//! signed Events API callbacks to `/slack/events` (with Slack's retry headers when asked),
//! signed interactivity payloads to `/slack/interactivity` (modal submissions included).
//!
//! Owns the outgoing HTTP requests and their timing. It must not judge the bot's answers;
//! it returns them, and the fake shows them to users ([`super::FakeSlack::record_command_ack`],
//! [`super::FakeSlack::view_answer`]).

use super::ack::SentResponse;
use super::signer::{SlackSigner, SlashCommand};
use super::submission::ViewOutcome;
use super::FakeSlack;
use anyhow::Context;
use axum::body::Body;
use axum::http::{header, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::SecretString;
use serde_json::Value;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Sends signed requests to a bot listening at `base_url` (e.g. `http://127.0.0.1:3000`).
pub struct SlackEventSender {
    base_url: String,
    signer: SlackSigner,
    client: Client<HttpConnector, Body>,
    fake: Option<FakeSlack>,
}

impl SlackEventSender {
    pub fn new(base_url: &str, signing_secret: SecretString) -> SlackEventSender {
        SlackEventSender {
            base_url: base_url.trim_end_matches('/').to_string(),
            signer: SlackSigner::new(signing_secret),
            client: Client::builder(TokioExecutor::new()).build_http(),
            fake: None,
        }
    }

    /// Shows the bot's slash-command acks in this fake, as Slack shows them to the user.
    pub fn with_fake(mut self, fake: &FakeSlack) -> SlackEventSender {
        self.fake = Some(fake.clone());
        self
    }

    fn now() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    }

    /// POSTs a slash command to `/slack/commands`, signed now.
    pub async fn send_command(&self, cmd: &SlashCommand) -> anyhow::Result<SentResponse> {
        let body = cmd.form_body();
        let resp = self
            .send_raw(
                "/slack/commands",
                "application/x-www-form-urlencoded",
                &body,
                Self::now(),
                &[],
            )
            .await?;
        if let Some(fake) = &self.fake {
            fake.record_command_ack(cmd, &resp);
        }
        Ok(resp)
    }

    /// POSTs an interactivity payload (`block_actions`, ...) to `/slack/interactivity` as Slack
    /// does: a form with one field, `payload`, holding the JSON; signed now.
    pub async fn send_interaction(&self, payload: &Value) -> anyhow::Result<SentResponse> {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())])
            .context("encoding the interactivity payload")?;
        self.send_raw(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            &body,
            Self::now(),
            &[],
        )
        .await
    }

    /// Submits a modal: POSTs the `view_submission` `payload` (from
    /// [`FakeSlack::view_submission`]) like [`Self::send_interaction`], then applies the bot's
    /// answer in the attached fake as Slack does ([`FakeSlack::view_answer`]). Needs
    /// [`Self::with_fake`]: what the answer does depends on the modal the fake has open.
    pub async fn submit_view(
        &self,
        payload: &Value,
    ) -> anyhow::Result<(SentResponse, ViewOutcome)> {
        let Some(fake) = &self.fake else {
            anyhow::bail!("submit_view needs the fake attached (SlackEventSender::with_fake)");
        };
        let resp = self.send_interaction(payload).await?;
        let outcome = fake.view_answer(payload, &resp);
        Ok((resp, outcome))
    }

    /// POSTs an Events API payload to `/slack/events`, signed now.
    pub async fn send_event(&self, payload: &Value) -> anyhow::Result<SentResponse> {
        self.send_raw("/slack/events", "application/json", &payload.to_string(), Self::now(), &[])
            .await
    }

    /// Re-delivers an event as Slack's retry number `retry_num` (1..=3) for `reason`
    /// (`http_timeout`, `http_error`, ...).
    pub async fn resend_event(
        &self,
        payload: &Value,
        retry_num: u32,
        reason: &str,
    ) -> anyhow::Result<SentResponse> {
        let extra = [
            ("x-slack-retry-num", retry_num.to_string()),
            ("x-slack-retry-reason", reason.to_string()),
        ];
        self.send_raw(
            "/slack/events",
            "application/json",
            &payload.to_string(),
            Self::now(),
            &extra,
        )
        .await
    }

    /// POSTs `body` to `path` signed for `timestamp` (tests use old timestamps to check replay
    /// protection), with extra headers.
    pub async fn send_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        timestamp: i64,
        extra: &[(&str, String)],
    ) -> anyhow::Result<SentResponse> {
        let mut req = Request::post(format!("{}{path}", self.base_url))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::USER_AGENT, "Slackbot 1.0 (+https://api.slack.com/robots)");
        for (name, value) in self.signer.headers(timestamp, body) {
            req = req.header(name, value);
        }
        for (name, value) in extra {
            req = req.header(*name, value);
        }
        let req = req.body(Body::from(body.to_string())).context("building request to the bot")?;
        let started = Instant::now();
        let resp = self.client.request(req).await.context("sending to the bot")?;
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(Body::new(resp.into_body()), 1 << 20)
            .await
            .context("reading the bot's answer")?;
        Ok(SentResponse {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            elapsed: started.elapsed(),
        })
    }
}
