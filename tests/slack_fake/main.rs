//! The Slack client adapter against the strict fake Slack: what the bot posts lands where Slack
//! would put it, Slack's limits and auth are enforced, retries follow Slack's rules, and what the
//! fake sends to the bot is signed and shaped the way slack-morphism expects.

pub(crate) use pgroles::slack::client::{RetryPolicy, SlackApi, SlackError};
pub(crate) use secrecy::SecretString;
pub(crate) use serde_json::{json, Value};
pub(crate) use slack_fake::{FakeFault, FakeSlack, SlackEventSender, SlackSigner};
pub(crate) use slack_morphism::prelude::*;
pub(crate) use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
pub(crate) use std::time::{Duration, Instant};

pub(crate) const OPS: &str = "C0OPS00001";
pub(crate) const ALICE: &str = "U0ALICE001";
pub(crate) const BOB: &str = "U0BOB00001";

pub(crate) async fn workspace() -> FakeSlack {
    let fake = FakeSlack::start().await.expect("fake slack starts");
    fake.add_users(&[ALICE, BOB]);
    fake.add_channel(OPS);
    fake
}

pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        max_wait: Duration::from_millis(200),
        backoff: Duration::from_millis(10),
        call_timeout: Duration::from_secs(5),
    }
}

pub(crate) fn api(fake: &FakeSlack) -> SlackApi {
    SlackApi::new(&fake.api_url(), &SecretString::from(fake.bot_token()))
        .expect("client builds")
        .with_retry(fast_retry())
}

pub(crate) fn section(text: &str) -> SlackBlock {
    SlackSectionBlock::new().with_text(md!("{}", text)).into()
}

mod client;
mod drive;
mod limits;
mod modal;
mod secret;
mod spec;
