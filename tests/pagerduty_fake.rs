//! The fake PagerDuty refuses what PagerDuty's REST API v2 refuses (API key, versioning header,
//! malformed arguments, pagination bounds) and answers in its shapes: paginated lists, error
//! bodies, 429 and 5xx faults, slow answers.

use chrono::{Duration as Span, Utc};
use pagerduty_fake::{FakeFault, FakePagerDuty, ACCEPT_V2, MAX_LIMIT};
use serde_json::Value;
use std::time::{Duration, Instant};

async fn get(fake: &FakePagerDuty, path_and_query: &str) -> (u16, Value) {
    get_with(fake, path_and_query, &format!("Token token={}", fake.token()), ACCEPT_V2).await
}

async fn get_with(
    fake: &FakePagerDuty,
    path_and_query: &str,
    auth: &str,
    accept: &str,
) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path_and_query}", fake.api_url()))
        .header("authorization", auth)
        .header("accept", accept)
        .header("content-type", "application/json")
        .send()
        .await
        .expect("fake answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn account() -> (FakePagerDuty, String) {
    let fake = FakePagerDuty::start().await.expect("fake starts");
    let alice = fake.add_user("Alice Ops", "alice@example.com");
    fake.add_user("Malice", "malice@example.com");
    let now = Utc::now();
    fake.add_oncall(&alice, "PSCHED1", now - Span::hours(1), now + Span::hours(1));
    (fake, alice)
}

#[tokio::test]
async fn a_wrong_or_missing_api_key_is_401_with_pagerdutys_error_body() {
    let (fake, _) = account().await;
    for auth in ["Token token=wrong", "Bearer y_NbAkKc66ryYTWUXYEu", ""] {
        let (status, body) = get_with(&fake, "/users", auth, ACCEPT_V2).await;
        assert_eq!(status, 401, "{auth}");
        assert_eq!(body["error"]["code"], 2006);
        assert_eq!(body["error"]["message"], "Authentication failed");
    }
    let calls = fake.calls("users");
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| c.status == 401));
}

#[tokio::test]
async fn the_version_header_is_required() {
    let (fake, _) = account().await;
    let auth = format!("Token token={}", fake.token());
    for accept in ["application/json", "application/vnd.pagerduty+json;version=1"] {
        let (status, body) = get_with(&fake, "/users", &auth, accept).await;
        assert_eq!(status, 400, "{accept}");
        assert_eq!(body["error"]["code"], 2001);
    }
}

