//! The endpoint rules of the fake: `GET /users` and `GET /oncalls` as PagerDuty's REST API v2
//! reference (`reference/REST/openapiv3.json` in github.com/PagerDuty/api-schema) describes them.
//!
//! Owns the query parameters each endpoint reads, their checks (which 400 for which mistake),
//! filtering and classic pagination (`limit`/`offset`/`more`/`total`). It must not know HTTP;
//! `server` hands it the parsed query and turns the result into a response.
//!
//! As in PagerDuty, parameters an endpoint does not name are ignored: `schedule_ids=X` (without
//! the `[]`) filters nothing, so a client that spells the array wrong sees every on-call, as it
//! would in production.

use super::state::{Account, FakeOnCall, FakeUser};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

/// Classic pagination: the default page, the largest page (a larger `limit` is answered with
/// this one, echoed in `limit`), and the deepest record reachable (`offset + limit`).
pub const DEFAULT_LIMIT: u64 = 25;
pub const MAX_LIMIT: u64 = 100;
pub const MAX_OFFSET_PLUS_LIMIT: u64 = 10_000;
/// On-call shifts are computed at most 90 days into the future.
pub const MAX_FUTURE_DAYS: i64 = 90;

const USER_INCLUDES: &[&str] = &["contact_methods", "notification_rules", "teams", "subdomains"];
const ONCALL_INCLUDES: &[&str] = &["escalation_policies", "users", "schedules"];

/// A PagerDuty error answer: the HTTP status and the body's `error` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: u32,
    pub message: &'static str,
    pub errors: Vec<String>,
}

impl ApiError {
    pub fn body(&self) -> Value {
        let mut error = json!({ "message": self.message, "code": self.code });
        if !self.errors.is_empty() {
            error["errors"] = json!(self.errors);
        }
        json!({ "error": error })
    }
}

/// 400, code 2001: what PagerDuty answers for a malformed argument.
pub(crate) fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError {
        status: 400,
        code: 2001,
        message: "Invalid Input Provided",
        errors: vec![detail.into()],
    }
}

type Query = [(String, String)];

fn last<'q>(q: &'q Query, name: &str) -> Option<&'q str> {
    q.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn all<'q>(q: &'q Query, name: &str) -> Vec<&'q str> {
    q.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

fn boolean(q: &Query, name: &str) -> Result<bool, ApiError> {
    match last(q, name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(invalid(format!("{name} must be true or false"))),
    }
}

fn includes(q: &Query, allowed: &[&str]) -> Result<(), ApiError> {
    for v in all(q, "include[]") {
        if !allowed.contains(&v) {
            return Err(invalid(format!("include[] must be one of {}", allowed.join(", "))));
        }
    }
    Ok(())
}

struct Page {
    limit: u64,
    offset: u64,
    total: bool,
}

fn page(q: &Query) -> Result<Page, ApiError> {
    let number = |name: &str, default: u64| -> Result<u64, ApiError> {
        match last(q, name) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().map_err(|_| invalid(format!("{name} must be an integer"))),
        }
    };
    let limit = number("limit", DEFAULT_LIMIT)?;
    if limit == 0 {
        return Err(invalid("limit must be greater than 0"));
    }
    let limit = limit.min(MAX_LIMIT);
    let offset = number("offset", 0)?;
    if offset.saturating_add(limit) > MAX_OFFSET_PLUS_LIMIT {
        return Err(invalid(format!("offset + limit must not exceed {MAX_OFFSET_PLUS_LIMIT}")));
    }
    Ok(Page { limit, offset, total: boolean(q, "total")? })
}

fn paginated<T>(key: &str, items: Vec<T>, p: &Page, render: impl Fn(&T) -> Value) -> Value {
    let total = items.len() as u64;
    let shown: Vec<Value> =
        items.iter().skip(p.offset as usize).take(p.limit as usize).map(render).collect();
    let more = p.offset + (shown.len() as u64) < total;
    json!({
        key: shown, "limit": p.limit, "offset": p.offset, "more": more,
        "total": if p.total { json!(total) } else { Value::Null },
    })
}

