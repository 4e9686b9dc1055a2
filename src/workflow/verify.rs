//! `/pgroles verify [post]`: runs [`crate::verify`] over one connection of the broker's shared
//! pool and shows its Block Kit report to the caller (ephemeral), or in the channel with `post`.
//!
//! Inside the connection budget: one verify at a time per process (another is told to wait),
//! bounded by [`VERIFY_TIMEOUT`]; a run that misses it closes its connection. No pool, AWS
//! configuration or credential source of its own.
//!
//! Who may run it is checked by the caller (`slack.verify_users` / `verify_channels`). Errors
//! are shown as fixed text; their details go to the log.

use super::port::Reply;
use super::{CommandInput, Workflow};
use crate::access::text::reply;
use crate::broker::connect;
use crate::verify::{self, blocks};
use anyhow::Context;
use slack_morphism::prelude::SlackBlock;
use std::time::Duration;

/// Another `/pgroles verify` holds this process's verify slot.
#[derive(Debug, thiserror::Error)]
#[error("another verify is running in this process")]
struct Busy;

/// The longest a `/pgroles verify` may hold its connection.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(30);

impl Workflow {
    pub(super) async fn verify(&self, input: CommandInput, post: bool) {
        let outcome = match self.verify_report().await {
            Ok(msg) if post => match self.inner.chat.post_in_channel(&input.channel, &msg).await {
                Ok(_) => "ok",
                Err(e) => {
                    self.inner.metrics.slack_error(e.method, &e.code);
                    let text = reply::verify_not_posted(&e.code);
                    self.reply(&input, &text).await;
                    "error"
                }
            },
            Ok(msg) => {
                let chat = &self.inner.chat;
                chat.respond(&input.response_url, &input.channel, &input.user, &msg).await;
                "ok"
            }
            Err(e) if e.is::<Busy>() => {
                self.reply(&input, reply::VERIFY_BUSY).await;
                "rejected"
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "verify failed");
                self.reply(&input, reply::VERIFY_FAILED).await;
                "error"
            }
        };
        self.inner.metrics.request("verify", outcome);
    }

    async fn verify_report(&self) -> anyhow::Result<Reply> {
        let names = &self.inner.settings.config.model;
        let Ok(_slot) = self.inner.verify_slot.try_acquire() else {
            return Err(Busy.into());
        };
        let pool = self.inner.grants.broker().pool();
        // A general slot: the pool's last connection stays free for expiry and revoke.
        let _general = crate::broker::session::general_slot(pool).await.context("verify slot")?;
        let conn = connect::get(pool).await.context("connecting for verify")?;
        let mut report =
            match tokio::time::timeout(VERIFY_TIMEOUT, verify::run(&conn, names, self.now())).await
            {
                Ok(report) => report?,
                Err(_) => {
                    // Out of the pool and closed: nobody queues behind a stuck catalog scan.
                    drop(deadpool::managed::Object::take(conn));
                    anyhow::bail!("verify did not finish within {VERIFY_TIMEOUT:?}");
                }
            };
        drop(conn);
        let instances = self.inner.grants.instances();
        verify::instances::add_instance_sessions(&mut report, instances).await;
        let json = blocks::blocks(&report, blocks::DEFAULT_TOP);
        let blocks: Vec<SlackBlock> = serde_json::from_value(serde_json::Value::Array(json))
            .context("the verify blocks do not parse as Block Kit")?;
        Ok(Reply::Blocks { text: format!("pgroles verify: {}", report.headline()), blocks })
    }
}
