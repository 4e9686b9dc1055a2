//! Bodies of `pgroles revoke <level>`, `pgroles status` and `pgroles worker`, built from the
//! configuration (the lead wires them into `src/cli.rs`).
//!
//! Owns building a [`GrantService`] from [`Config`]. The worker has no Slack: it uses a
//! [`LogNotifier`], whose delivery fails, so any grant it would issue is expired at once.
//! Nothing here prints a secret.

use super::notify::{LogNotifier, Notifier};
use super::record::GrantSettings;
use super::service::GrantService;
use super::worker::{run, RunStats};
use super::GrantError;
use crate::broker::Broker;
use crate::config::Config;
use crate::model::Level;
use crate::timers::{self, DocStore, SystemClock, TimerQueue};
use anyhow::Context;
use std::future::Future;
use std::sync::Arc;

/// Broker, Redis queue and store, system clock and `notifier`, from the configuration.
pub async fn build(cfg: &Config, notifier: Arc<dyn Notifier>) -> anyhow::Result<GrantService> {
    let broker = Broker::from_config(&cfg.database, &cfg.aws, &cfg.model)
        .await
        .context("setting up the password broker")?;
    let conn = timers::connect(&cfg.redis).await.context("connecting to Redis")?;
    let prefix = &cfg.redis.key_prefix;
    let addrs = cfg.instance_addrs()?;
    let instances =
        crate::broker::Instances::from_config(&cfg.database, &cfg.aws, &cfg.model, &addrs)
            .await
            .context("setting up the other instances (database.instances)")?;
    Ok(GrantService::new(
        broker,
        TimerQueue::new(conn.clone(), prefix),
        DocStore::new(conn, prefix),
        notifier,
        Arc::new(SystemClock),
        GrantSettings::from_access(&cfg.access),
    )
    .with_instances(instances))
}

/// `pgroles revoke <level>`: ends the level's grants now (actor `cli`), and every live
/// per-person login of the level. Without a recorded grant it still expires the password and
/// ends sessions (a kill switch), and it works without Redis: then it goes to PostgreSQL
/// directly and leaves the grant records to the reconciler.
pub async fn revoke(cfg: &Config, level: Level) -> anyhow::Result<String> {
    let service = match build(cfg, Arc::new(LogNotifier::new())).await {
        Ok(service) => service,
        Err(e) => return revoke_without_redis(cfg, level, &e).await,
    };
    let holder = service.active(level).await.ok().flatten();
    match service.revoke(level, "cli").await {
        Ok(ended) => {
            // Per-person logins no grant names (Redis lost it) end too: the kill switch.
            let more = service.broker().end_live_person_logins(level, "cli").await;
            let ended = ended + more.map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(match holder {
                Some(g) => format!(
                    "Revoked the {level} grant of {} ({}): password expired, {ended} session(s) \
                     ended.",
                    g.holder, g.incident
                ),
                None => {
                    format!("Revoked the {level} grant(s): access ended, {ended} session(s) ended.")
                }
            })
        }
        Err(GrantError::NotActive) => {
            let ended = service
                .expire_now(level, "cli revoke")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("expiring the password")?;
            Ok(format!(
                "No {level} grant was recorded; expired the password anyway and ended {ended} \
                 session(s)."
            ))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")).context(format!("revoking the {level} grant")),
    }
}

/// The kill switch when the service cannot be built (Redis down): expire and end sessions
/// through the broker alone.
async fn revoke_without_redis(
    cfg: &Config,
    level: Level,
    why: &anyhow::Error,
) -> anyhow::Result<String> {
    let broker = Broker::from_config(&cfg.database, &cfg.aws, &cfg.model)
        .await
        .context("setting up the password broker")?;
    let audit = crate::broker::ActionAudit { incident: "cli revoke".into(), actor: "cli".into() };
    broker.expire(level, &audit).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut ended =
        broker.terminate_sessions(level, &audit).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    ended +=
        broker.end_live_person_logins(level, "cli").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(format!(
        "Could not use Redis ({why:#}); expired the {level} password in PostgreSQL directly and \
         ended {ended} session(s). The grant record and its timers are cleaned up when Redis is \
         back (the reconciler)."
    ))
}

/// `pgroles status`: active grants, pending timers with due times, the roles in the database.
/// Errors are part of the text.
pub async fn status(cfg: &Config) -> String {
    let service = match build(cfg, Arc::new(LogNotifier::new())).await {
        Ok(s) => s,
        Err(e) => return format!("Status unavailable: {e:#}"),
    };
    match service.status().await {
        Ok(s) => s.to_string(),
        Err(e) => format!("Status unavailable: {e}"),
    }
}

/// `pgroles worker`: the timer worker and reconciler without Slack, until `shutdown`, for
/// each of `targets` (each a target's view of the configuration, `Config::for_target`).
pub async fn worker<S>(targets: Vec<Config>, shutdown: S) -> anyhow::Result<RunStats>
where
    S: Future<Output = ()>,
{
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut runs = Vec::new();
    for cfg in &targets {
        let service = Arc::new(build(cfg, Arc::new(LogNotifier::new())).await?);
        let queue = service.queue().clone();
        tracing::info!(prefix = %cfg.redis.key_prefix, "grants worker started");
        let mut rx = stop_rx.clone();
        let stop = async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        runs.push(tokio::spawn(run(service, queue, stop, None)));
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    let mut total = RunStats::default();
    for r in runs {
        let stats = r.await.context("a worker task")?;
        total.acked += stats.acked;
        total.failed += stats.failed;
        total.reconciles += stats.reconciles;
    }
    tracing::info!(acked = total.acked, failed = total.failed, "grants worker stopped");
    Ok(total)
}
