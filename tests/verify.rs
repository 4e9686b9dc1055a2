//! `pgroles verify` on real PostgreSQL 15, 16 and 17, run as the password broker (no USAGE on
//! the application schema): a freshly applied model has no drift; each injected drift is
//! reported exactly once, and running its fix as the superuser makes it go away. Also: the
//! Slack rendering of 500 findings stays within Block Kit limits.

mod support;

use chrono::{Duration, Utc};
use pgroles::model::Level;
use pgroles::verify::{self, blocks, Check, Finding, Report, Severity};
use support::model::Model;
use support::pg::ident;
use support::show_findings;
use support::verify::{admin_option_until_11a, expect_once_then_fix, fresh_model, verify_as};

#[tokio::test]
async fn freshly_applied_model_has_no_drift_when_verified_as_the_broker() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vclean").await;
        let broker = m.login_as(&m.names.broker()).await;
        let report = verify_as(&broker, &m).await;
        assert!(
            report.findings.is_empty(),
            "PG{}: expected no drift, got:\n{}",
            server.version,
            show_findings(&report.findings)
        );
        assert_eq!(report.exit_code(), 0);
        // orders, its identity sequence, order_total(): counted, not listed.
        assert!(report.summary.objects_checked >= 3);
        let json = report.to_json();
        assert_eq!(json["version"], 1);
        assert_eq!(json["status"], "clean");
        assert_eq!(json["summary"]["total"], 0);
        m.drop().await;
    }
}

#[tokio::test]
async fn model_applied_by_an_aurora_master_has_no_drift() {
    for server in support::pg::versions() {
        let m = Model::new(&server, "vaurora");
        let master = support::pg::aurora_fixture(&server, &m.prefix).await;
        m.apply_as(&master.url, pgroles::config::AuroraMode::Auto, &["broker", "app"])
            .await
            .expect("apply as the Aurora master");
        if server.version == 15 {
            admin_option_until_11a(&m).await;
        }
        m.migrate_orders().await;
        let broker = m.login_as(&m.names.broker()).await;
        let report = verify_as(&broker, &m).await;
        // 16+: the master's automatic ADMIN-only memberships, its membership in admin, and
        // rds_password / rds_iam are part of the design, not drift.
        assert!(
            report.findings.is_empty(),
            "PG{}: expected no drift, got:\n{}",
            server.version,
            show_findings(&report.findings)
        );
        // ... but a firefighter holding rds_iam is.
        let su = m.superuser().await;
        su.batch_execute(&format!("GRANT rds_iam TO {}", ident(&m.names.firefighter(Level::Rw))))
            .await
            .unwrap();
        let want = (Check::Membership, Severity::High, Some(m.names.firefighter(Level::Rw)));
        expect_once_then_fix(
            &m,
            &broker,
            &su,
            "rds_iam for a firefighter",
            (want.0, want.1, want.2.as_deref()),
        )
        .await;
        m.drop().await;
    }
}

/// One drift: how to inject it (SQL as the superuser in the application database, or a custom
/// step), and what verify must call it.
struct Drift {
    name: &'static str,
    check: Check,
    severity: Severity,
    role: Option<String>,
    sql: String,
}

