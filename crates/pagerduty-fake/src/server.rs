//! The fake PagerDuty's HTTP face: `GET /users` and `GET /oncalls` on an axum router.
//!
//! Owns what PagerDuty checks before any endpoint rule: the API key
//! (`Authorization: Token token=<key>`; 401, code 2006 otherwise), the versioning header
//! (`Accept: application/vnd.pagerduty+json;version=2`) and `Content-Type: application/json`,
//! both marked required by the reference; the query string (repeated `name[]` keys), call
//! recording and fault injection. It must not hold endpoint rules: those are in `api`.
//!
//! Stricter than PagerDuty in one place: a missing or other `Accept` version is refused with
//! 400 (PagerDuty may fall back to its default version); the client must say what it reads.

use super::api::{self, ApiError};
use super::state::{FakeFault, RecordedCall};
use super::Shared;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The versioning header every request must carry.
pub const ACCEPT_V2: &str = "application/vnd.pagerduty+json;version=2";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().route("/{endpoint}", any(endpoint)).with_state(shared)
}

fn error(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(e.body())).into_response()
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    header_str(headers, header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Token token="))
        .is_some_and(|presented| !token.is_empty() && presented == token)
}

/// The checks PagerDuty makes before routing to an endpoint rule.
fn precheck(method: &Method, headers: &HeaderMap, token: &str) -> Result<(), ApiError> {
    if !authorized(headers, token) {
        return Err(ApiError {
            status: 401,
            code: 2006,
            message: "Authentication failed",
            errors: Vec::new(),
        });
    }
    if method != Method::GET {
        return Err(ApiError { status: 404, code: 2100, message: "Not Found", errors: Vec::new() });
    }
    let accept = header_str(headers, header::ACCEPT).unwrap_or_default().replace(' ', "");
    if !accept.eq_ignore_ascii_case(ACCEPT_V2) {
        return Err(api::invalid(format!("Accept must be {ACCEPT_V2}")));
    }
    let content_type = header_str(headers, header::CONTENT_TYPE).unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("application/json") {
        return Err(api::invalid("Content-Type must be application/json"));
    }
    Ok(())
}

async fn endpoint(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(endpoint): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs: Result<Vec<(String, String)>, _> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default());
    let (index, checked, fault) = {
        let mut acc = shared.lock();
        let checked = precheck(&method, &headers, &acc.token);
        acc.calls.push(RecordedCall {
            endpoint: endpoint.clone(),
            query: pairs.clone().unwrap_or_default(),
            status: 0,
            at: SystemTime::now(),
        });
        let fault = match checked {
            Ok(()) => acc.faults.get_mut(&endpoint).and_then(|q| q.pop_front()),
            Err(_) => None,
        };
        (acc.calls.len() - 1, checked, fault)
    };
    let response = match (checked, fault) {
        (Err(e), _) => error(&e),
        (Ok(()), Some(FakeFault::RateLimited { reset_secs })) => {
            let body = ApiError {
                status: 429,
                code: 2020,
                message: "Rate Limit Exceeded",
                errors: Vec::new(),
            };
            let mut r = error(&body);
            if let Ok(v) = reset_secs.to_string().parse() {
                r.headers_mut().insert("ratelimit-reset", v);
            }
            r
        }
        (Ok(()), Some(FakeFault::Status(500))) => error(&ApiError {
            status: 500,
            code: 2000,
            message: "Internal Error",
            errors: Vec::new(),
        }),
        (Ok(()), Some(FakeFault::Status(code))) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, "<html><body>fake pagerduty: injected failure</body></html>").into_response()
        }
        (Ok(()), fault) => {
            if let Some(FakeFault::Delay(ms)) = fault {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            answer(&shared, &endpoint, pairs)
        }
    };
    if let Some(call) = shared.lock().calls.get_mut(index) {
        call.status = response.status().as_u16();
    }
    shared.bump();
    response
}

fn answer(
    shared: &Shared,
    endpoint: &str,
    pairs: Result<Vec<(String, String)>, serde_urlencoded::de::Error>,
) -> Response {
    let Ok(pairs) = pairs else {
        return error(&api::invalid("malformed query string"));
    };
    let acc = shared.lock();
    let result = match endpoint {
        "users" => api::users(&acc, &pairs),
        "oncalls" => api::oncalls(&acc, &pairs, chrono::Utc::now()),
        _ => Err(ApiError { status: 404, code: 2100, message: "Not Found", errors: Vec::new() }),
    };
    match result {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(e) => error(&e),
    }
}