fn reference(kind: &str, path: &str, id: &str, summary: &str) -> Value {
    json!({
        "id": id, "type": format!("{kind}_reference"), "summary": summary,
        "self": format!("https://api.pagerduty.com/{path}/{id}"),
        "html_url": format!("https://fake.pagerduty.com/{path}/{id}"),
    })
}

fn user_json(u: &FakeUser) -> Value {
    json!({
        "id": u.id, "type": "user", "summary": u.name, "name": u.name, "email": u.email,
        "self": format!("https://api.pagerduty.com/users/{}", u.id),
        "html_url": format!("https://fake.pagerduty.com/users/{}", u.id),
        "time_zone": "Etc/UTC", "role": "user", "invitation_sent": false,
    })
}

/// `GET /users`: `query` matches a substring of the name or the email, case-insensitively, as
/// PagerDuty's search does; an exact email match is the client's business.
pub fn users(acc: &Account, q: &Query) -> Result<Value, ApiError> {
    includes(q, USER_INCLUDES)?;
    let p = page(q)?;
    let needle = last(q, "query").unwrap_or_default().to_lowercase();
    let found: Vec<&FakeUser> = acc
        .users
        .iter()
        .filter(|u| {
            needle.is_empty()
                || u.name.to_lowercase().contains(&needle)
                || u.email.to_lowercase().contains(&needle)
        })
        .collect();
    Ok(paginated("users", found, &p, |u| user_json(u)))
}

fn instant(q: &Query, name: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    match last(q, name) {
        None => Ok(now),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| invalid(format!("{name} must be an ISO 8601 date-time"))),
    }
}

/// `GET /oncalls`: entries overlapping `[since, until]` (both default to now), filtered by
/// `user_ids[]`, `schedule_ids[]` and `escalation_policy_ids[]`.
pub fn oncalls(acc: &Account, q: &Query, now: DateTime<Utc>) -> Result<Value, ApiError> {
    includes(q, ONCALL_INCLUDES)?;
    let p = page(q)?;
    boolean(q, "earliest")?;
    let since = instant(q, "since", now)?;
    let until = instant(q, "until", now)?;
    if until < since {
        return Err(invalid("until must not be before since"));
    }
    if until > now + Duration::days(MAX_FUTURE_DAYS) {
        return Err(invalid(format!("until must be within {MAX_FUTURE_DAYS} days from now")));
    }
    let users = all(q, "user_ids[]");
    let schedules = all(q, "schedule_ids[]");
    let policies = all(q, "escalation_policy_ids[]");
    let keep = |o: &&FakeOnCall| {
        (users.is_empty() || users.contains(&o.user_id.as_str()))
            && (schedules.is_empty() || schedules.contains(&o.schedule_id.as_str()))
            && (policies.is_empty() || policies.contains(&o.escalation_policy_id.as_str()))
            && o.start <= until
            && o.end >= since
    };
    let found: Vec<&FakeOnCall> = acc.oncalls.iter().filter(keep).collect();
    let name_of = |id: &str| {
        acc.users.iter().find(|u| u.id == id).map(|u| u.name.clone()).unwrap_or_default()
    };
    Ok(paginated("oncalls", found, &p, |o| {
        json!({
            "user": reference("user", "users", &o.user_id, &name_of(&o.user_id)),
            "schedule": reference("schedule", "schedules", &o.schedule_id, "Schedule"),
            "escalation_policy": reference(
                "escalation_policy", "escalation_policies", &o.escalation_policy_id, "Policy"),
            "escalation_level": o.escalation_level,
            "start": o.start.to_rfc3339(),
            "end": o.end.to_rfc3339(),
        })
    }))
}
