//! `/healthz` (the process answers), `/readyz` (PostgreSQL and Redis reachable, each within
//! 2 s, and the timer worker alive) and `/metrics` (Prometheus text format).
//!
//! A fleet (issue 16) is ready while Redis and the worker are: each target's database is listed
//! under `targets`, and one that is down does not take the bot away from the others.
//!
//! Owns these three handlers. Answers name the failing dependency only, never an error text
//! (which could carry a host or user name). `/readyz` never waits for a broker connection: when
//! every pooled connection is busy it reports `busy` (ready) instead of queueing behind issue,
//! revoke and expiry, so probes cannot eat the connection budget.

use crate::grants::GrantService;
use crate::metrics::{Metrics, OpsSnapshot};
use crate::timers::TimerQueue;
use crate::workflow::fleet::Fleet;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use redis::aio::ConnectionManager;
use std::time::Duration;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// A timer this far past its due time counts as overdue in `/metrics`.
const OVERDUE_GRACE: chrono::Duration = chrono::Duration::seconds(5);

#[derive(Clone)]
pub(super) struct HealthState {
    pub redis: ConnectionManager,
    pub fleet: Fleet,
    /// Every timer queue (each target's, and a fleet's requests' queue).
    pub queues: Vec<TimerQueue>,
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
    let checks = s.fleet.all().iter().map(|t| database(&t.grants));
    let databases = futures::future::join_all(checks).await;
    let first = s.fleet.first().grants.clone();
    let worker = if !s.worker {
        "not run here"
    } else if first.watch().is_alive(Utc::now(), s.worker_max_age) {
        "ok"
    } else {
        "stopped"
    };
    let pg = if databases.iter().all(|d| *d != "unavailable") {
        databases.iter().copied().find(|d| *d == "busy").unwrap_or("ok")
    } else if s.fleet.is_named() && databases.iter().any(|d| *d != "unavailable") {
        "degraded"
    } else {
        "unavailable"
    };
    let ready = redis_ok && pg != "unavailable" && worker != "stopped";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    // The other instances are listed for the operator; their reachability does not gate
    // readiness (an unreachable reader is retried per grant, see grants::sweep).
    let instances: Vec<String> = s
        .fleet
        .all()
        .iter()
        .flat_map(|t| {
            t.grants.instances().current().iter().map(|i| i.addr.clone()).collect::<Vec<_>>()
        })
        .collect();
    let mut body = serde_json::json!({
        "redis": word(redis_ok),
        "postgresql": pg,
        "worker": worker,
        "instances": instances,
    });
    if s.fleet.is_named() {
        let targets: serde_json::Map<String, serde_json::Value> = s
            .fleet
            .all()
            .iter()
            .zip(&databases)
            .map(|(t, d)| (t.name.clone(), serde_json::Value::from(*d)))
            .collect();
        body["targets"] = serde_json::Value::Object(targets);
    }
    (status, Json(body)).into_response()
}

/// One target's database: `ok`, `busy` (every pooled connection in use: not queued behind
/// issue, revoke and expiry) or `unavailable`.
async fn database(grants: &GrantService) -> &'static str {
    let pool = grants.broker().pool().status();
    if pool.available == 0 && pool.size >= pool.max_size {
        "busy"
    } else if matches!(
        tokio::time::timeout(CHECK_TIMEOUT, grants.broker().sessions()).await,
        Ok(Ok(_))
    ) {
        "ok"
    } else {
        "unavailable"
    }
}

pub(super) async fn metrics(State(s): State<HealthState>) -> Response {
    let now = Utc::now();
    let targets = s.fleet.all();
    let watch = targets[0].grants.watch();
    let pools: Vec<_> = targets.iter().map(|t| t.grants.broker().pool().status()).collect();
    let sum = |f: &dyn Fn(&deadpool::Status) -> usize| pools.iter().map(f).sum::<usize>() as i64;
    let mut snap = OpsSnapshot {
        last_poll_unix: watch.last_poll().map_or(0.0, |t| t.timestamp_millis() as f64 / 1000.0),
        connections_open: sum(&|p| p.size),
        connections_in_use: sum(&|p| p.size.saturating_sub(p.available)),
        pool_max: sum(&|p| p.max_size),
        instances: targets.iter().map(|t| t.grants.instances().len() as i64).sum(),
        ..OpsSnapshot::default()
    };
    let mut timers = Vec::new();
    for queue in &s.queues {
        if let Ok(Ok(pending)) = tokio::time::timeout(CHECK_TIMEOUT, queue.pending()).await {
            timers.extend(pending);
        }
    }
    let overdue: Vec<_> = timers.iter().filter(|t| t.due_at + OVERDUE_GRACE < now).collect();
    snap.overdue = overdue.len() as i64;
    snap.oldest_overdue_secs = overdue
        .iter()
        .map(|t| (now - t.due_at).num_milliseconds() as f64 / 1000.0)
        .fold(0.0, f64::max);
    s.metrics.set_ops(snap);
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        s.metrics.encode(),
    )
        .into_response()
}
