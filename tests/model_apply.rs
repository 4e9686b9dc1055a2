//! `pgroles apply` on real PostgreSQL 15, 16 and 17: idempotent as the vanilla superuser and as
//! an emulated Aurora master, the database and schemas hardened in the catalog (not by trusting
//! a WARNING), refused grants reported, and design section 12 (another database later).

mod support;

use pgroles::config::AuroraMode;
use support::model::Model;
use support::pg;

#[tokio::test]
async fn apply_as_superuser_twice_second_run_changes_nothing() {
    for server in pg::versions() {
        let m = Model::new(&server, "idem");
        let first = m.apply().await;
        assert!(!first.changes.is_empty(), "PG{}: first run must report changes", server.version);
        assert!(first.refused.is_empty(), "PG{}: {:?}", server.version, first.refused);
        let second = m.apply().await;
        assert!(second.is_noop(), "PG{}: second run changed {:#?}", server.version, second.changes);
        m.drop().await;
    }
}

#[tokio::test]
async fn apply_as_aurora_master_twice_is_idempotent_and_grants_rds_roles() {
    for server in pg::versions() {
        let m = Model::new(&server, "aurora");
        let master = pg::aurora_fixture(&server, &m.prefix).await;
        let first = m
            .apply_as(&master.url, AuroraMode::Auto, &["broker", "app"])
            .await
            .expect("apply as master");
        assert!(first.aurora, "PG{}: rds_* roles must be detected", server.version);
        assert!(first.refused.is_empty(), "PG{}: refused {:?}", server.version, first.refused);
        let second = m
            .apply_as(&master.url, AuroraMode::Auto, &["broker", "app"])
            .await
            .expect("second apply");
        assert!(second.is_noop(), "PG{}: second run changed {:#?}", server.version, second.changes);
        assert!(second.refused.is_empty());

        let su = pg::superuser(&server, "postgres").await;
        let row = su
            .query_one(
                "SELECT pg_has_role($1, 'rds_password', 'MEMBER'), pg_has_role($2, 'rds_iam', 'MEMBER'),
                        pg_has_role($3, 'rds_iam', 'MEMBER'), pg_has_role($4, 'rds_iam', 'MEMBER')",
                &[&m.names.admin(), &m.names.broker(), &m.names.app(), &m.names.firefighter(pgroles::model::Level::Ro)],
            )
            .await
            .unwrap();
        assert!(row.get::<_, bool>(0), "admin holds rds_password");
        assert!(row.get::<_, bool>(1) && row.get::<_, bool>(2), "configured roles hold rds_iam");
        assert!(!row.get::<_, bool>(3), "firefighters never get rds_iam");
        m.drop().await;
    }
}

#[tokio::test]
async fn g10_refused_rds_grant_is_reported_not_skipped() {
    for server in pg::versions().into_iter().filter(|s| s.version >= 16) {
        let m = Model::new(&server, "refused");
        let master = pg::aurora_fixture_noadmin(&server, &m.prefix).await;
        let report = m.apply_as(&master.url, AuroraMode::Auto, &[]).await.expect("apply completes");
        assert!(
            report.refused.iter().any(|r| r.contains("refused: GRANT rds_password TO")),
            "PG{}: the refused grant must be named, got {:?}",
            server.version,
            report.refused
        );
        m.drop().await;
    }
}

#[tokio::test]
async fn g1_public_has_no_connect_temp_or_public_schema_create_in_the_catalog() {
    for server in pg::versions() {
        let m = Model::new(&server, "acl");
        let master = pg::aurora_fixture(&server, &m.prefix).await;
        m.apply_as(&master.url, AuroraMode::Auto, &[]).await.expect("apply as master");
        let su = m.superuser().await;
        let public_db: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                 WHERE d.datname = $1 AND a.grantee = 0",
                &[&m.names.database],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(public_db, 0, "PG{}: PUBLIC keeps privileges on the database", server.version);
        let row = su
            .query_one(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1",
                &[&m.names.database],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), m.names.owner());
        let public_schema: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                 WHERE n.nspname IN ('public', $1, 'db_admin') AND a.grantee = 0",
                &[&m.names.schema],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(public_schema, 0, "PG{}: PUBLIC keeps privileges on a schema", server.version);
        // Runtime roles cannot create in the database nor in the schema.
        for role in
            [m.names.app(), m.names.firefighter(pgroles::model::Level::Rw), m.names.broker()]
        {
            let row = su
                .query_one(
                    "SELECT has_database_privilege($1, $2, 'CREATE'), has_database_privilege($1, $2, 'TEMP'),
                            has_schema_privilege($1, $3, 'CREATE')",
                    &[&role, &m.names.database, &m.names.schema],
                )
                .await
                .unwrap();
            assert!(
                !row.get::<_, bool>(0) && !row.get::<_, bool>(1) && !row.get::<_, bool>(2),
                "{role}"
            );
        }
        // G6: the verification query with the name passed unquoted works.
        let usage: bool = su
            .query_one(
                "SELECT has_schema_privilege($1, $2, 'USAGE')",
                &[&m.names.broker(), &m.names.schema],
            )
            .await
            .unwrap()
            .get(0);
        assert!(!usage, "the broker has no USAGE on the application schema");
        m.drop().await;
    }
}

#[tokio::test]
async fn g3_section_12_another_database_with_its_own_owner_gets_the_same_grants() {
    for server in pg::versions() {
        let m = Model::new(&server, "sec12");
        let master = pg::aurora_fixture(&server, &m.prefix).await;
        m.apply_as(&master.url, AuroraMode::Auto, &[]).await.expect("main database");
        let mut other = Model::new(&server, "sec12");
        other.prefix = m.prefix.clone();
        other.names = m.names.clone();
        other.names.database = format!("{}-other-db", m.prefix.replace('_', "-"));
        other.names.owner = Some(format!("{}_other_owner", m.prefix));
        other.names.schema = "app".into();
        let report =
            other.apply_as(&master.url, AuroraMode::Auto, &[]).await.expect("second database");
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        let su = other.superuser().await;
        let row = su
            .query_one(
                "SELECT pg_get_userbyid(d.datdba), pg_get_userbyid(n.nspowner), has_schema_privilege($2, 'app', 'USAGE')
                 FROM pg_database d, pg_namespace n WHERE d.datname = $1 AND n.nspname = 'app'",
                &[&other.names.database, &other.names.app()],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), other.names.owner());
        assert_eq!(row.get::<_, String>(1), other.names.owner());
        assert!(row.get::<_, bool>(2));
        let again = other.apply_as(&master.url, AuroraMode::Auto, &[]).await.expect("re-run");
        assert!(again.is_noop(), "PG{}: {:#?}", server.version, again.changes);
        m.drop().await;
    }
}

#[test]
fn sql_command_prints_the_rendered_model_with_design_names() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgroles"))
        .arg("sql")
        .output()
        .expect("run pgroles sql");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("REVOKE ALL ON DATABASE \"my-pg-db\" FROM PUBLIC;"));
    assert!(text.contains("ALTER DEFAULT PRIVILEGES FOR ROLE \"my_pg_owner\"\n  REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;"));
}

#[test]
fn dry_run_shows_the_plan_and_needs_no_database() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgroles"))
        .args(["apply", "--dry-run"])
        .env_remove("PGROLES_APPLY_BOOTSTRAP_URL")
        .output()
        .expect("run pgroles apply --dry-run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("00_roles.sql") && text.contains("50_broker.sql"));
}
