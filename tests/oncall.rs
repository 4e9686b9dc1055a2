//! On-call lookups against the strict fake PagerDuty (and the fake Slack for the email): on
//! call, not on call, elsewhere on call, an ended shift, an unknown email, 5xx, 429, a bad key,
//! a slow PagerDuty, bounded pagination; and the `[pagerduty]` configuration's checks.
//! Only `OnCall` ever approves; every failure is `Unknown`.

use chrono::{Duration as Span, Utc};
use pagerduty_fake::{FakeFault, FakePagerDuty};
use pgroles::config::Config;
use pgroles::oncall::{OnCallAnswer, PagerDuty};
use secrecy::SecretString;
use slack_fake::FakeSlack;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const SCHEDULE: &str = "PSCHED1";
const ALICE_EMAIL: &str = "alice@example.com";

struct World {
    fake: FakePagerDuty,
    alice: String,
}

async fn world() -> World {
    let fake = FakePagerDuty::start().await.expect("fake starts");
    let alice = fake.add_user("Alice Ops", ALICE_EMAIL);
    // A substring match of Alice's email: the client must not take it for her.
    let malice = fake.add_user("Malice", "malice@example.com");
    let now = Utc::now();
    fake.add_oncall(&malice, SCHEDULE, now - Span::hours(1), now + Span::hours(1));
    World { fake, alice }
}

fn client(fake: &FakePagerDuty, timeout: Duration) -> PagerDuty {
    PagerDuty::new(&fake.api_url(), &SecretString::from(fake.token()), timeout).expect("client")
}

