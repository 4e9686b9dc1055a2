//! Whole-cluster guarantees, on a throwaway PostgreSQL cluster of each tested version (the
//! binaries of the shared 15, 16 and 17 clusters: `support::cluster::installed`), configured as the shared test clusters must not be:
//! `log_statement = all` and `log_min_duration_statement = 0` into a known log file, and no
//! other engineer's databases.
//!
//! - issue 8: after a full grant through the broker functions (as the bot issues it) and the
//!   firefighter's login, the server log holds neither the password nor its SCRAM verifier;
//!   without the broker's role settings it would (shown in the same test); issue 15: nor those
//!   of a per-person login (created, logged in, renewed, ended);
//! - issue 10: a freshly applied model leaves `postgres` and `template1` open to the model's
//!   roles (verify reports them); `apply --harden-cluster` closes them, keeps a login outside
//!   the model able to connect, changes nothing when re-run, and leaves verify with no findings.

// The broker's futures nest deeper than the default limit.
#![recursion_limit = "256"]

mod support;

use chrono::Utc;
use pgroles::broker::{Broker, IssueAudit, TempPassword};
use pgroles::config::AwsConfig;
use pgroles::model::{apply, Level, RenderOptions};
use pgroles::verify::{self, Check};
use std::process::Command;
use support::cluster::{installed, Throwaway};
use support::model::Model;
use support::pg::{self, ident};
use support::show_findings;

/// docs/runbook.md, "The broker's password": a verifier computed on the client, sent in a
/// session that logs none of its statements. Neither the password nor the verifier is logged.
async fn set_broker_password_as_the_runbook_says(su: &tokio_postgres::Client, m: &Model) -> String {
    let password = TempPassword::generate();
    let verifier = password.scram_verifier();
    // One statement per round trip: a simple query is logged whole before any of it runs.
    for sql in [
        "SET log_statement = 'none'",
        "SET log_min_duration_statement = -1",
        "SET log_min_error_statement = panic",
        "SET log_error_verbosity = terse",
    ] {
        su.batch_execute(sql).await.expect(sql);
    }
    su.batch_execute(&format!(
        "ALTER ROLE {} PASSWORD '{}'",
        ident(&m.names.broker()),
        verifier.expose_for_database()
    ))
    .await
    .expect("set the broker's password");
    su.batch_execute("RESET ALL").await.expect("reset");
    password.expose_for_delivery().to_string()
}

fn audit() -> IssueAudit {
    IssueAudit {
        incident: "INC-8".into(),
        requester: "U0REQUESTER".into(),
        approvers: vec!["U0APPROVER1".into(), "U0APPROVER2".into()],
    }
}

/// Issues a firefighter password through a fresh broker and logs in with it; returns the
/// password and the verifier the server stored.
async fn full_grant(m: &Model, broker_pw: &str) -> (String, String) {
    let cfg = m.broker_db_config(broker_pw);
    let broker = Broker::from_config(&cfg, &AwsConfig::default(), &m.names).await.expect("broker");
    let issued = broker
        .issue(Level::Ro, chrono::Utc::now() + chrono::Duration::hours(1), &audit())
        .await
        .expect("issue");
    let password = issued.password.expose_for_delivery().to_string();
    let ro = m.names.firefighter(Level::Ro);
    let ff = pg::login(&m.pg, &m.names.database, &ro, &password).await.expect("firefighter login");
    ff.batch_execute("SELECT 1").await.expect("firefighter query");
    let verifier: String = pg::superuser(&m.pg, "postgres")
        .await
        .query_one("SELECT rolpassword FROM pg_authid WHERE rolname = $1", &[&ro])
        .await
        .expect("read the verifier")
        .get(0);
    assert!(verifier.starts_with("SCRAM-SHA-256$"), "a SCRAM verifier was stored");
    (password, verifier)
}

/// A per-person login as the bot makes one (create, log in, resend, end); returns both of its
/// passwords and the verifier the server stored for the first.
async fn person_grant(m: &Model, broker_pw: &str) -> (Vec<String>, String) {
    let cfg = m.broker_db_config(broker_pw);
    let broker = Broker::from_config(&cfg, &AwsConfig::default(), &m.names).await.expect("broker");
    let created = broker
        .create_person_login(Level::Rw, "0badcafe-0000-4000-8000-00000000000f", 30, &audit())
        .await
        .expect("create a per-person login");
    let first = created.password.expose_for_delivery().to_string();
    let ff = pg::login(&m.pg, &m.names.database, &created.login, &first).await.expect("login");
    ff.batch_execute("SELECT 1").await.expect("per-person query");
    let verifier: String = pg::superuser(&m.pg, "postgres")
        .await
        .query_one("SELECT rolpassword FROM pg_authid WHERE rolname = $1", &[&created.login])
        .await
        .expect("read the verifier")
        .get(0);
    let renewed =
        broker.renew_person_login(&created.login, 20, "U0REQUESTER").await.expect("renew");
    let second = renewed.password.expose_for_delivery().to_string();
    broker.end_person_login(&created.login, "worker").await.expect("end");
    (vec![first, second], verifier)
}

