//! `pgroles verify` as the guard of what the model's roles may change about themselves, on real
//! PostgreSQL 15, 16 and 17, every change made over a real SCRAM TCP login as the role itself
//! (the firefighter or the broker in an attacker's hands): role settings role-wide, in the
//! application database and in another database (issue 5); the broker's logging (issue 8);
//! admin's ADMIN OPTION on the owner (issue 9); databases other than the application's that a
//! model role may reach (issue 10). Each is reported once, and its fix, run as the superuser,
//! clears it.

mod support;

use chrono::{Duration, Utc};
use pgroles::model::Level;
use pgroles::verify::{self, Check, Severity};
use support::model::{must_fail, Model};
use support::pg::{self, ident};
use support::show_findings;
use support::verify::{expect_once_then_fix, fresh_model, verify_as};
use tokio_postgres::Client;

/// A login as `role` whose password is valid for the next hour (as during a grant), so that its
/// open session is not itself drift.
async fn holder(m: &Model, role: &str) -> Client {
    let client = m.login_as(role).await;
    let until = (Utc::now() + Duration::hours(1)).to_rfc3339();
    m.superuser()
        .await
        .batch_execute(&format!("ALTER ROLE {} VALID UNTIL '{until}'", ident(role)))
        .await
        .expect("valid for an hour");
    client
}

#[tokio::test]
async fn a_setting_a_role_gives_itself_is_reported_and_its_fix_clears_it() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vself").await;
        let broker_name = m.names.broker();
        let broker = m.login_as(&broker_name).await;
        let su = m.superuser().await;
        let ro = holder(&m, &m.names.firefighter(Level::Ro)).await;
        let rw = holder(&m, &m.names.firefighter(Level::Rw)).await;
        let db = ident(&m.names.database);
        let (ro_name, rw_name) = (m.names.firefighter(Level::Ro), m.names.firefighter(Level::Rw));
        // (who, statement as that role, check, severity, role reported)
        let cases: Vec<(&Client, String, Check, Severity, &str)> = vec![
            (
                &ro,
                "ALTER ROLE CURRENT_USER SET statement_timeout = 0".into(),
                Check::RoleSetting,
                Severity::High,
                &ro_name,
            ),
            (
                &rw,
                format!("ALTER ROLE CURRENT_USER IN DATABASE {db} SET statement_timeout = 0"),
                Check::Guardrail,
                Severity::High,
                &rw_name,
            ),
            (
                &rw,
                format!("ALTER ROLE CURRENT_USER IN DATABASE {db} SET work_mem = '1GB'"),
                Check::RoleSetting,
                Severity::High,
                &rw_name,
            ),
            (
                &ro,
                "ALTER ROLE CURRENT_USER IN DATABASE postgres SET search_path = evil".into(),
                Check::RoleSetting,
                Severity::High,
                &ro_name,
            ),
            (
                &broker,
                "ALTER ROLE CURRENT_USER SET \"TimeZone\" = 'CST-167'".into(),
                Check::RoleSetting,
                Severity::Critical,
                &broker_name,
            ),
            (
                &broker,
                format!("ALTER ROLE CURRENT_USER IN DATABASE {db} SET DateStyle = 'SQL, MDY'"),
                Check::RoleSetting,
                Severity::Critical,
                &broker_name,
            ),
            (
                &broker,
                "ALTER ROLE CURRENT_USER IN DATABASE postgres SET search_path = evil".into(),
                Check::RoleSetting,
                Severity::Critical,
                &broker_name,
            ),
        ];
        for (who, sql, check, severity, role) in cases {
            who.batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("PG{}: {sql}: {}", server.version, pg::db_message(&e)));
            let f =
                expect_once_then_fix(&m, &broker, &su, &sql, (check, severity, Some(role))).await;
            assert!(f.fix.starts_with(&format!("ALTER ROLE {}", ident(role))), "{}", f.fix);
        }
        m.drop().await;
    }
}

