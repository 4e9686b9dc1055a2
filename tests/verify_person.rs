//! Issue 15 in `verify` (as the broker, on PostgreSQL 15 to 18): live per-person logins are
//! part of the model; an unknown member of a firefighter role is critical; a login whose
//! settings drifted, and an ended login still present, are reported.

#![recursion_limit = "256"]

mod support;

use pgroles::verify::{Check, Severity};
use support::pg::ident;
use support::show_findings;
use support::verify::{fresh_model, verify_as};
use tokio_postgres::Client;

async fn create(broker: &Client, level: &str, user: &str, grant: &str) -> String {
    let verifier =
        postgres_protocol::password::scram_sha_256(b"a-password-of-forty-characters-xxxxxxxxx");
    broker
        .query_one(
            "SELECT login::text FROM db_admin.create_person_login($1, $2, $3, $4, 30, 'INC-123', \
             ARRAY['U2'])",
            &[&level, &user, &grant, &verifier],
        )
        .await
        .unwrap_or_else(|e| panic!("create: {}", support::pg::db_message(&e)))
        .get(0)
}

#[tokio::test]
async fn live_logins_are_clean_and_unknown_members_ended_logins_and_drift_are_reported() {
    for server in support::pg::versions() {
        let v = server.version;
        let m = fresh_model(&server, "vperson").await;
        let broker = m.login_as(&m.names.broker()).await;
        let ro = create(&broker, "ro", "U0ANNA1", "000000a1").await;
        let rw = create(&broker, "rw", "U0BEN22", "000000b2").await;
        let report = verify_as(&broker, &m).await;
        assert!(
            report.findings.is_empty(),
            "PG{v}: live logins are no drift:\n{}",
            show_findings(&report.findings)
        );

        let su = m.superuser().await;
        let evil = format!("{}ff_ro_u0evil_00000000", m.names.role_prefix);
        su.batch_execute(&format!(
            "CREATE ROLE {e} LOGIN; GRANT {ro_role} TO {e};
             ALTER ROLE {rw} IN DATABASE {db} SET statement_timeout = 0;
             CREATE TABLE {s}.kept (id int); ALTER TABLE {s}.kept OWNER TO {ro};",
            e = ident(&evil),
            ro_role = ident(&m.names.firefighter(pgroles::model::Level::Ro)),
            rw = ident(&rw),
            ro = ident(&ro),
            db = ident(&m.names.database),
            s = ident(&m.names.schema),
        ))
        .await
        .expect("drift");
        let outcome: String = broker
            .query_one("SELECT outcome FROM db_admin.end_person_login($1, 'U9')", &[&ro])
            .await
            .unwrap()
            .get(0);
        assert_eq!(outcome, "disabled");
        let report = verify_as(&broker, &m).await;
        let f = &report.findings;
        let about = |role: &String| -> Vec<&pgroles::verify::Finding> {
            f.iter().filter(|x| x.role.as_ref() == Some(role)).collect()
        };
        assert!(
            about(&evil)
                .iter()
                .any(|x| x.severity == Severity::Critical && x.check == Check::Membership),
            "PG{v}: unknown member is critical:\n{}",
            show_findings(f)
        );
        assert!(
            about(&rw)
                .iter()
                .any(|x| x.check == Check::RoleSetting && x.severity == Severity::High),
            "PG{v}: settings drift:\n{}",
            show_findings(f)
        );
        assert!(
            about(&ro).iter().any(|x| x.actual.starts_with("still present")),
            "PG{v}: ended login still present:\n{}",
            show_findings(f)
        );
        assert_eq!(f.len(), 4, "PG{v}: and the table it owns, nothing else:\n{}", show_findings(f));
        m.drop().await;
    }
}
