//! The design's section 11 negative tests and the defects G4, G5, G7, each logged in over TCP as
//! the real role with a real password on PostgreSQL 15, 16 and 17.

mod support;

use pgroles::model::Level;
use support::model::{must_fail, Model};
use support::pg::ident;

#[tokio::test]
async fn section_11_negative_tests_give_the_design_messages() {
    for server in support::pg::versions() {
        let m = Model::new(&server, "neg");
        m.apply().await;
        m.migrate_orders().await;
        let s = ident(&m.names.schema);
        let app = m.login_as(&m.names.app()).await;
        let msg = must_fail(&app, &format!("CREATE TABLE {s}.should_fail (id bigint)")).await;
        assert_eq!(
            msg,
            format!("permission denied for schema {}", m.names.schema),
            "PG{}",
            server.version
        );
        assert_eq!(
            must_fail(&app, &format!("DELETE FROM {s}.orders WHERE id = 1")).await,
            "permission denied for table orders"
        );

        let ro = m.login_as(&m.names.firefighter(Level::Ro)).await;
        let msg =
            must_fail(&ro, &format!("UPDATE {s}.orders SET status = 'cancelled' WHERE id = 1"))
                .await;
        assert_eq!(msg, "permission denied for table orders");
        let n: i64 =
            ro.query_one(&format!("SELECT count(*) FROM {s}.orders"), &[]).await.unwrap().get(0);
        assert_eq!(n, 2, "ro can SELECT");

        let rw = m.login_as(&m.names.firefighter(Level::Rw)).await;
        assert_eq!(
            must_fail(&rw, &format!("DROP TABLE {s}.orders")).await,
            "must be owner of table orders"
        );
        assert_eq!(
            must_fail(&rw, &format!("TRUNCATE {s}.orders")).await,
            "permission denied for table orders"
        );
        assert_eq!(
            must_fail(&rw, &format!("CREATE TABLE {s}.x (id int)")).await,
            format!("permission denied for schema {}", m.names.schema)
        );
        assert!(must_fail(&rw, &format!("CREATE INDEX ON {s}.orders (amount)"))
            .await
            .starts_with("must be owner"));
        rw.batch_execute(&format!(
            "BEGIN; UPDATE {s}.orders SET status = 'cancelled' WHERE order_no = 'ORD-1001';
             DELETE FROM {s}.orders WHERE order_no = 'ORD-1002'; ROLLBACK;"
        ))
        .await
        .expect("rw may run DML");
        m.drop().await;
    }
}

#[tokio::test]
async fn app_can_select_insert_update_with_schema_on_search_path_but_not_delete() {
    for server in support::pg::versions() {
        let m = Model::new(&server, "app");
        m.apply().await;
        m.migrate_orders().await;
        let app = m.login_as(&m.names.app()).await;
        // G4: unqualified names resolve through the per-database search_path.
        app.batch_execute(
            "INSERT INTO orders (order_no, amount) VALUES ('ORD-2000', 5);
             UPDATE orders SET status = 'paid' WHERE order_no = 'ORD-2000';",
        )
        .await
        .unwrap_or_else(|e| panic!("PG{}: app DML via search_path: {e}", server.version));
        let n: i64 = app.query_one("SELECT count(*) FROM orders", &[]).await.unwrap().get(0);
        assert_eq!(n, 3);
        assert_eq!(
            must_fail(&app, "DELETE FROM orders").await,
            "permission denied for table orders"
        );
        m.drop().await;
    }
}

#[tokio::test]
async fn g5_function_created_later_is_not_executable_by_public_or_ro() {
    for server in support::pg::versions() {
        let m = Model::new(&server, "g5");
        m.apply().await;
        let migrator = m.migrate_orders().await;
        let s = ident(&m.names.schema);
        migrator
            .batch_execute(&format!(
                "SET ROLE {}; CREATE FUNCTION {s}.order_count() RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'; RESET ROLE;",
                ident(&m.names.owner())
            ))
            .await
            .unwrap();
        let ro = m.login_as(&m.names.firefighter(Level::Ro)).await;
        let msg = must_fail(&ro, &format!("SELECT {s}.order_count()")).await;
        assert_eq!(msg, "permission denied for function order_count", "PG{}", server.version);
        let su = m.superuser().await;
        let public_exec: bool = su
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                 WHERE p.proname = 'order_count' AND a.grantee = 0)",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(!public_exec, "PG{}: PUBLIC may execute a new function", server.version);
        let app = m.login_as(&m.names.app()).await;
        app.batch_execute(&format!("SELECT {s}.order_count()"))
            .await
            .expect("app has EXECUTE by default privileges");
        // Later tables get the designed grants too.
        let ro_n: i64 =
            ro.query_one(&format!("SELECT count(*) FROM {s}.orders"), &[]).await.unwrap().get(0);
        assert_eq!(ro_n, 2);
        m.drop().await;
    }
}

#[tokio::test]
async fn g7_migrator_ddl_without_set_role_fails() {
    for server in support::pg::versions() {
        let m = Model::new(&server, "g7");
        m.apply().await;
        let migrator = m.login_as(&m.names.migrator()).await;
        let msg = must_fail(
            &migrator,
            &format!("CREATE TABLE {}.sneaky (id int)", ident(&m.names.schema)),
        )
        .await;
        assert_eq!(
            msg,
            format!("permission denied for schema {}", m.names.schema),
            "PG{}",
            server.version
        );
        migrator
            .batch_execute(&format!(
                "SET ROLE {}; CREATE TABLE {}.fine (id int); RESET ROLE;",
                ident(&m.names.owner()),
                ident(&m.names.schema)
            ))
            .await
            .expect("DDL after SET ROLE owner");
        m.drop().await;
    }
}
