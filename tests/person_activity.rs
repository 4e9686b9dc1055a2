//! Issue 15, "Activity", through the bot's own broker (`Broker::person_activity`) on
//! PostgreSQL 15 to 18 with pg_stat_statements preloaded: three responders on one incident log
//! in at once over SCRAM TCP and each does different work (with literal values, a SET and an
//! attempt to set their own password); each login's activity names only its own work and
//! carries no literal, in the rows and in the thread's summary. A role that is not a recorded
//! login is refused; without the extension the answer is "not available"; without
//! `pg_read_all_stats` it is counts only, and verify says so. Apply grants admin
//! `pg_read_all_stats` where the bootstrap DBA may, and says so (a NOTICE) where it may not.

#![recursion_limit = "256"]

mod support;

use pgroles::access::activity::{Availability, PersonActivity, StatementKind};
use pgroles::access::text::activity::activity_summary;
use pgroles::broker::{Broker, BrokerError, IssueAudit};
use pgroles::config::{AuroraMode, AwsConfig};
use pgroles::model::Level;
use support::model::Model;
use support::pg::{self, ident};

fn audit(requester: &str) -> IssueAudit {
    IssueAudit {
        incident: "INC-123".into(),
        requester: requester.into(),
        approvers: vec!["U0APPROVER1".into()],
    }
}

/// Every literal value a responder's statements carry.
const LITERALS: [&str; 9] = [
    "ORD-ANNA-77",
    "ORD-1001",
    "ben-secret-note",
    "ORD-BEN-9",
    "31337",
    "carl-Pa55word-xyz",
    "8675309",
    "128MB",
    "Europe/Paris",
];

fn check_clean(v: u32, who: &str, a: &PersonActivity) {
    let text = format!("{a:?}\n{}", activity_summary(a));
    for lit in LITERALS {
        assert!(!text.contains(lit), "PG{v}: {who}: literal {lit} in\n{text}");
    }
    assert!(!text.contains('\''), "PG{v}: {who}: a quote in\n{text}");
}

fn calls(a: &PersonActivity, kind: StatementKind) -> i64 {
    a.kinds.iter().find(|k| k.kind == kind).map_or(0, |k| k.calls)
}