#[tokio::test]
async fn the_broker_cannot_unset_its_own_logging_settings() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vbrlog").await;
        let broker = m.login_as(&m.names.broker()).await;
        let err = must_fail(&broker, "ALTER ROLE CURRENT_USER SET log_statement = 'all'").await;
        assert!(err.contains("permission denied"), "PG{}: {err}", server.version);
        let err =
            must_fail(&broker, "ALTER ROLE CURRENT_USER RESET log_parameter_max_length").await;
        assert!(err.contains("permission denied"), "PG{}: {err}", server.version);
        // RESET ALL by a non-superuser keeps the settings it could not have made.
        broker.batch_execute("ALTER ROLE CURRENT_USER RESET ALL").await.expect("reset all");
        let again = m.login_as(&m.names.broker()).await;
        let report = verify_as(&again, &m).await;
        assert!(
            report.findings.is_empty(),
            "PG{}:\n{}",
            server.version,
            show_findings(&report.findings)
        );
        let row = again
            .query_one("SELECT current_setting('log_parameter_max_length')", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "0");
        // One of them is user-settable: the broker can give itself parameters in error logs.
        // PostgreSQL allows it; verify reports it, critical twice (the setting, and its effect).
        again
            .batch_execute("ALTER ROLE CURRENT_USER SET log_parameter_max_length_on_error = -1")
            .await
            .expect("user-settable");
        let next = m.login_as(&m.names.broker()).await;
        let report = verify_as(&next, &m).await;
        let checks: Vec<(Check, Severity)> =
            report.findings.iter().map(|f| (f.check, f.severity)).collect();
        assert_eq!(
            checks,
            vec![
                (Check::Guardrail, Severity::Critical),
                (Check::BrokerLogging, Severity::Critical)
            ],
            "PG{}:\n{}",
            server.version,
            show_findings(&report.findings)
        );
        let su = m.superuser().await;
        let fix = &report.findings.iter().find(|f| f.check == Check::Guardrail).unwrap().fix;
        su.batch_execute(fix).await.unwrap_or_else(|e| panic!("{fix}: {e:?}"));
        // The broker's connection limit is 3: end two of its sessions (waiting until gone).
        for client in [&broker, &again] {
            let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
            su.execute("SELECT pg_terminate_backend($1, 10000)", &[&pid]).await.unwrap();
        }
        let fixed = m.login_as(&m.names.broker()).await;
        let report = verify_as(&fixed, &m).await;
        assert!(report.findings.is_empty(), "{}", show_findings(&report.findings));
        m.drop().await;
    }
}

#[tokio::test]
async fn broker_statements_that_would_be_logged_with_parameters_are_critical() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vlogged").await;
        let su = m.superuser().await;
        // As if apply had not been allowed to set them, and the database logged everything.
        su.batch_execute(&format!(
            "ALTER ROLE {} RESET ALL; ALTER DATABASE {} SET log_statement = 'all'",
            ident(&m.names.broker()),
            ident(&m.names.database)
        ))
        .await
        .unwrap();
        let broker = m.login_as(&m.names.broker()).await;
        let report = verify_as(&broker, &m).await;
        assert_eq!(
            report.findings.len(),
            1,
            "PG{}:\n{}",
            server.version,
            show_findings(&report.findings)
        );
        let f = &report.findings[0];
        assert_eq!((f.check, f.severity), (Check::BrokerLogging, Severity::Critical), "{f:#?}");
        assert!(f.actual.contains("log_statement = all"), "{f:#?}");
        // Rebuilt from the stored settings when verify runs as another login.
        let other = verify::run(&su, &m.names, Utc::now()).await.expect("verify as superuser");
        assert!(
            other
                .findings
                .iter()
                .any(|g| g.check == Check::BrokerLogging && g.severity == Severity::Critical),
            "{}",
            show_findings(&other.findings)
        );
        su.batch_execute(&f.fix).await.unwrap_or_else(|e| panic!("{}: {e:?}", f.fix));
        // The broker's next login gets them.
        let broker = m.login_as(&m.names.broker()).await;
        let after = verify_as(&broker, &m).await;
        assert!(
            after.findings.is_empty(),
            "PG{}:\n{}",
            server.version,
            show_findings(&after.findings)
        );
        su.batch_execute(&format!(
            "ALTER DATABASE {} RESET log_statement",
            ident(&m.names.database)
        ))
        .await
        .unwrap();
        m.drop().await;
    }
}

