//! Issue 11 (part A): the broker's functions against a hostile caller. Every test logs in over
//! real SCRAM TCP as the broker (or a firefighter) on each cluster in `PGROLES_TEST_PG` and
//! checks what the catalog holds: `rolvaliduntil`, the `rolpassword` prefix, `pg_db_role_setting`
//! and `pg_auth_members`. Findings are numbered as in the issue (sql/README.md maps them):
//! `validity` (1, 6), `secrets` (2, 3, 4), `cleanup` (5, 9); issue 15: `person`,
//! `person_sessions`, `activity`. This file holds the shared helpers.

#![recursion_limit = "256"]

#[path = "../support/mod.rs"]
mod support;

mod activity;
mod bounds;
mod cleanup;
mod person;
mod person_sessions;
mod sabotage;
mod secrets;
mod validity;

use chrono::{DateTime, Duration, Utc};
use support::model::db_message;
use tokio_postgres::Client;

/// A 40-character plaintext, as the issue used.
pub const PLAINTEXT: &str = "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ";

pub const DATE_STYLES: [&str; 4] = ["ISO", "SQL", "German", "Postgres"];
pub const DATE_ORDERS: [&str; 3] = ["MDY", "DMY", "YMD"];
pub const TIME_ZONES: [&str; 5] =
    ["UTC", "CST-167", "Asia/Shanghai", "America/St_Johns", "Pacific/Kiritimati"];

/// The role's `rolvaliduntil` (`None`: NULL or infinity) and `rolpassword`, read as superuser.
pub async fn role_state(su: &Client, role: &str) -> (Option<DateTime<Utc>>, Option<String>) {
    let row = su
        .query_one(
            "SELECT CASE WHEN rolvaliduntil = 'infinity' THEN NULL ELSE rolvaliduntil END, \
             rolpassword FROM pg_authid WHERE rolname = $1",
            &[&role],
        )
        .await
        .expect("read pg_authid");
    (row.get(0), row.get(1))
}

/// A verifier in PostgreSQL's own shape with `iterations`, for `password`.
pub fn verifier_with(iterations: u32) -> String {
    let v = postgres_protocol::password::scram_sha_256(PLAINTEXT.as_bytes());
    v.replacen("SCRAM-SHA-256$4096:", &format!("SCRAM-SHA-256${iterations}:"), 1)
}

/// Calls the design's 3-argument function; returns the server's message on failure.
pub async fn set_hours(
    broker: &Client,
    role: &str,
    secret: &str,
    hours: i32,
) -> Result<(), String> {
    broker
        .query_one(
            "SELECT db_admin.set_firefighter_password($1, $2, $3)",
            &[&role, &secret, &hours],
        )
        .await
        .map(drop)
        .map_err(|e| db_message(&e))
}

/// Calls the bot's minute-precision overload with a planned end.
pub async fn set_until(
    broker: &Client,
    role: &str,
    secret: &str,
    end: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    broker
        .query_one(
            "SELECT db_admin.set_firefighter_password($1, $2, $3::timestamptz, 'INC-11', 'U1', \
             ARRAY['U2'])",
            &[&role, &secret, &end],
        )
        .await
        .map(|r| r.get(0))
        .map_err(|e| db_message(&e))
}

/// `until` lies in `[end, end + 1 min]`.
pub fn within_a_minute_after(until: Option<DateTime<Utc>>, end: DateTime<Utc>) -> bool {
    until.is_some_and(|u| u >= end && u <= end + Duration::minutes(1))
}
