//! The fake Slack's HTTP face: `/api/{method}` (Web API) and `/hooks/commands/...`
//! (slash-command `response_url`s), on an axum router.
//!
//! Owns authentication (`Authorization: Bearer`, or a `token` form field, as Slack accepts),
//! body parsing (JSON, form, query string), call recording and fault injection. It must not
//! hold method rules: those are in `spec` (argument types, from Slack's spec) and `methods`
//! (`views` for `views.publish`, `modal` for `views.open`, and Socket Mode's in `socket`, whose
//! WebSocket is served here at `/socket/{ticket}`).

use super::methods::{self, ApiFailure};
use super::modal;
use super::socket;
use super::spec;
use super::state::{EphemeralSource, FakeFault, RecordedCall, Workspace};
use super::views;
use super::Shared;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How many times Slack accepts a post to one response_url.
pub const RESPONSE_URL_USES: u32 = 5;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{method}", any(api))
        .route("/hooks/commands/{team}/{id}", post(hook))
        .route("/socket/{ticket}", get(socket::upgrade))
        .with_state(shared)
}

fn slack_json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn failure(f: &ApiFailure) -> Value {
    let mut body = json!({ "ok": false, "error": f.code });
    if f.code == "invalid_arguments" {
        // Slack explains argument errors in `response_metadata.messages`.
        body["response_metadata"] = json!({ "messages": f.errors });
    } else if !f.errors.is_empty() {
        body["errors"] = json!(f.errors);
    }
    body
}

/// Query string and body merged into one JSON object, as Slack reads them.
fn parse_params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, &'static str> {
    let mut params = Map::new();
    let mut add_pairs = |text: &str| -> Result<(), &'static str> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(text).map_err(|_| "invalid_form_data")?;
        for (k, v) in pairs {
            params.insert(k, Value::String(v));
        }
        Ok(())
    };
    if let Some(q) = query {
        add_pairs(q)?;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if body.is_empty() {
        return Ok(params);
    }
    if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body).map_err(|_| "invalid_json")?;
        let Value::Object(obj) = value else {
            return Err("json_not_object");
        };
        params.extend(obj);
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        add_pairs(std::str::from_utf8(body).map_err(|_| "invalid_form_data")?)?;
    } else {
        return Err("invalid_post_type");
    }
    Ok(params)
}

async fn api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = match parse_params(&headers, query.as_deref(), &body) {
        Ok(p) => p,
        Err(code) => return slack_json(StatusCode::OK, json!({ "ok": false, "error": code })),
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    // Slack reads a `token` argument from a form body or the query string, never from JSON.
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    let form_token = params
        .remove("token")
        .and_then(|t| t.as_str().map(str::to_string))
        .filter(|_| !is_json || query.as_deref().is_some_and(|q| q.contains("token=")));
    let presented = bearer.or(form_token);

    let (index, fault) = {
        let mut ws = shared.lock();
        let auth_error =
            socket::auth_error(&method, presented.as_deref(), &ws.token, &shared.app_token);
        ws.calls.push(RecordedCall {
            method: method.clone(),
            params: Value::Object(params.clone()),
            json_body: is_json,
            at: SystemTime::now(),
            outcome: auth_error.unwrap_or("pending").to_string(),
        });
        let index = ws.calls.len() - 1;
        if let Some(code) = auth_error {
            drop(ws);
            shared.bump();
            return slack_json(StatusCode::OK, json!({ "ok": false, "error": code }));
        }
        let fault = ws.faults.get_mut(&method).and_then(|q| q.pop_front());
        (index, fault)
    };
    // The call is on record (pending): waiters may be looking for a call in flight.
    shared.bump();

    let early = match fault {
        Some(FakeFault::Delay(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            None
        }
        Some(FakeFault::RateLimited { retry_after_secs }) => Some((
            "http_429".to_string(),
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
                Json(json!({ "ok": false, "error": "ratelimited" })),
            )
                .into_response(),
        )),
        Some(FakeFault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some((format!("http_{code}"), (status, "fake slack: injected failure").into_response()))
        }
        Some(FakeFault::Error(code)) => {
            Some((code.clone(), slack_json(StatusCode::OK, json!({ "ok": false, "error": code }))))
        }
        None => None,
    };
    let response = match early {
        Some((outcome, response)) => {
            settle(&mut shared.lock(), index, outcome);
            response
        }
        None if method == socket::OPEN_METHOD => {
            let body = socket::open_connection(&shared);
            let mut ws = shared.lock();
            answer(&mut ws, index, Ok(body))
        }
        None => {
            // The method's effect and its outcome land under one lock: whoever sees the
            // message also sees the call answered (never a "pending" call behind it).
            let mut ws = shared.lock();
            let result =
                spec::check(&method, &params, is_json).and_then(|()| match method.as_str() {
                    "views.publish" => views::publish_home(&mut ws, &params),
                    "views.open" => modal::open(&mut ws, &params),
                    _ => methods::dispatch(&mut ws, &method, &params),
                });
            answer(&mut ws, index, result)
        }
    };
    shared.bump();
    response
}

/// Records the outcome of call `index` and builds Slack's answer.
fn answer(ws: &mut Workspace, index: usize, result: Result<Value, ApiFailure>) -> Response {
    let (outcome, response) = match result {
        Ok(mut body) => {
            body["ok"] = Value::Bool(true);
            ("ok".to_string(), slack_json(StatusCode::OK, body))
        }
        Err(f) => (f.code.clone(), slack_json(StatusCode::OK, failure(&f))),
    };
    settle(ws, index, outcome);
    response
}

fn settle(ws: &mut Workspace, index: usize, outcome: String) {
    if let Some(call) = ws.calls.get_mut(index) {
        call.outcome = outcome;
    }
}

/// A post to a slash command's response_url: shown to the user (ephemeral) or, with
/// `response_type: in_channel`, to the channel. At most five uses, as in Slack.
async fn hook(
    State(shared): State<Arc<Shared>>,
    Path((_team, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(params)) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    let response = {
        let mut ws = shared.lock();
        let Some(hook) = ws.hooks.get(&id).cloned() else {
            return (StatusCode::NOT_FOUND, "expired_url").into_response();
        };
        if hook.uses >= RESPONSE_URL_USES {
            return (StatusCode::NOT_FOUND, "used_url").into_response();
        }
        match methods::content(&params) {
            Err(f) => (StatusCode::BAD_REQUEST, f.code).into_response(),
            Ok((text, blocks)) => {
                let in_channel =
                    params.get("response_type").and_then(Value::as_str) == Some("in_channel");
                ws.show_command_reply(
                    &hook.channel,
                    &hook.user,
                    text,
                    blocks,
                    in_channel,
                    EphemeralSource::ResponseUrl,
                );
                if let Some(h) = ws.hooks.get_mut(&id) {
                    h.uses += 1;
                    h.posts.push(Value::Object(params));
                }
                (StatusCode::OK, "ok").into_response()
            }
        }
    };
    shared.bump();
    response
}