fn drifts(m: &Model) -> Vec<Drift> {
    let n = &m.names;
    let s = ident(&n.schema);
    let q = |r: String| ident(&r);
    let outsider = format!("{}_outsider", m.prefix);
    let in_3h = (Utc::now() + Duration::hours(3)).to_rfc3339();
    let many =
        (1..=25).map(|i| format!("CREATE TABLE {s}.bulk_{i:02} (id int);")).collect::<String>();
    let d = |name, check, severity, role: Option<String>, sql: String| Drift {
        name,
        check,
        severity,
        role,
        sql,
    };
    vec![
        d("extra DELETE for the app", Check::ObjectPrivileges, Severity::High, Some(n.app()),
          format!("GRANT DELETE ON {s}.orders TO {}", q(n.app()))),
        d("SELECT granted to PUBLIC on a table", Check::ObjectPrivileges, Severity::Critical,
          Some("PUBLIC".into()), format!("GRANT SELECT ON {s}.orders TO PUBLIC")),
        d("grant to a role outside the model", Check::ObjectPrivileges, Severity::High,
          Some(outsider.clone()),
          format!("CREATE ROLE {o} NOLOGIN; GRANT SELECT, UPDATE ON {s}.orders TO {o}", o = ident(&outsider))),
        d("CREATE on the schema for the app", Check::SchemaAcl, Severity::High, Some(n.app()),
          format!("GRANT CREATE ON SCHEMA {s} TO {}", q(n.app()))),
        d("TEMP on the database for PUBLIC", Check::DatabaseAcl, Severity::Critical,
          Some("PUBLIC".into()), format!("GRANT TEMPORARY ON DATABASE {} TO PUBLIC", ident(&n.database))),
        d("a function executable by PUBLIC", Check::ObjectPrivileges, Severity::Critical,
          Some("PUBLIC".into()), format!("GRANT EXECUTE ON FUNCTION {s}.order_total() TO PUBLIC")),
        d("a missing default privilege", Check::DefaultPrivileges, Severity::Medium,
          Some(n.firefighter(Level::Ro)),
          format!("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {s} REVOKE SELECT ON TABLES FROM {}",
                  q(n.owner()), q(n.firefighter(Level::Ro)))),
        d("G5 undone: new functions executable by PUBLIC", Check::DefaultPrivileges, Severity::Critical,
          Some("PUBLIC".into()),
          format!("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT EXECUTE ON FUNCTIONS TO PUBLIC", q(n.owner()))),
        d("a changed connection limit", Check::RoleAttribute, Severity::Low, Some(n.app()),
          format!("ALTER ROLE {} CONNECTION LIMIT 7", q(n.app()))),
        d("a firefighter password valid for 3 hours", Check::FirefighterPassword, Severity::High,
          Some(n.firefighter(Level::Rw)),
          format!("ALTER ROLE {} VALID UNTIL '{in_3h}'", q(n.firefighter(Level::Rw)))),
        d("25 tables readable by PUBLIC (names capped, bulk fix)", Check::ObjectPrivileges,
          Severity::Critical, Some("PUBLIC".into()),
          format!("SET ROLE {}; {many} RESET ROLE; GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO PUBLIC; \
                   REVOKE SELECT ON {s}.orders FROM PUBLIC", q(n.owner()))),
        d("25 tables owned by the migrator (bulk fix)", Check::ObjectOwner, Severity::High,
          Some(n.migrator()),
          format!("DO $$ DECLARE t record; BEGIN FOR t IN SELECT relname FROM pg_class \
                   WHERE relnamespace = {lit}::regnamespace AND relname LIKE 'bulk\\_%' LOOP \
                   EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', {name}, t.relname, {mig}); \
                   END LOOP; END $$",
                  lit = pgroles::verify::findings::literal(&s),
                  name = pgroles::verify::findings::literal(&n.schema),
                  mig = pgroles::verify::findings::literal(&n.migrator()))),
    ]
}

#[tokio::test]
async fn each_injected_drift_is_reported_once_and_its_fix_removes_it() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vdrift").await;
        let broker = m.login_as(&m.names.broker()).await;
        let su = m.superuser().await;
        assert!(verify_as(&broker, &m).await.findings.is_empty());
        for drift in drifts(&m) {
            su.batch_execute(&drift.sql)
                .await
                .unwrap_or_else(|e| panic!("PG{}: inject {}: {e:?}", server.version, drift.name));
            expect_once_then_fix(
                &m,
                &broker,
                &su,
                drift.name,
                (drift.check, drift.severity, drift.role.as_deref()),
            )
            .await;
        }
        m.drop().await;
    }
}

#[tokio::test]
async fn a_table_created_by_the_migrator_without_set_role_is_one_owner_finding() {
    // Its identity sequence is owned by the migrator too; it moves with the table, so the
    // table's finding covers it.
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vmig").await;
        let broker = m.login_as(&m.names.broker()).await;
        let su = m.superuser().await;
        let s = ident(&m.names.schema);
        let mig = ident(&m.names.migrator());
        // G7 keeps the migrator from creating anything by itself: grant CREATE for a moment.
        su.batch_execute(&format!("GRANT USAGE, CREATE ON SCHEMA {s} TO {mig}")).await.unwrap();
        let migrator = m.login_as(&m.names.migrator()).await;
        migrator
            .batch_execute(&format!(
                "CREATE TABLE {s}.stray (id bigint GENERATED ALWAYS AS IDENTITY, note text)"
            ))
            .await
            .expect("migrator creates a table without SET ROLE");
        su.batch_execute(&format!("REVOKE USAGE, CREATE ON SCHEMA {s} FROM {mig}")).await.unwrap();
        let want = (Check::ObjectOwner, Severity::High, Some(m.names.migrator()));
        let f = expect_once_then_fix(
            &m,
            &broker,
            &su,
            "table owned by the migrator",
            (want.0, want.1, want.2.as_deref()),
        )
        .await;
        assert!(f.object.contains("stray"), "{f:#?}");
        assert!(f.fix.contains("ON SEQUENCE") && f.fix.contains("stray_id_seq"), "{}", f.fix);
        // The app can use the table now: the fix also granted what the defaults would have.
        let app = m.login_as(&m.names.app()).await;
        app.batch_execute(&format!("INSERT INTO {s}.stray (note) VALUES ('x')"))
            .await
            .expect("app may insert after the fix");
        m.drop().await;
    }
}

