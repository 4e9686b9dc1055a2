//! Builds the fleet `pgroles serve` runs (issue 16): for each target (each `[targets.<name>]`,
//! or the one `[database]`), its broker (the connection budget checked), its other instances,
//! its grant service on its own Redis keys and timer queue, its DMs' psql string and its
//! approvers. All targets share Redis, Slack, the metrics and one heartbeat.
//!
//! Owns this per-target wiring only; what runs for each target is `server/mod.rs`.

use super::lifecycle::check_budget;
use crate::broker::{Broker, Instances};
use crate::config::{Config, SslMode};
use crate::grants::{ExpiryWatch, GrantService, GrantSettings};
use crate::metrics::Metrics;
use crate::slack::client::SlackApi;
use crate::slack::notifier::{ConnectTemplate, SlackBot};
use crate::timers::{Clock, DocStore, TimerQueue};
use crate::workflow::approvers::Approvers;
use crate::workflow::fleet::{Fleet, Target};
use anyhow::Context;
use redis::aio::ConnectionManager;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// What every target shares.
pub(super) struct Shared<'a> {
    pub conn: &'a ConnectionManager,
    pub bot: &'a SlackBot,
    pub slack: &'a SlackApi,
    pub metrics: &'a Metrics,
    pub clock: Arc<dyn Clock>,
    pub settings: &'a GrantSettings,
    pub approver_cache_ttl: Duration,
    pub watch: Arc<ExpiryWatch>,
}

/// The fleet and each target's timer queue (same order as [`Fleet::all`]).
pub(super) async fn build(
    cfg: &Config,
    shared: &Shared<'_>,
) -> anyhow::Result<(Fleet, Vec<TimerQueue>)> {
    let mut targets = Vec::new();
    for name in cfg.target_names() {
        let view = cfg.for_target(&name).context("a listed target")?;
        let prefix = cfg.target_key_prefix(&name);
        // Boxed: keeps `build`'s future shallow for its callers.
        let target: std::pin::Pin<Box<dyn Future<Output = anyhow::Result<_>> + Send + '_>> =
            Box::pin(one(name.clone(), view, prefix, shared));
        let built = target.await.with_context(|| format!("target {name}"))?;
        targets.push(built);
    }
    targets.sort_by(|a: &(Target, TimerQueue), b| a.0.name.cmp(&b.0.name));
    let queues = targets.iter().map(|(_, q)| q.clone()).collect();
    let targets: Vec<Target> = targets.into_iter().map(|(t, _)| t).collect();
    let fleet = if cfg.is_fleet() {
        Fleet::named(targets)
    } else {
        Fleet::single(targets.into_iter().next().context("no target")?)
    };
    Ok((fleet, queues))
}

async fn one(
    name: String,
    view: Config,
    prefix: String,
    shared: &Shared<'_>,
) -> anyhow::Result<(Target, TimerQueue)> {
    let broker = Broker::from_config(&view.database, &view.aws, &view.model).await?;
    check_budget(&broker, &view.database).await?;
    let queue = TimerQueue::new(shared.conn.clone(), &prefix);
    let docs = DocStore::new(shared.conn.clone(), &prefix);
    let named = view.is_fleet().then(|| name.clone());
    let bot = shared.bot.clone().with_connect(connect_template(&view)).with_target(named);
    let addrs = view.instance_addrs()?;
    let instances = Instances::from_config(&view.database, &view.aws, &view.model, &addrs).await?;
    let grants = GrantService::new(
        broker,
        queue.clone(),
        docs,
        Arc::new(bot),
        shared.clock.clone(),
        shared.settings.clone(),
    )
    .with_instances(instances)
    .with_watch(shared.watch.clone());
    let access = Arc::new(view.access.clone());
    let approvers = Approvers::new(
        access,
        Arc::new(shared.slack.clone()),
        shared.metrics.clone(),
        shared.approver_cache_ttl,
    );
    let target = Target { name, grants: Arc::new(grants), approvers, config: Arc::new(view) };
    Ok((target, queue))
}

/// The psql string of a target's DMs.
pub(super) fn connect_template(cfg: &Config) -> ConnectTemplate {
    ConnectTemplate {
        host: cfg.public_host(),
        port: cfg.database.port,
        dbname: cfg.database_name(),
        sslmode: match cfg.database.sslmode {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
        .into(),
    }
}