#[tokio::test]
async fn the_server_log_holds_neither_password_nor_verifier_of_a_grant() {
    for (version, bin) in installed().await {
        let cluster = Throwaway::start(version, &bin);
        let m = Model::new(&cluster.server, "vlog");
        let report = m.apply().await;
        assert!(report.refused.is_empty(), "PG{version}: {:?}", report.refused);
        let su = pg::superuser(&cluster.server, "postgres").await;
        let broker_pw = set_broker_password_as_the_runbook_says(&su, &m).await;
        su.batch_execute("SELECT 'pgroles-log-marker'").await.unwrap();
        let (password, verifier) = full_grant(&m, &broker_pw).await;
        let (person_passwords, person_verifier) = person_grant(&m, &broker_pw).await;
        let log = cluster.log();
        assert!(log.contains("pgroles-log-marker"), "PG{version}: the server logs statements");
        assert!(!log.contains(&password), "PG{version}: the password is in the server log");
        assert!(!log.contains(&verifier), "PG{version}: the verifier is in the server log");
        for p in &person_passwords {
            assert!(!log.contains(p), "PG{version}: a per-person password is in the server log");
        }
        assert!(!log.contains(&person_verifier), "PG{version}: a per-person verifier is logged");
        // Any verifier (`SCRAM-SHA-256$<iterations>:...`), not just this grant's; the broker
        // function's source, which mentions the prefix, is logged by apply and is fine.
        let scram: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.match_indices("SCRAM-SHA-256$")
                    .any(|(i, m)| l[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
            })
            .collect();
        assert!(scram.is_empty(), "PG{version}: a verifier is in the server log: {scram:#?}");
        assert!(!log.contains(&broker_pw), "PG{version}: the broker's password is in the log");

        // What the broker's role settings prevent: without them the verifier is logged as a
        // bind parameter (the issue as filed).
        su.batch_execute(&format!("ALTER ROLE {} RESET ALL", ident(&m.names.broker())))
            .await
            .unwrap();
        let (_, verifier) = full_grant(&m, &broker_pw).await;
        assert!(
            cluster.log().contains(&verifier),
            "PG{version}: without the broker's settings the verifier should be logged \
             (or this test proves nothing)"
        );
    }
}

#[tokio::test]
async fn harden_cluster_closes_other_databases_to_the_model_and_only_to_it() {
    for (version, bin) in installed().await {
        let cluster = Throwaway::start(version, &bin);
        let server = &cluster.server;
        let m = Model::new(server, "vharden");
        m.apply().await;
        if version == 15 {
            support::verify::admin_option_until_11a(&m).await;
        }
        let su = pg::superuser(server, "postgres").await;
        let outsider = format!("{}_outsider", m.prefix);
        su.batch_execute(&format!(
            "CREATE ROLE {} LOGIN PASSWORD 'outsider-pw-1'",
            ident(&outsider)
        ))
        .await
        .unwrap();
        let broker = m.login_as(&m.names.broker()).await;
        let report = verify::run(&broker, &m.names, Utc::now()).await.expect("verify");
        let other: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.check == Check::OtherDatabase)
            .map(|f| f.object.as_str())
            .collect();
        assert_eq!(
            other,
            vec!["database \"postgres\"", "database \"template1\""],
            "PG{version}:\n{}",
            show_findings(&report.findings)
        );
        assert_eq!(report.findings.len(), 2, "{}", show_findings(&report.findings));

        // As a DBA runs it: the binary, the model applied again (a no-op) and then hardened.
        let out = Command::new(env!("CARGO_BIN_EXE_pgroles"))
            .args(["apply", "--harden-cluster"])
            .env_clear()
            .env("PGROLES_APPLY_BOOTSTRAP_URL", format!("{}?sslmode=disable", server.url))
            .env("PGROLES_MODEL_ROLE_PREFIX", &m.names.role_prefix)
            .env("PGROLES_MODEL_DATABASE", &m.names.database)
            .env("PGROLES_MODEL_SCHEMA", &m.names.schema)
            .output()
            .expect("run pgroles apply --harden-cluster");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "PG{version}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!(
                "harden-cluster: granted CONNECT, TEMPORARY on database postgres to {outsider}"
            )),
            "PG{version}: {stdout}"
        );
        assert!(stdout.contains("~ database postgres: "), "PG{version}: {stdout}");
        let cfg: tokio_postgres::Config = server.url.parse().unwrap();
        let opts = RenderOptions::default();
        let again = apply::harden_cluster(&cfg, tokio_postgres::NoTls, &m.names, &opts)
            .await
            .expect("harden again");
        assert!(again.changes.is_empty(), "PG{version}: re-run changed {:?}", again.changes);

        let report = verify::run(&broker, &m.names, Utc::now()).await.expect("verify");
        assert!(report.findings.is_empty(), "PG{version}:\n{}", show_findings(&report.findings));
        // The login outside the model still connects; the firefighter no longer does.
        pg::login(server, "postgres", &outsider, "outsider-pw-1").await.expect("outsider");
        let ro = m.names.firefighter(Level::Ro);
        let pw = m.set_password(&ro).await;
        let Err(err) = pg::login(server, "postgres", &ro, &pw).await else {
            panic!("the login was let in");
        };
        assert!(pg::db_message(&err).contains("permission denied"), "{}", pg::db_message(&err));
    }
}
