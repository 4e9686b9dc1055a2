//! `/pgroles verify [post]`: runs [`crate::verify`] over a short-lived broker connection and
//! shows its Block Kit report to the caller (ephemeral), or in the channel with `post`.
//!
//! Who may run it is checked by the caller (`slack.verify_users` / `verify_channels`). Errors
//! are shown as fixed text; their details go to the log.

use super::{CommandInput, Workflow};
use crate::broker::connect::{build_pool, get, BrokerManager};
use crate::broker::CredentialSource;
use crate::slack::render::Rendered;
use crate::verify::{self, blocks};
use anyhow::Context;
use slack_morphism::prelude::SlackBlock;
use std::sync::Arc;

impl Workflow {
    pub(super) async fn verify(&self, input: CommandInput, post: bool) {
        let outcome = match self.verify_report().await {
            Ok(msg) if post => {
                let api = self.inner.bot.api();
                match api.post_message(&input.channel, &msg.text, &msg.blocks, None).await {
                    Ok(_) => "ok",
                    Err(e) => {
                        self.inner.metrics.slack_error(e.method, &e.code);
                        let text = format!(
                            "I could not post the report in this channel (Slack said {}); \
                             invite me or run /pgroles verify without post.",
                            e.code
                        );
                        self.reply(&input, &text).await;
                        "error"
                    }
                }
            }
            Ok(msg) => {
                let bot = &self.inner.bot;
                bot.respond(&input.response_url, &input.channel, &input.user, &msg).await;
                "ok"
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "verify failed");
                let text = "The verification could not run (the database did not answer as \
                            expected). The details are in the bot's logs.";
                self.reply(&input, text).await;
                "error"
            }
        };
        self.inner.metrics.request("verify", outcome);
    }

    async fn verify_report(&self) -> anyhow::Result<Rendered> {
        let cfg = &self.inner.settings.config;
        let names = &cfg.model;
        let creds = CredentialSource::from_config(&cfg.database, &cfg.aws, &names.broker()).await?;
        let manager = BrokerManager::new(&cfg.database, names, Arc::new(creds))?;
        let pool = build_pool(manager, 1)?;
        let conn = get(&pool).await.context("connecting for verify")?;
        let report = verify::run(&conn, names, self.now()).await?;
        let json = blocks::blocks(&report, blocks::DEFAULT_TOP);
        let blocks: Vec<SlackBlock> = serde_json::from_value(serde_json::Value::Array(json))
            .context("the verify blocks do not parse as Block Kit")?;
        Ok(Rendered { text: format!("pgroles verify: {}", report.headline()), blocks })
    }
}