#[tokio::test]
async fn users_query_matches_substrings_of_names_and_emails() {
    let (fake, alice) = account().await;
    let (status, body) = get(&fake, "/users?query=alice%40example.com").await;
    assert_eq!(status, 200);
    let emails: Vec<&str> =
        body["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    // PagerDuty's search is a substring match: the client must pick the exact email itself.
    assert_eq!(emails, ["alice@example.com", "malice@example.com"]);
    assert_eq!(body["users"][0]["id"], Value::String(alice));
    assert_eq!((body["limit"].as_u64(), body["offset"].as_u64()), (Some(25), Some(0)));
    assert_eq!(body["more"], false);
    assert_eq!(body["total"], Value::Null, "total is null unless asked for");
}

#[tokio::test]
async fn pagination_caps_the_page_and_bounds_the_depth() {
    let fake = FakePagerDuty::start().await.unwrap();
    for i in 0..120 {
        fake.add_user(&format!("User {i}"), &format!("u{i}@example.com"));
    }
    let (_, body) = get(&fake, "/users?limit=500&total=true").await;
    assert_eq!(body["limit"].as_u64(), Some(MAX_LIMIT));
    assert_eq!(body["users"].as_array().unwrap().len(), 100);
    assert_eq!((body["more"].clone(), body["total"].clone()), (Value::Bool(true), 120.into()));
    let (_, body) = get(&fake, "/users?limit=100&offset=100").await;
    assert_eq!(body["users"].as_array().unwrap().len(), 20);
    assert_eq!(body["more"], false);
    for bad in ["limit=0", "limit=ten", "offset=-1", "offset=9950&limit=100", "total=yes"] {
        let (status, body) = get(&fake, &format!("/users?{bad}")).await;
        assert_eq!((status, body["error"]["code"].clone()), (400, 2001.into()), "{bad}");
    }
}

#[tokio::test]
async fn oncalls_filter_by_the_array_parameters_only() {
    let (fake, alice) = account().await;
    let q = format!("/oncalls?schedule_ids%5B%5D=PSCHED1&user_ids%5B%5D={alice}");
    let (status, body) = get(&fake, &q).await;
    assert_eq!(status, 200);
    assert_eq!(body["oncalls"].as_array().unwrap().len(), 1);
    assert_eq!(body["oncalls"][0]["schedule"]["id"], "PSCHED1");
    assert_eq!(body["oncalls"][0]["user"]["type"], "user_reference");

    let (_, body) =
        get(&fake, &format!("/oncalls?schedule_ids%5B%5D=POTHER1&user_ids%5B%5D={alice}")).await;
    assert_eq!(body["oncalls"].as_array().unwrap().len(), 0);
    // `schedule_ids` without `[]` is not a parameter of /oncalls: PagerDuty ignores it.
    let (_, body) =
        get(&fake, &format!("/oncalls?schedule_ids=POTHER1&user_ids%5B%5D={alice}")).await;
    assert_eq!(body["oncalls"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn oncalls_check_the_time_range() {
    let (fake, alice) = account().await;
    let later = (Utc::now() + Span::hours(3)).to_rfc3339();
    let q = format!("/oncalls?user_ids%5B%5D={alice}&since={}&until={}", enc(&later), enc(&later));
    let (status, body) = get(&fake, &q).await;
    assert_eq!(status, 200);
    assert_eq!(body["oncalls"].as_array().unwrap().len(), 0, "the shift ended by then");

    let now = Utc::now().to_rfc3339();
    let far = (Utc::now() + Span::days(91)).to_rfc3339();
    for bad in [
        format!("since=yesterday&until={}", enc(&now)),
        format!("since={}&until={}", enc(&later), enc(&now)),
        format!("since={}&until={}", enc(&now), enc(&far)),
        "earliest=maybe".to_string(),
        "include%5B%5D=passwords".to_string(),
    ] {
        let (status, body) = get(&fake, &format!("/oncalls?{bad}")).await;
        assert_eq!((status, body["error"]["code"].clone()), (400, 2001.into()), "{bad}");
        assert!(body["error"]["errors"].is_array());
    }
}

fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn faults_are_answered_as_pagerduty_and_its_edge_answer() {
    let (fake, _) = account().await;
    fake.fail_next("users", FakeFault::Status(500), 1);
    fake.fail_next("users", FakeFault::Status(503), 1);
    fake.fail_next("users", FakeFault::RateLimited { reset_secs: 7 }, 1);
    fake.fail_next("users", FakeFault::Delay(300), 1);
    let (status, body) = get(&fake, "/users").await;
    assert_eq!((status, body["error"]["code"].clone()), (500, 2000.into()));
    let (status, body) = get(&fake, "/users").await;
    assert_eq!(status, 503);
    assert!(body.is_string(), "the edge answers in HTML, not JSON");
    let (status, body) = get(&fake, "/users").await;
    assert_eq!((status, body["error"]["code"].clone()), (429, 2020.into()));
    let started = Instant::now();
    let (status, _) = get(&fake, "/users").await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let statuses: Vec<u16> = fake.calls("users").iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 503, 429, 200]);
}

#[tokio::test]
async fn other_paths_and_methods_are_not_found() {
    let (fake, _) = account().await;
    let (status, body) = get(&fake, "/schedules").await;
    assert_eq!((status, body["error"]["code"].clone()), (404, 2100.into()));
    let resp = reqwest::Client::new()
        .post(format!("{}/users", fake.api_url()))
        .header("authorization", format!("Token token={}", fake.token()))
        .header("accept", ACCEPT_V2)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