#[tokio::test]
async fn an_open_firefighter_session_without_an_active_grant_is_drift_until_terminated() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vsess").await;
        let broker = m.login_as(&m.names.broker()).await;
        let su = m.superuser().await;
        let ro = m.login_as(&m.names.firefighter(Level::Ro)).await;
        // The password expires while the session stays open.
        su.batch_execute(&format!(
            "ALTER ROLE {} VALID UNTIL '2001-01-01 00:00:00+00'",
            ident(&m.names.firefighter(Level::Ro))
        ))
        .await
        .unwrap();
        let report = verify_as(&broker, &m).await;
        assert_eq!(report.sessions.len(), 1, "PG{}: the session is listed", server.version);
        assert_eq!(report.sessions[0].role, m.names.firefighter(Level::Ro));
        assert_eq!(report.sessions[0].client_addr.as_deref(), Some("127.0.0.1"));
        let want =
            (Check::FirefighterSession, Severity::Critical, Some(m.names.firefighter(Level::Ro)));
        expect_once_then_fix(
            &m,
            &broker,
            &su,
            "orphaned session",
            (want.0, want.1, want.2.as_deref()),
        )
        .await;
        assert!(ro.simple_query("SELECT 1").await.is_err(), "the session was ended");
        m.drop().await;
    }
}

#[tokio::test]
async fn verify_connected_to_another_database_cannot_verify() {
    let server = &support::pg::versions()[0];
    let m = fresh_model(server, "vwrong").await;
    let other = support::pg::superuser(server, "postgres").await;
    let err = verify::run(&other, &m.names, Utc::now()).await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("the model's database"), "{err}");
    m.drop().await;
}

#[test]
fn block_kit_of_500_findings_stays_within_slack_limits() {
    let long = "x<&>".repeat(2000);
    let findings: Vec<Finding> = (0..500)
        .map(|i| Finding {
            severity: Severity::ALL[i % 4],
            check: Check::ObjectPrivileges,
            object: format!("table \"s\".\"t{i}\" {long}"),
            role: Some(format!("role_{i}")),
            expected: long.clone(),
            actual: long.clone(),
            fix: format!("REVOKE ALL ON TABLE \"s\".\"t{i}\" FROM PUBLIC; -- {long}"),
            objects: Some(verify::ObjectList {
                count: 5000,
                names: vec![long.clone(); 20],
                more: 4980,
            }),
        })
        .collect();
    let report = Report::new(
        Utc::now(),
        "16.4".into(),
        "d".repeat(400),
        "s".into(),
        findings,
        vec![],
        50_000,
    );
    for top in [0, 20, 500] {
        let b = blocks::blocks(&report, top);
        assert!(b.len() <= 50, "{} blocks", b.len());
        for block in &b {
            let text = block["text"]["text"].as_str().unwrap_or_default();
            match block["type"].as_str() {
                Some("header") => assert!(text.chars().count() <= 150),
                Some("section") => {
                    assert!(text.chars().count() <= 3000, "{}", text.chars().count())
                }
                _ => {}
            }
            assert!(!text.contains('<'), "mrkdwn is escaped");
        }
        let all = serde_json::to_string(&b).unwrap();
        assert!(all.contains("more finding(s)"), "the rest is summarised");
    }
    let b = blocks::blocks(&report, 20);
    assert!(b[0]["text"]["text"].as_str().unwrap().contains("500 findings"));
}

#[tokio::test]
async fn text_report_groups_findings_by_severity_and_shows_each_fix() {
    let server = &support::pg::versions()[0];
    let m = fresh_model(server, "vtext").await;
    let broker = m.login_as(&m.names.broker()).await;
    let su = m.superuser().await;
    let s = ident(&m.names.schema);
    su.batch_execute(&format!(
        "GRANT SELECT ON {s}.orders TO PUBLIC; GRANT DELETE ON {s}.orders TO {app};
         ALTER ROLE {app} CONNECTION LIMIT 7; ALTER ROLE {ro} SET statement_timeout = 0;
         ALTER ROLE {ro} IN DATABASE {db} SET statement_timeout = '1h';",
        app = ident(&m.names.app()),
        ro = ident(&m.names.firefighter(Level::Ro)),
        db = ident(&m.names.database),
    ))
    .await
    .unwrap();
    let report = verify_as(&broker, &m).await;
    let text = report.to_text();
    println!("{text}");
    println!("{}", serde_json::to_string_pretty(&report.to_json()).unwrap());
    // The role-wide statement_timeout is a setting the model does not have (issue 5); the one
    // in the database weakens a guardrail: both more than designed.
    assert_eq!(report.findings.len(), 5, "{text}");
    let critical = text.find("CRITICAL (1)").expect("critical section");
    let high = text.find("HIGH (3)").expect("high section");
    let low = text.find("LOW (1)").expect("low section");
    assert!(critical < high && high < low, "{text}");
    let ro = ident(&m.names.firefighter(Level::Ro));
    assert!(text.contains(&format!("ALTER ROLE {ro} RESET \"statement_timeout\";")), "{text}");
    assert!(text.contains(&format!("REVOKE SELECT ON TABLE {s}.\"orders\" FROM PUBLIC")));
    assert!(text.contains("statement_timeout = '5min'"), "{text}");
    m.drop().await;
}
