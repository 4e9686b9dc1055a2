//! Process lifetime helpers of `pgroles serve`: the start-up budget check, the worker's
//! supervisor, the idle-connection closer and the stop signal.
//!
//! Owns what happens around the worker and the pool while the process runs; the wiring itself
//! is `server/mod.rs`.

use crate::broker::budget::{self, Budget};
use crate::broker::Broker;
use crate::grants::{self, GrantService};
use std::sync::Arc;
use std::time::Duration;

/// The worker is dead when it has not polled for this long.
pub(super) const WORKER_MAX_AGE: Duration = Duration::from_secs(30);

/// Refuses to start when the configured pools cannot fit under the broker role's connection
/// limit read from the catalog. An unreachable database is not refused here (readiness shows
/// it); the check then happens at the next start.
pub(super) async fn check_budget(
    broker: &Broker,
    db: &crate::config::DatabaseConfig,
) -> anyhow::Result<()> {
    let budget = Budget::from_config(db);
    match budget::role_connection_limit(broker.pool()).await {
        Ok(limit) => {
            budget.check(limit)?;
            tracing::info!(limit, required = budget.required(), "connection budget fits");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the broker's connection limit; not checked");
            Ok(())
        }
    }
}

/// Waits for the worker; if it ends before shutdown was asked for (a panic, an abort), marks
/// it stopped (`/readyz` fails), stops the process and returns the error.
pub(super) async fn supervise_worker(
    mut handle: tokio::task::JoinHandle<grants::RunStats>,
    watch: Arc<grants::ExpiryWatch>,
    stop_rx: tokio::sync::watch::Receiver<bool>,
    stop_tx: Arc<tokio::sync::watch::Sender<bool>>,
    kill: Option<Arc<tokio::sync::Notify>>,
) -> anyhow::Result<grants::RunStats> {
    let killed = async {
        match kill {
            Some(k) => k.notified().await,
            None => std::future::pending().await,
        }
    };
    let ended = tokio::select! {
        r = &mut handle => r,
        () = killed => {
            handle.abort();
            handle.await
        }
    };
    let asked = *stop_rx.borrow();
    match ended {
        Ok(stats) if asked => Ok(stats),
        other => {
            watch.mark_stopped();
            let why = match other {
                Ok(_) => "returned".to_owned(),
                Err(e) if e.is_panic() => "panicked".to_owned(),
                Err(e) => format!("was cancelled ({e})"),
            };
            tracing::error!(why, "the timer worker stopped unexpectedly; stopping the process");
            let _ = stop_tx.send(true);
            anyhow::bail!("the timer worker {why}: expiries would stop, so the process stops")
        }
    }
}

/// Closes broker connections idle for `idle`, every few seconds, until shutdown.
pub(super) async fn close_idle_connections(
    grants: Arc<GrantService>,
    idle: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let every = (idle / 2).clamp(Duration::from_secs(1), Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(every) => {}
        }
        let closed = crate::broker::connect::close_idle(grants.broker().pool(), idle);
        if closed > 0 {
            tracing::debug!(closed, "closed idle broker connections");
        }
    }
}

/// With `database.discover_cluster`: asks the RDS API for the cluster's readers every
/// [`INSTANCES_REFRESH`] (a failure keeps the list and is logged; the next period retries).
pub(super) async fn refresh_instances(
    grants: Arc<GrantService>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(INSTANCES_REFRESH) => {}
        }
        if let Err(e) = grants.instances().refresh().await {
            tracing::warn!(error = %format!("{e:#}"), "refreshing the cluster's instances failed");
        }
    }
}

/// How often the cluster's readers are discovered again.
pub const INSTANCES_REFRESH: Duration = Duration::from_secs(300);

/// Resolves on Ctrl-C or SIGTERM: the one stop signal of `pgroles serve` and `pgroles worker`.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