#[tokio::test]
async fn three_responders_each_see_only_their_own_work_and_no_literal() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i15actb");
        m.apply().await;
        m.migrate_orders().await;
        let db = m.superuser().await;
        db.batch_execute("CREATE EXTENSION pg_stat_statements").await.expect("extension");
        let broker_pw = m.set_password(&m.names.broker()).await;
        let broker =
            Broker::from_config(&m.broker_db_config(&broker_pw), &AwsConfig::default(), &m.names)
                .await
                .expect("broker");
        let dbname = &m.names.database;
        let t = format!("{}.orders", ident(&m.names.schema));
        let mut people = Vec::new();
        for (user, request, level) in [
            ("U0ANNA1", "0badcafe-0000-4000-8000-0000000000a1", Level::Ro),
            ("U0BEN22", "1badcafe-0000-4000-8000-0000000000b2", Level::Rw),
            ("W0CARL3", "2badcafe-0000-4000-8000-0000000000c3", Level::Rw),
        ] {
            let created = broker
                .create_person_login(level, request, 30, &audit(user))
                .await
                .unwrap_or_else(|e| panic!("PG{v}: create for {user}: {e:?}"));
            let client =
                pg::login(&server, dbname, &created.login, created.password.expose_for_delivery())
                    .await
                    .unwrap_or_else(|e| panic!("PG{v}: login: {}", pg::db_message(&e)));
            people.push((created.login, client));
        }
        // All three are connected; each works differently.
        let work = [
            format!(
                "SELECT * FROM {t} WHERE order_no = 'ORD-ANNA-77'; \
                 SELECT count(*) FROM {t} WHERE order_no = 'ORD-1001'; \
                 SET TimeZone = 'Europe/Paris'"
            ),
            format!(
                "INSERT INTO {t} (order_no, amount, status) VALUES ('ORD-BEN-9', 31337, \
                 'ben-secret-note'); \
                 UPDATE {t} SET status = 'ben-secret-note' WHERE order_no = 'ORD-1001'"
            ),
            format!(
                "SET work_mem = '128MB'; \
                 DELETE FROM {t} WHERE amount = 8675309; \
                 UPDATE {t} SET amount = 8675309 WHERE order_no = 'ORD-1001'"
            ),
        ];
        for ((login, client), sql) in people.iter().zip(&work) {
            client
                .batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("PG{v}: {login}: {}", pg::db_message(&e)));
        }
        // Carl tries to set his own password; whether the server allows it or not, the text
        // never comes back.
        let carl = &people[2];
        let _ = carl
            .1
            .batch_execute(&format!("ALTER ROLE {} PASSWORD 'carl-Pa55word-xyz'", ident(&carl.0)))
            .await;

        let mut seen = Vec::new();
        for (login, _) in &people {
            let a = broker
                .person_activity(login, 5)
                .await
                .unwrap_or_else(|e| panic!("PG{v}: activity of {login}: {e:?}"));
            assert_eq!(a.availability, Availability::Available, "PG{v}: {login}");
            check_clean(v, login, &a);
            seen.push(a);
        }
        let (anna, ben, carl) = (&seen[0], &seen[1], &seen[2]);
        // Anna: two selects and a SET, nothing written.
        assert_eq!(calls(anna, StatementKind::Select), 2, "PG{v}: {anna:?}");
        assert_eq!(calls(anna, StatementKind::Other), 1, "PG{v}: {anna:?}");
        assert_eq!(anna.rows_affected(), 0);
        assert!(anna.tables_written.is_empty());
        assert_eq!(anna.top.len(), 2, "PG{v}: {anna:?}");
        // Ben: one insert, one update, two rows, the orders table.
        assert_eq!((calls(ben, StatementKind::Insert), calls(ben, StatementKind::Update)), (1, 1));
        assert_eq!(calls(ben, StatementKind::Select), 0, "PG{v}: not Anna's: {ben:?}");
        assert_eq!(ben.rows_affected(), 2);
        assert_eq!(ben.tables_written.len(), 1);
        assert_eq!(ben.tables_written[0].table, t);
        assert!(ben.top.iter().any(|s| s.text.contains("VALUES ($1, $2, $3)")), "{ben:?}");
        // Carl: a delete (0 rows), an update (1 row), SET and perhaps ALTER ROLE as other.
        assert_eq!(calls(carl, StatementKind::Delete), 1, "PG{v}: {carl:?}");
        assert_eq!(calls(carl, StatementKind::Update), 1);
        assert!((1..=2).contains(&calls(carl, StatementKind::Other)), "PG{v}: {carl:?}");
        assert_eq!(carl.rows_affected(), 1);
        assert!(carl.top.iter().all(|s| s.kind != StatementKind::Other));
        let summary = activity_summary(carl);
        assert!(
            summary.contains("1 update (1 row)") && summary.contains("tables written: `"),
            "PG{v}: {summary}"
        );
        // Nobody's summary shows another's statements.
        assert!(anna.top.iter().all(|s| s.kind == StatementKind::Select));
        assert!(ben.top.iter().all(|s| !s.text.contains("DELETE")));

        // Not a recorded per-person login: refused, and the refusal names it.
        for role in [m.names.firefighter(Level::Rw), m.names.broker(), "postgres".into()] {
            match broker.person_activity(&role, 5).await {
                Err(BrokerError::Refused { message }) => {
                    assert!(message.contains("is not a per-person firefighter login"), "{message}")
                }
                other => panic!("PG{v}: {role}: expected a refusal, got {other:?}"),
            }
        }

        // Admin without pg_read_all_stats: counts only; verify reports it with the GRANT.
        let admin = ident(&m.names.admin());
        db.batch_execute(&format!("REVOKE pg_read_all_stats FROM {admin}")).await.unwrap();
        let partial = broker.person_activity(&people[1].0, 5).await.unwrap();
        assert!(matches!(partial.availability, Availability::Partial { .. }), "PG{v}");
        assert_eq!(partial.statements(), 2, "PG{v}: {partial:?}");
        assert!(partial.top.is_empty() && partial.tables_written.is_empty());
        check_clean(v, "partial", &partial);
        let verifier = pg::login(&server, dbname, &m.names.broker(), &broker_pw).await.unwrap();
        let stats_findings = |r: pgroles::verify::Report| -> Vec<pgroles::verify::Finding> {
            r.findings.into_iter().filter(|f| f.object.contains("pg_read_all_stats")).collect()
        };
        let f = stats_findings(support::verify::verify_as(&verifier, &m).await);
        assert_eq!(f.len(), 1, "PG{v}: {f:?}");
        assert_eq!(f[0].severity, pgroles::verify::Severity::Low);
        assert_eq!(f[0].fix, format!("GRANT pg_read_all_stats TO {admin};"));
        db.batch_execute(&f[0].fix).await.unwrap();
        let f = stats_findings(support::verify::verify_as(&verifier, &m).await);
        assert!(f.is_empty(), "PG{v}: granted, and the membership is the model's: {f:?}");

        // After the end: still readable by the record (the entries remain); without the
        // extension: not available, not an error.
        broker.end_person_login(&people[1].0, "timer").await.unwrap();
        let after = broker.person_activity(&people[1].0, 5).await.unwrap();
        assert_eq!(after.rows_affected(), 2, "PG{v}: {after:?}");
        db.batch_execute("DROP EXTENSION pg_stat_statements").await.unwrap();
        let none = broker.person_activity(&people[0].0, 5).await.unwrap();
        assert!(matches!(none.availability, Availability::NotAvailable { .. }), "PG{v}");
        assert!(activity_summary(&none).contains("not available"));
        m.drop().await;
    }
}

