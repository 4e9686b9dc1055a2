//! `/pgroles verify [target|all] [post]`: runs [`crate::verify`] over one connection of the
//! target's broker pool and shows its Block Kit report to the caller (ephemeral), or in the
//! channel with `post`. `all` verifies every target of the fleet, [`VERIFY_ALL_CONCURRENCY`] at
//! a time, and answers with one summary message (a line per target).
//!
//! Inside the connection budget: one verify at a time per process (another is told to wait),
//! bounded by [`VERIFY_TIMEOUT`]; a run that misses it closes its connection. No pool, AWS
//! configuration or credential source of its own.
//!
//! Who may run it is checked by the caller (`slack.verify_users` / `verify_channels`). Errors
//! are shown as fixed text; their details go to the log.

use super::fleet::Target;
use super::port::Reply;
use super::{CommandInput, Workflow};
use crate::access::text::reply;
use crate::access::VerifyScope;
use crate::broker::connect;
use crate::verify::{self, blocks};
use anyhow::Context;
use slack_morphism::prelude::SlackBlock;
use std::sync::Arc;
use std::time::Duration;

/// Another `/pgroles verify` holds this process's verify slot.
#[derive(Debug, thiserror::Error)]
#[error("another verify is running in this process")]
struct Busy;

/// The longest a `/pgroles verify` may hold its connection.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(30);
/// Targets verified at once by `/pgroles verify all`.
pub const VERIFY_ALL_CONCURRENCY: usize = 4;

impl Workflow {
    pub(super) async fn verify(&self, input: CommandInput, scope: VerifyScope, post: bool) {
        let outcome = match self.verify_scope(&scope).await {
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

    /// One target's Block Kit report, or every target's summary; one run per process.
    async fn verify_scope(&self, scope: &VerifyScope) -> anyhow::Result<Reply> {
        let Ok(_slot) = self.inner.verify_slot.try_acquire() else {
            return Err(Busy.into());
        };
        let fleet = &self.inner.fleet;
        let target = match scope {
            VerifyScope::All => return Ok(self.verify_all().await),
            VerifyScope::Default => fleet.first(),
            VerifyScope::One(name) => fleet.get(Some(name)).context("unknown target")?,
        };
        let report = self.verify_target(target).await?;
        let json = blocks::blocks(&report, blocks::DEFAULT_TOP);
        let blocks: Vec<SlackBlock> = serde_json::from_value(serde_json::Value::Array(json))
            .context("the verify blocks do not parse as Block Kit")?;
        let label = target.label(fleet);
        Ok(Reply::Blocks { text: format!("pgroles verify{label}: {}", report.headline()), blocks })
    }

    /// Every target, [`VERIFY_ALL_CONCURRENCY`] at a time: one line each, in name order.
    async fn verify_all(&self) -> Reply {
        // One task per target (at most VERIFY_ALL_CONCURRENCY at once): each decodes its rows on
        // whichever worker thread is free, instead of all of them in this one task.
        let slots = Arc::new(tokio::sync::Semaphore::new(VERIFY_ALL_CONCURRENCY));
        let mut runs = tokio::task::JoinSet::new();
        for t in self.inner.fleet.all().iter().cloned() {
            let (wf, slots) = (self.clone(), slots.clone());
            runs.spawn(async move {
                let _slot = slots.acquire_owned().await;
                let line = match wf.verify_target(&t).await {
                    Ok(report) if report.findings.is_empty() => {
                        format!(":white_check_mark: `{}`: {}", t.name, report.headline())
                    }
                    Ok(report) => format!(":warning: `{}`: {}", t.name, report.headline()),
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), target = %t.name, "verify failed");
                        format!(":x: `{}`: {}", t.name, reply::VERIFY_FAILED)
                    }
                };
                (t.name.clone(), line)
            });
        }
        let mut lines: Vec<(String, String)> = Vec::new();
        while let Some(done) = runs.join_next().await {
            match done {
                Ok(line) => lines.push(line),
                Err(e) => tracing::warn!(error = %e, "a verify task failed"),
            }
        }
        lines.sort();
        let n = lines.len();
        let mut text = format!("pgroles verify all ({n} targets):");
        for (_, line) in lines {
            text.push('\n');
            text.push_str(&line);
        }
        text.push_str("\nDetails of one: /pgroles verify <target>");
        Reply::Sections(text)
    }

    /// `target`'s report, its instances' open sessions included.
    async fn verify_target(&self, target: &Target) -> anyhow::Result<verify::Report> {
        let names = &target.config.model;
        let pool = target.grants.broker().pool();
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
        let instances = target.grants.instances();
        verify::instances::add_instance_sessions(&mut report, instances).await;
        Ok(report)
    }
}
