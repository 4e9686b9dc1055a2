//! `/healthz` (the process answers), `/readyz` (PostgreSQL and Redis reachable, each within
//! 2 s, and the timer worker alive) and `/metrics` (Prometheus text format).
//!
//! Owns these three handlers. Answers name the failing dependency only, never an error text
//! (which could carry a host or user name). `/readyz` never waits for a broker connection: when
//! every pooled connection is busy it reports `busy` (ready) instead of queueing behind issue,
//! revoke and expiry, so probes cannot eat the connection budget.

use crate::grants::GrantService;
use crate::metrics::{Metrics, OpsSnapshot};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::time::Duration;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// A timer this far past its due time counts as overdue in `/metrics`.
const OVERDUE_GRACE: chrono::Duration = chrono::Duration::seconds(5);

#[derive(Clone)]
pub(super) struct HealthState {
    pub redis: ConnectionManager,
    pub grants: Arc<GrantService>,
    pub metrics: Metrics,
    /// Whether this process runs the timer worker (then `/readyz` checks its heartbeat).
    pub worker: bool,
    /// The worker is dead when its last poll is older than this.
    pub worker_max_age: Duration,
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn readyz(State(s): State<HealthState>) -> Response {
    let mut conn = s.redis.clone();
    let ping = redis::cmd("PING");
    let ping = ping.query_async::<String>(&mut conn);
    let redis_ok = matches!(tokio::time::timeout(CHECK_TIMEOUT, ping).await, Ok(Ok(_)));
    let pool = s.grants.broker().pool().status();
    let pg = if pool.available == 0 && pool.size >= pool.max_size {
        "busy"
    } else if matches!(
        tokio::time::timeout(CHECK_TIMEOUT, s.grants.broker().sessions()).await,
        Ok(Ok(_))
    ) {
        "ok"
    } else {
        "unavailable"
    };
    let worker = if !s.worker {
        "not run here"
    } else if s.grants.watch().is_alive(Utc::now(), s.worker_max_age) {
        "ok"
    } else {
        "stopped"
    };
    let ready = redis_ok && pg != "unavailable" && worker != "stopped";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    // The other instances are listed for the operator; their reachability does not gate
    // readiness (an unreachable reader is retried per grant, see grants::sweep).
    let instances: Vec<String> =
        s.grants.instances().current().iter().map(|i| i.addr.clone()).collect();
    let body = serde_json::json!({
        "redis": word(redis_ok),
        "postgresql": pg,
        "worker": worker,
        "instances": instances,
    });
    (status, Json(body)).into_response()
}

pub(super) async fn metrics(State(s): State<HealthState>) -> Response {
    let now = Utc::now();
    let watch = s.grants.watch();
    let pool = s.grants.broker().pool().status();
    let mut snap = OpsSnapshot {
        last_poll_unix: watch.last_poll().map_or(0.0, |t| t.timestamp_millis() as f64 / 1000.0),
        connections_open: pool.size as i64,
        connections_in_use: pool.size.saturating_sub(pool.available) as i64,
        pool_max: pool.max_size as i64,
        instances: s.grants.instances().len() as i64,
        ..OpsSnapshot::default()
    };
    let pending = tokio::time::timeout(CHECK_TIMEOUT, s.grants.queue().pending()).await;
    if let Ok(Ok(timers)) = pending {
        let overdue: Vec<_> = timers.iter().filter(|t| t.due_at + OVERDUE_GRACE < now).collect();
        snap.overdue = overdue.len() as i64;
        snap.oldest_overdue_secs = overdue
            .iter()
            .map(|t| (now - t.due_at).num_milliseconds() as f64 / 1000.0)
            .fold(0.0, f64::max);
    }
    s.metrics.set_ops(snap);
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        s.metrics.encode(),
    )
        .into_response()
}