/// Apply grants admin pg_read_all_stats as the vanilla superuser and as an emulated Aurora
/// master; a master that may not (16+ without ADMIN OPTION on it) gets a NOTICE, no failure,
/// and re-running changes nothing.
#[tokio::test]
async fn apply_grants_pg_read_all_stats_where_it_can_and_says_so_where_it_cannot() {
    for server in pg::versions() {
        let v = server.version;
        for master in ["superuser", "aurora", "noadmin"] {
            let m = Model::new(&server, "i15stats");
            let url = match master {
                "aurora" => pg::aurora_fixture(&server, &m.prefix).await.url,
                "noadmin" => pg::aurora_fixture_noadmin(&server, &m.prefix).await.url,
                _ => m.bootstrap_url.clone(),
            };
            let first = m.apply_as(&url, AuroraMode::Auto, &[]).await.expect("apply");
            // Other refusals of the no-ADMIN master are G10's and the logging settings'.
            let stats = |r: &String| r.contains("pg_read_all_stats");
            assert!(!first.refused.iter().any(stats), "PG{v} {master}: {:?}", first.refused);
            let su = m.superuser().await;
            let has: bool = su
                .query_one(
                    "SELECT pg_has_role($1, 'pg_read_all_stats', 'USAGE')",
                    &[&m.names.admin()],
                )
                .await
                .unwrap()
                .get(0);
            let can = master != "noadmin" || v < 16;
            assert_eq!(has, can, "PG{v} {master}: {:?}", first.notices);
            let said =
                if can { "granted pg_read_all_stats" } else { "not granted: pg_read_all_stats" };
            assert!(first.notices.iter().any(|n| n.contains(said)), "PG{v}: {:?}", first.notices);
            let again = m.apply_as(&url, AuroraMode::Auto, &[]).await.expect("apply again");
            assert!(!again.changes.iter().any(stats), "PG{v} {master}: {:?}", again.changes);
            assert!(!again.refused.iter().any(stats), "PG{v} {master}: {:?}", again.refused);
            if master != "noadmin" {
                assert!(again.is_noop(), "PG{v} {master}: {:?}", again.changes);
            }
            m.drop().await;
        }
    }
}
