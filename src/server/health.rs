//! `/healthz` (the process answers), `/readyz` (PostgreSQL and Redis reachable, each within
//! 2 s) and `/metrics` (Prometheus text format).
//!
//! Owns these three handlers. Answers name the failing dependency only, never an error text
//! (which could carry a host or user name).

use super::metrics::Metrics;
use crate::grants::GrantService;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::time::Duration;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub(super) struct HealthState {
    pub redis: ConnectionManager,
    pub grants: Arc<GrantService>,
    pub metrics: Metrics,
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn readyz(State(s): State<HealthState>) -> Response {
    let mut conn = s.redis.clone();
    let ping = redis::cmd("PING");
    let ping = ping.query_async::<String>(&mut conn);
    let redis_ok = matches!(tokio::time::timeout(CHECK_TIMEOUT, ping).await, Ok(Ok(_)));
    let pg_ok = matches!(
        tokio::time::timeout(CHECK_TIMEOUT, s.grants.broker().sessions()).await,
        Ok(Ok(_))
    );
    let status = if redis_ok && pg_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = serde_json::json!({ "redis": word(redis_ok), "postgresql": word(pg_ok) });
    (status, Json(body)).into_response()
}

pub(super) async fn metrics(State(s): State<HealthState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        s.metrics.encode(),
    )
        .into_response()
}
