//! Issue 15, "Activity": `db_admin.person_activity` (`sql/59_person_activity.sql`) against a
//! hostile broker over direct SQL. Whatever the broker's session (search_path through a schema
//! it owns holding a fake `pg_stat_statements` view and function, a foreign DateStyle and time
//! zone), the function reads the extension's own view, answers only for recorded per-person
//! logins, bounds `top_n`, and returns no literal value, not even of a statement made to look
//! like a plannable one.

use super::person::{create, verifier};
use crate::support::model::{db_message, Model};
use crate::support::pg::{self, ident};
use crate::PLAINTEXT;
use tokio_postgres::Client;

/// `person_activity` as rows of `section|kind|item|calls|rows`, or the server's message.
pub async fn activity(broker: &Client, login: &str, top: i32) -> Result<Vec<String>, String> {
    broker
        .query(
            "SELECT concat_ws('|', section, kind, coalesce(item, ''), calls, rows) \
             FROM db_admin.person_activity($1, $2)",
            &[&login, &top],
        )
        .await
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .map_err(|e| db_message(&e))
}

/// Literal values the test's statements carry; none may come back.
const SECRETS: [&str; 7] =
    ["ORD-SECRET-7", "ORD-1001", "hunter2-Pa55", "4111111111", "Zq9SECRETfake", "64MB", "731"];

