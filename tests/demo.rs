//! The demo drill end to end: the `pgroles demo` binary, as `scripts/demo` runs it, against a
//! throwaway PostgreSQL cluster of its own (`support::cluster`) and the shared Redis, under a
//! unique role prefix. Checks the exit
//! code, the key lines of the transcript, and that the password is only ever shown masked.
//!
//! Run with `eval "$(scripts/test-services | tail -1)" && cargo test --test demo` (needs `scripts/test-services`).

mod support;

use regex::Regex;
use std::process::Output;
use support::pg;

async fn run_demo(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_pgroles"))
        .arg("demo")
        .args(args)
        .env("PGROLES_LOG", "warn")
        .env_remove("PGROLES_CONFIG")
        .output()
        .await
        .expect("run pgroles demo")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_plays_the_incident_from_request_to_verify_and_exits_zero() {
    // A cluster of its own, as scripts/demo gives it: the drill closes its other databases
    // (--harden-cluster), which must not happen to the shared test clusters.
    let (version, bin) = support::cluster::installed().await.remove(0);
    let cluster = support::cluster::Throwaway::start(version, &bin);
    let server = &cluster.server;
    let prefix = pg::unique_prefix("demo");
    let redis = support::redis::url();
    let args = ["--pg-url", &server.url, "--redis-url", &redis, "--prefix", &prefix];
    let out = run_demo(&[&args[..], &["--harden-cluster"]].concat()).await;
    pg::drop_model(server, &prefix).await;

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stdout}\n{stderr}", out.status.code());
    // Alice's own login (access.identity = "per_person", the default), named after her Slack id
    // and the grant: `<prefix>_ff_ro_u0alice001_<8 hex>`.
    let ff = format!("{prefix}_ff_ro_u0alice001_");
    for line in [
        "/firefighter ro INC-4242".to_string(),
        "#incident-audit · pgroles".into(),
        "@alice requests ro access for INC-4242".into(),
        "@alice reacted to their own request; that does not count".into(),
        "@bob pressed [ Approve ] on the request".into(),
        "@bob approved".into(),
        "DM with pgroles · ephemeral, only @alice sees this".into(),
        format!("user={ff}"),
        format!("connected as {ff}"),
        "ORD-1001 created, ORD-1002 paid, ORD-1003 shipped (3 rows)".into(),
        "ERROR:  permission denied for table orders".into(),
        "/firefighter extend 6s".into(),
        "@bob reacted ✅ to the extension ask".into(),
        "Extended by @bob".into(),
        "Reminder sent to @alice".into(),
        "1 session ended".into(),
        "server closed the connection unexpectedly".into(),
        format!("password authentication failed for user \"{ff}"),
        "/pgroles verify".into(),
        "no drift: the database matches the role model".into(),
        "/firefighter done".into(),
        "Released early by @alice".into(),
        "16 of 16 steps happened".into(),
    ] {
        assert!(stdout.contains(&line), "transcript lacks {line:?}:\n{stdout}");
    }
    assert!(!stdout.contains('✗'), "a step failed:\n{stdout}");

    let masked = Regex::new(r"Password: `[A-Za-z0-9]{4}…`").expect("regex");
    assert!(masked.is_match(&stdout), "the DM's password line is masked:\n{stdout}");
    let secret_like = Regex::new(r"[A-Za-z0-9]{40}").expect("regex");
    assert!(!secret_like.is_match(&stdout), "a 40-character secret was printed:\n{stdout}");
    assert!(!secret_like.is_match(&stderr), "a 40-character secret was logged:\n{stderr}");
}

#[tokio::test]
async fn demo_refuses_a_database_that_is_not_on_loopback() {
    let out = run_demo(&["--pg-url", "postgres://postgres@db.example.com:5432/postgres"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("only runs against a PostgreSQL on loopback"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing was played");
}