#[tokio::test]
async fn admin_without_admin_option_on_the_owner_is_reported() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vadmopt").await;
        let broker = m.login_as(&m.names.broker()).await;
        let su = m.superuser().await;
        let (owner, admin) = (ident(&m.names.owner()), ident(&m.names.admin()));
        let admin_finding = |f: &&pgroles::verify::Finding| {
            f.check == Check::Membership
                && f.role.as_deref() == Some(m.names.admin().as_str())
                && f.expected == "ADMIN TRUE"
        };
        if server.version == 15 {
            // One grant, by the bootstrap superuser (by hand until 11a's SQL lands).
            su.batch_execute(&format!("REVOKE ADMIN OPTION FOR {owner} FROM {admin}"))
                .await
                .unwrap();
            let want = (Check::Membership, Severity::Medium, Some(m.names.admin()));
            let f = expect_once_then_fix(
                &m,
                &broker,
                &su,
                "no ADMIN OPTION on the owner",
                (want.0, want.1, want.2.as_deref()),
            )
            .await;
            assert!(admin_finding(&&f), "{f:#?}");
        } else {
            // 16+: admin's automatic grant from creating the owner carries the option; the
            // grants admin made with it (its own SET, the migrator's) go with it (CASCADE).
            su.batch_execute(&format!(
                "REVOKE ADMIN OPTION FOR {owner} FROM {admin} GRANTED BY CURRENT_USER CASCADE"
            ))
            .await
            .unwrap_or_else(|e| panic!("PG{}: revoke: {}", server.version, pg::db_message(&e)));
            let report = verify_as(&broker, &m).await;
            let f = report.findings.iter().find(admin_finding).unwrap_or_else(|| {
                panic!(
                    "PG{}: no ADMIN finding:\n{}",
                    server.version,
                    show_findings(&report.findings)
                )
            });
            assert_eq!(f.severity, Severity::Medium);
            // The ADMIN fix first: the others are grants only admin's option allows.
            su.batch_execute(&f.fix).await.unwrap_or_else(|e| panic!("{}: {e:?}", f.fix));
            for g in report.findings.iter().filter(|g| !admin_finding(g)) {
                su.batch_execute(&g.fix).await.unwrap_or_else(|e| panic!("{}: {e:?}", g.fix));
            }
            let after = verify_as(&broker, &m).await;
            assert!(
                after.findings.is_empty(),
                "PG{}:\n{}",
                server.version,
                show_findings(&after.findings)
            );
        }
        m.drop().await;
    }
}

#[tokio::test]
async fn another_database_open_to_public_is_reported_until_revoked() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vother").await;
        let broker = m.login_as(&m.names.broker()).await;
        let su = m.superuser().await;
        let other = format!("{}-other", m.prefix.replace('_', "-"));
        pg::superuser(&server, "postgres")
            .await
            .batch_execute(&format!("CREATE DATABASE {}", ident(&other)))
            .await
            .expect("a database with PostgreSQL's default ACL");
        // What the finding is about: a firefighter really gets in, and may create TEMP tables.
        let ro_name = m.names.firefighter(Level::Ro);
        let password = m.set_password(&ro_name).await;
        let ro = pg::login(&server, &other, &ro_name, &password).await.expect("connect");
        ro.batch_execute("CREATE TEMP TABLE scratch (x int)").await.expect("temp table");
        drop(ro);
        let want = (Check::OtherDatabase, Severity::High, Some("PUBLIC"));
        let f =
            expect_once_then_fix(&m, &broker, &su, "PUBLIC's CONNECT on another database", want)
                .await;
        assert!(f.object.contains(&other), "{f:#?}");
        assert!(f.actual.contains("CONNECT, TEMPORARY (through PUBLIC)"), "{f:#?}");
        let Err(err) = pg::login(&server, &other, &ro_name, &password).await else {
            panic!("the login was let in");
        };
        assert!(pg::db_message(&err).contains("permission denied"), "{}", pg::db_message(&err));
        m.drop().await;
    }
}

/// R1: a firefighter (even the read-only one) can store data that outlives its grant, owned by
/// itself and readable by anyone it chooses: large objects need no privilege to create. Verify
/// reports them (once per role), and the fix removes them.
#[tokio::test]
async fn large_objects_a_firefighter_stores_are_reported_and_removed() {
    for server in support::pg::versions() {
        let m = fresh_model(&server, "vlobj").await;
        let broker = m.login_as(&m.names.broker()).await;
        let su = m.superuser().await;
        let ro_name = m.names.firefighter(Level::Ro);
        let ro = holder(&m, &ro_name).await;
        let sql = "SELECT lo_from_bytea(0, 'copied rows'), lo_from_bytea(0, 'more')";
        let oids = ro
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("PG{}: {}", server.version, pg::db_message(&e)));
        let oid: u32 = oids.get(0);
        ro.batch_execute(&format!("GRANT SELECT ON LARGE OBJECT {oid} TO PUBLIC"))
            .await
            .expect("the owner grants it to everyone");
        let f = expect_once_then_fix(
            &m,
            &broker,
            &su,
            "large objects",
            (Check::ObjectOwner, Severity::High, Some(ro_name.as_str())),
        )
        .await;
        assert!(f.actual.contains("2 large objects"), "{f:#?}");
        let left: i64 =
            su.query_one("SELECT count(*) FROM pg_largeobject_metadata", &[]).await.unwrap().get(0);
        assert_eq!(left, 0, "PG{}: the fix removed them", server.version);
        m.drop().await;
    }
}