#[tokio::test]
async fn i15_activity_reads_only_the_extension_and_never_a_literal_whatever_the_broker_set() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i15act");
        m.apply().await;
        m.migrate_orders().await;
        let db = m.superuser().await;
        let broker_role = ident(&m.names.broker());
        // The extension in a schema of its own; a schema the broker owns with fakes in it.
        db.batch_execute(&format!(
            "CREATE SCHEMA pgss; GRANT USAGE ON SCHEMA pgss TO PUBLIC;
             CREATE EXTENSION pg_stat_statements SCHEMA pgss;
             CREATE SCHEMA evil AUTHORIZATION {broker_role};"
        ))
        .await
        .unwrap_or_else(|e| panic!("PG{v}: extension: {}", db_message(&e)));
        let broker = m.login_as(&m.names.broker()).await;
        let (login, _) = create(&broker, "rw", "U0ACT1", "0000a0a1", &verifier(), 30)
            .await
            .unwrap_or_else(|e| panic!("PG{v}: create: {e}"));
        let ff = pg::login(&server, &m.names.database, &login, PLAINTEXT).await.unwrap();
        let table = format!("{}.orders", ident(&m.names.schema));
        ff.batch_execute(&format!(
            "SELECT * FROM {table} WHERE order_no = 'ORD-SECRET-7' AND amount < 4111111111;
             UPDATE {table} SET status = 'Zq9SECRETfake' WHERE order_no = 'ORD-1001';
             SET work_mem = '64MB';
             /* /* */ SELECT */ SELECT 731 AS x;
             DO $$ BEGIN PERFORM 1; END $$;"
        ))
        .await
        .unwrap_or_else(|e| panic!("PG{v}: the login's statements: {}", db_message(&e)));
        // Its own password change goes through (a role may set its own) or not: never shown.
        let _ = ff
            .batch_execute(&format!("ALTER ROLE {} PASSWORD 'hunter2-Pa55'", ident(&login)))
            .await;

        // The broker's hostile session: its schema first, with a fake view and function that
        // name the login and carry a literal.
        let oid: u32 = db
            .query_one("SELECT oid FROM pg_roles WHERE rolname = $1", &[&login])
            .await
            .unwrap()
            .get(0);
        broker
            .batch_execute(&format!(
                "CREATE VIEW evil.pg_stat_statements AS SELECT {oid}::oid AS userid, \
                   (SELECT oid FROM pg_database WHERE datname = current_database()) AS dbid, \
                   true AS toplevel, 999::int8 AS calls, 999::int8 AS rows, \
                   1.0::float8 AS total_exec_time, 'SELECT ''FAKE-4111111111''' AS query;
                 CREATE FUNCTION evil.pg_stat_statements(boolean) RETURNS SETOF evil.pg_stat_statements \
                   LANGUAGE sql AS 'SELECT * FROM evil.pg_stat_statements';
                 SET search_path = evil, pg_temp, public; SET DateStyle = 'SQL, DMY';
                 SET TimeZone = 'CST-167'; SET IntervalStyle = 'sql_standard';"
            ))
            .await
            .unwrap_or_else(|e| panic!("PG{v}: the broker's fakes: {}", db_message(&e)));
        let rows = activity(&broker, &login, 20).await.unwrap_or_else(|e| panic!("PG{v}: {e}"));
        let all = rows.join("\n");
        assert!(rows[0].starts_with("status|available|pg_stat_statements "), "PG{v}: {all}");
        for secret in SECRETS.iter().chain(&["FAKE", "999"]) {
            assert!(!all.contains(secret), "PG{v}: {secret} in\n{all}");
        }
        assert!(!all.contains('\''), "PG{v}: no quote at all:\n{all}");
        assert!(all.contains("kind|update||1|1"), "PG{v}: one update, one row:\n{all}");
        assert!(all.contains(&format!("table|update|{}.orders|1|1", ident(&m.names.schema))));
        assert!(
            all.contains(&format!(
                "top|select|SELECT * FROM {table} WHERE order_no = $1 AND amount < $2|1|0"
            )),
            "PG{v}: the select as normalized:\n{all}"
        );
        // SET, DO, ALTER ROLE (if it ran) and the disguised SELECT count as other, no text.
        let other: Vec<&String> = rows.iter().filter(|r| r.starts_with("kind|other|")).collect();
        assert_eq!(other.len(), 1, "PG{v}:\n{all}");
        assert!(rows.iter().filter(|r| r.starts_with("top|")).all(|r| !r.contains("other")));

        // top_n is bounded; NULL, negative and huge are refused.
        for top in [21, -1, i32::MAX, i32::MIN] {
            let e = activity(&broker, &login, top).await.expect_err("refused");
            assert_eq!(e, "top_n must be 0 to 20", "PG{v}");
        }
        let e = broker
            .query("SELECT * FROM db_admin.person_activity($1, NULL)", &[&login])
            .await
            .expect_err("NULL refused");
        assert_eq!(db_message(&e), "top_n must be 0 to 20");
        let none = activity(&broker, &login, 0).await.unwrap();
        assert!(none.iter().all(|r| !r.starts_with("top|")), "PG{v}: top 0");

        // Only recorded per-person logins: not the model's roles, not postgres, not a role of
        // the login pattern that was never recorded, not NULL.
        let fake = format!("{}ff_rw_u0fake_0000ffff", m.names.role_prefix);
        db.batch_execute(&format!("CREATE ROLE {} LOGIN", ident(&fake))).await.unwrap();
        for role in [
            m.names.broker(),
            m.names.admin(),
            m.names.firefighter(pgroles::model::Level::Rw),
            "postgres".to_string(),
            fake,
        ] {
            let e = activity(&broker, &role, 5).await.expect_err("refused");
            assert_eq!(e, format!("role {role} is not a per-person firefighter login"), "PG{v}");
        }
        let e = broker
            .query("SELECT * FROM db_admin.person_activity(NULL, 5)", &[])
            .await
            .expect_err("NULL login refused");
        assert_eq!(db_message(&e), "role <NULL> is not a per-person firefighter login");

        // Not installed: "not available", even with a view of that name in a schema the broker
        // controls (and in the extension's old schema).
        db.batch_execute("DROP EXTENSION pg_stat_statements; CREATE VIEW pgss.pg_stat_statements AS SELECT 1 AS x")
            .await
            .unwrap();
        let rows = activity(&broker, &login, 5).await.unwrap();
        assert_eq!(
            rows,
            ["status|not available|pg_stat_statements is not installed in this database"],
            "PG{v}"
        );
        m.drop().await;
    }
}