fn schedules(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn check(w: &World, email: &str, ids: &[&str]) -> OnCallAnswer {
    client(&w.fake, Duration::from_secs(5)).check(email, &schedules(ids), Utc::now()).await
}

#[tokio::test]
async fn a_requester_on_call_in_a_configured_schedule_is_on_call() {
    let w = world().await;
    let now = Utc::now();
    w.fake.add_oncall(&w.alice, SCHEDULE, now - Span::minutes(5), now + Span::hours(8));
    let answer = check(&w, "Alice@Example.com", &["POTHER1", SCHEDULE]).await;
    assert_eq!(answer, OnCallAnswer::OnCall { schedule: SCHEDULE.into() });
    let oncalls = w.fake.calls("oncalls");
    assert_eq!(oncalls.len(), 1);
    let q = &oncalls[0].query;
    assert!(q.contains(&("user_ids[]".into(), w.alice.clone())), "{q:?}");
    assert!(q.contains(&("schedule_ids[]".into(), SCHEDULE.into())), "{q:?}");
    assert!(q.contains(&("schedule_ids[]".into(), "POTHER1".into())), "{q:?}");
    assert!(w.fake.all_calls().iter().all(|c| c.status == 200));
}

#[tokio::test]
async fn a_requester_not_on_call_is_not_on_call() {
    let w = world().await;
    assert_eq!(check(&w, ALICE_EMAIL, &[SCHEDULE]).await, OnCallAnswer::NotOnCall);
}

#[tokio::test]
async fn on_call_elsewhere_or_in_an_ended_shift_does_not_count() {
    let w = world().await;
    let now = Utc::now();
    w.fake.add_oncall(&w.alice, "POTHER1", now - Span::hours(1), now + Span::hours(1));
    w.fake.add_oncall(&w.alice, SCHEDULE, now - Span::hours(9), now - Span::hours(1));
    w.fake.add_oncall(&w.alice, SCHEDULE, now + Span::hours(1), now + Span::hours(9));
    assert_eq!(check(&w, ALICE_EMAIL, &[SCHEDULE]).await, OnCallAnswer::NotOnCall);
}

#[tokio::test]
async fn an_email_pagerduty_does_not_know_is_not_on_call() {
    let w = world().await;
    // "lice@example.com" matches Alice and Malice as a substring, but neither exactly.
    assert_eq!(check(&w, "lice@example.com", &[SCHEDULE]).await, OnCallAnswer::NotOnCall);
    assert_eq!(check(&w, "nobody@example.com", &[SCHEDULE]).await, OnCallAnswer::NotOnCall);
    assert!(w.fake.calls("oncalls").is_empty(), "no user, no on-call lookup");
    let odd = check(&w, "alice@example.com\r\nX-Injected: 1", &[SCHEDULE]).await;
    assert_eq!(odd, OnCallAnswer::Unknown { reason: "invalid_email" });
}

#[tokio::test]
async fn server_errors_rate_limits_and_a_bad_key_are_unknown() {
    let w = world().await;
    let now = Utc::now();
    w.fake.add_oncall(&w.alice, SCHEDULE, now - Span::hours(1), now + Span::hours(1));
    for (endpoint, fault, reason) in [
        ("users", FakeFault::Status(500), "server_error"),
        ("oncalls", FakeFault::Status(503), "server_error"),
        ("oncalls", FakeFault::RateLimited { reset_secs: 30 }, "rate_limited"),
    ] {
        w.fake.fail_next(endpoint, fault, 1);
        assert_eq!(check(&w, ALICE_EMAIL, &[SCHEDULE]).await, OnCallAnswer::Unknown { reason });
    }
    let wrong = PagerDuty::new(&w.fake.api_url(), &"wrong-key".into(), Duration::from_secs(5))
        .expect("client");
    let answer = wrong.check(ALICE_EMAIL, &schedules(&[SCHEDULE]), Utc::now()).await;
    assert_eq!(answer, OnCallAnswer::Unknown { reason: "unauthorized" });
    // With the faults gone, the same person is on call: the failures were not cached.
    assert!(check(&w, ALICE_EMAIL, &[SCHEDULE]).await.approving_schedule().is_some());
}

#[tokio::test]
async fn a_slow_pagerduty_is_unknown_within_the_deadline() {
    let w = world().await;
    let now = Utc::now();
    w.fake.add_oncall(&w.alice, SCHEDULE, now - Span::hours(1), now + Span::hours(1));
    // Each answer alone fits in the deadline; together they do not: the deadline is overall.
    w.fake.fail_next("users", FakeFault::Delay(250), 1);
    w.fake.fail_next("oncalls", FakeFault::Delay(250), 1);
    let started = Instant::now();
    let answer = client(&w.fake, Duration::from_millis(400))
        .check(ALICE_EMAIL, &schedules(&[SCHEDULE]), Utc::now())
        .await;
    assert_eq!(answer, OnCallAnswer::Unknown { reason: "timeout" });
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn pagination_is_followed_but_bounded() {
    let fake = FakePagerDuty::start().await.expect("fake starts");
    for i in 0..150 {
        fake.add_user(&format!("Ops {i}"), &format!("ops{i:03}.alice@example.com"));
    }
    let alice = fake.add_user("Alice", ALICE_EMAIL);
    let now = Utc::now();
    fake.add_oncall(&alice, SCHEDULE, now - Span::hours(1), now + Span::hours(1));
    let pd = client(&fake, Duration::from_secs(5));
    let answer = pd.check(ALICE_EMAIL, &schedules(&[SCHEDULE]), now).await;
    assert_eq!(answer, OnCallAnswer::OnCall { schedule: SCHEDULE.into() });
    assert_eq!(fake.calls("users").len(), 2, "Alice is on the second page");

    let far = FakePagerDuty::start().await.expect("fake starts");
    for i in 0..600 {
        far.add_user(&format!("Ops {i}"), &format!("ops{i:03}.alice@example.com"));
    }
    far.add_user("Alice", ALICE_EMAIL);
    let pd = client(&far, Duration::from_secs(5));
    let answer = pd.check(ALICE_EMAIL, &schedules(&[SCHEDULE]), now).await;
    assert_eq!(answer, OnCallAnswer::Unknown { reason: "too_many_pages" });
    assert_eq!(far.calls("users").len(), 5);
}

#[tokio::test]
async fn the_email_comes_from_slack_users_info() {
    let slack = FakeSlack::start().await.expect("fake slack");
    slack.set_user_email("U0ALICE001", ALICE_EMAIL);
    slack.add_users(&["U0NOMAIL01"]);
    let api = pgroles::slack::client::SlackApi::new(
        &slack.api_url(),
        &SecretString::from(slack.bot_token()),
    )
    .expect("client");
    assert_eq!(api.user_email("U0ALICE001").await.unwrap().as_deref(), Some(ALICE_EMAIL));
    assert_eq!(api.user_email("U0NOMAIL01").await.unwrap(), None);
    assert_eq!(api.user_email("U0GHOST001").await.unwrap_err().code, "user_not_found");

    let w = world().await;
    w.fake.add_oncall(&w.alice, SCHEDULE, Utc::now() - Span::hours(1), Utc::now() + Span::hours(1));
    let email = api.user_email("U0ALICE001").await.unwrap().expect("email");
    assert!(check(&w, &email, &[SCHEDULE]).await.approving_schedule().is_some());
}

#[test]
fn the_key_stays_out_of_debug_output() {
    let pd = PagerDuty::new("https://api.pagerduty.com", &"pd-SECRET-key".into(), Duration::ZERO)
        .expect("client");
    assert!(!format!("{pd:?}").contains("pd-SECRET-key"));
    assert!(PagerDuty::new("http://pagerduty.example.com", &"k".into(), Duration::ZERO).is_err());
}

const SERVE_ENV: &[(&str, &str)] = &[
    ("PGROLES_SLACK_BOT_TOKEN", "xoxb-test-bot-token"),
    ("PGROLES_SLACK_SIGNING_SECRET", "test-signing-secret"),
    ("PGROLES_SLACK_AUDIT_CHANNEL", "C0AUDIT"),
    ("PGROLES_ACCESS_APPROVERS", "U0ALICE,U0BOB"),
    ("PGROLES_DATABASE_PASSWORD", "broker-password"),
    ("PGROLES_DATABASE_SSLMODE", "disable"),
];

fn serve_check(extra: &[(&str, &str)]) -> Result<Config, String> {
    let env: HashMap<String, String> =
        SERVE_ENV.iter().chain(extra).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::load(None, &env).map_err(|e| e.to_string())?.config;
    config.validate_for_serve().map_err(|e| e.to_string())?;
    Ok(config)
}

#[test]
fn auto_approval_config_is_checked_and_the_key_may_come_from_a_file() {
    assert!(serve_check(&[]).is_ok(), "no schedules, no PagerDuty needed");
    let ro = ("PGROLES_ACCESS_AUTO_APPROVE_RO_SCHEDULES", "PSCHED1,PSCHED2");
    let err = serve_check(&[ro]).unwrap_err();
    assert!(err.starts_with("missing pagerduty.token"), "{err}");
    assert!(err.contains("PGROLES_PAGERDUTY_TOKEN_FILE"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pd");
    std::fs::write(&file, "pd-file-key\n").expect("write");
    let token_file = ("PGROLES_PAGERDUTY_TOKEN_FILE", file.to_str().expect("utf-8"));
    let config = serve_check(&[ro, token_file]).expect("valid");
    assert_eq!(config.access.auto_approve_ro_schedules, ["PSCHED1", "PSCHED2"]);
    assert!(PagerDuty::from_config(&config.pagerduty).expect("builds").is_some());

    let token = ("PGROLES_PAGERDUTY_TOKEN", "k");
    for (extra, key) in [
        (
            ("PGROLES_ACCESS_AUTO_APPROVE_RW_SCHEDULES", "psched1"),
            "access.auto_approve_rw_schedules",
        ),
        (("PGROLES_ACCESS_AUTO_APPROVE_RW_SCHEDULES", "P1,P1"), "access.auto_approve_rw_schedules"),
        (("PGROLES_PAGERDUTY_API_URL", "http://pd.example.com"), "pagerduty.api_url"),
        (("PGROLES_PAGERDUTY_API_URL", "https://pd.example.com/?a=b"), "pagerduty.api_url"),
        (("PGROLES_PAGERDUTY_TIMEOUT_MS", "60000"), "pagerduty.timeout_ms"),
    ] {
        let err = serve_check(&[ro, token, extra]).unwrap_err();
        assert!(err.starts_with(&format!("invalid {key}")), "{extra:?}: {err}");
    }
    let many = (0..21).map(|i| format!("P{i:06}")).collect::<Vec<_>>().join(",");
    let err = serve_check(&[("PGROLES_ACCESS_AUTO_APPROVE_RO_SCHEDULES", &many), token]);
    assert!(err.unwrap_err().contains("at most 20"));
    let bad_key = ("PGROLES_PAGERDUTY_TOKEN", "has space");
    assert!(serve_check(&[ro, bad_key]).unwrap_err().starts_with("missing pagerduty.token"));
}
