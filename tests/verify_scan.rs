//! How `verify` reads a big schema, on real PostgreSQL 15, 16 and 17, as the password broker:
//! - every object of a freshly migrated model carries the ACL PostgreSQL gives a new object
//!   (the hint), so the one-pass scan hands back no OID to look at;
//! - default privileges that drifted still get the objects created under them named;
//! - helpers join the primary's snapshot, and a scan split over them reports exactly what one
//!   connection reports.

mod support;

use chrono::Utc;
use pgroles::verify::{self, objects, snapshot::Snapshot, Check};
use support::model::Model;
use support::pg::ident;
use support::show_findings;
use tokio_postgres::Client;

/// Findings of `report` that concern this test (see [`support::verify::ours`]), and the number
/// of objects checked.
fn ours(m: &Model, report: verify::Report) -> (Vec<verify::Finding>, u64) {
    (support::verify::ours(m, report.findings), report.summary.objects_checked)
}

/// `orders` (with its identity sequence), a view and a function, all created as the owner.
async fn migrated(server: &support::pg::PgServer, tag: &str) -> Model {
    let m = Model::new(server, tag);
    m.apply().await;
    if server.version == 15 {
        support::verify::admin_option_until_11a(&m).await;
    }
    let migrator = m.migrate_orders().await;
    migrator
        .batch_execute(&format!(
            "SET ROLE {owner};
             CREATE VIEW {s}.open_orders AS SELECT id, order_no FROM {s}.orders;
             CREATE FUNCTION {s}.order_count() RETURNS bigint LANGUAGE sql STABLE
               AS 'SELECT count(*) FROM {s}.orders';
             RESET ROLE;",
            owner = ident(&m.names.owner()),
            s = ident(&m.names.schema)
        ))
        .await
        .expect("view and function as owner");
    m
}

async fn scan_once(primary: &Client, helpers: &[&Client], m: &Model) -> objects::Scan {
    let snap = Snapshot::begin(primary, helpers, 0).await.expect("snapshot");
    let scan = objects::scan(&snap, &m.names.schema, &m.names.owner()).await;
    snap.end().await;
    scan.expect("scan")
}

#[tokio::test]
async fn objects_of_a_fresh_model_all_carry_the_hint() {
    for server in support::pg::versions() {
        let m = migrated(&server, "shint").await;
        let broker = m.login_as(&m.names.broker()).await;
        let scan = scan_once(&broker, &[], &m).await;
        let v = server.version;
        let kinds: Vec<char> = scan.hints.iter().map(|h| h.kind).collect();
        assert_eq!(kinds, vec!['S', 'f', 'r'], "PG{v}: one hint per kind");
        assert_eq!((scan.relations, scan.sequences, scan.routines), (3, 1, 1), "PG{v}");
        assert!(
            scan.drifted_relations.is_empty() && scan.drifted_routines.is_empty(),
            "PG{v}: objects missed the hint: {scan:?}"
        );
        m.drop().await;
    }
}

#[tokio::test]
async fn drifted_default_privileges_name_the_objects_created_under_them() {
    for server in support::pg::versions() {
        let m = migrated(&server, "sdefault").await;
        let (owner, app) = (ident(&m.names.owner()), ident(&m.names.app()));
        let s = ident(&m.names.schema);
        let su = m.superuser().await;
        su.batch_execute(&format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {s} GRANT DELETE ON TABLES TO {app};
             SET ROLE {owner}; CREATE TABLE {s}.late (id int); RESET ROLE;"
        ))
        .await
        .unwrap();
        let broker = m.login_as(&m.names.broker()).await;
        let report = support::verify::verify_as(&broker, &m).await;
        let v = server.version;
        let all = show_findings(&report.findings);
        assert_eq!(report.findings.len(), 2, "PG{v}:\n{all}");
        let default = report.findings.iter().find(|f| f.check == Check::DefaultPrivileges);
        assert!(default.is_some(), "PG{v}: the default privilege:\n{all}");
        let late = report.findings.iter().find(|f| f.check == Check::ObjectPrivileges);
        let names = late.and_then(|f| f.objects.as_ref()).map(|o| o.names.clone());
        assert_eq!(names, Some(vec!["late".to_string()]), "PG{v}: only the new table:\n{all}");
        for f in &report.findings {
            su.batch_execute(&f.fix).await.unwrap_or_else(|e| panic!("PG{v}: {}: {e}", f.fix));
        }
        let after = support::verify::verify_as(&broker, &m).await;
        assert!(after.findings.is_empty(), "PG{v}: fixed:\n{}", show_findings(&after.findings));
        m.drop().await;
    }
}

#[tokio::test]
async fn helpers_read_the_snapshot_the_primary_exported() {
    let server = &support::pg::versions()[0];
    let m = migrated(server, "ssnap").await;
    let (broker, helper) =
        (m.login_as(&m.names.broker()).await, m.login_as(&m.names.broker()).await);
    let su = m.superuser().await;
    let grant =
        format!("GRANT DELETE ON {}.orders TO {}", ident(&m.names.schema), ident(&m.names.app()));

    let never = Snapshot::begin(&broker, &[&helper], u32::MAX).await.unwrap();
    assert_eq!(never.workers.len(), 1, "a small pg_class is scanned by one connection");
    never.end().await;

    let snap = Snapshot::begin(&broker, &[&helper], 0).await.unwrap();
    assert_eq!(snap.workers.len(), 2);
    su.batch_execute(&grant).await.unwrap();
    let during = objects::scan(&snap, &m.names.schema, &m.names.owner()).await.unwrap();
    snap.end().await;
    assert!(during.drifted_relations.is_empty(), "a grant after the snapshot is not seen");
    assert_eq!(during.relations, 3);

    let after = scan_once(&broker, &[&helper], &m).await;
    assert_eq!(after.drifted_relations.len(), 1, "the next run sees it");
    m.drop().await;
}

#[tokio::test]
async fn a_split_scan_reports_what_one_connection_reports() {
    for server in support::pg::versions() {
        let m = migrated(&server, "ssplit").await;
        let (owner, app) = (ident(&m.names.owner()), ident(&m.names.app()));
        let s = ident(&m.names.schema);
        let su = m.superuser().await;
        // Enough tables for pg_class to span several pages, drift scattered among them.
        let s_lit = format!("'{}'", s.replace('\'', "''"));
        su.batch_execute(&format!(
            "SET ROLE {owner};
             DO $$ BEGIN FOR i IN 1..300 LOOP
               EXECUTE format('CREATE TABLE %s.%I (id int)', {s_lit}, 'bulk_' || i);
             END LOOP; END $$;
             RESET ROLE;
             GRANT DELETE ON {s}.bulk_7, {s}.bulk_250 TO {app};
             GRANT SELECT ON {s}.bulk_120 TO PUBLIC;
             ALTER TABLE {s}.bulk_299 OWNER TO {mig};",
            mig = ident(&m.names.migrator()),
        ))
        .await
        .unwrap();
        let (broker, helper) =
            (m.login_as(&m.names.broker()).await, m.login_as(&m.names.broker()).await);
        let one = verify::run(&broker, &m.names, Utc::now()).await.unwrap();
        let split =
            verify::run_with_helpers(&broker, &[&helper], 0, &m.names, Utc::now()).await.unwrap();
        let (one, split) = (ours(&m, one), ours(&m, split));
        let v = server.version;
        assert_eq!(one.0.len(), 3, "PG{v}:\n{}", show_findings(&one.0));
        assert_eq!(one, split, "PG{v}");
        m.drop().await;
    }
}

#[tokio::test]
async fn the_cli_reads_with_several_jobs_and_refuses_too_many() {
    let server = &support::pg::versions()[0];
    let m = migrated(server, "sjobs").await;
    let su = m.superuser().await;
    let grant =
        format!("GRANT DELETE ON {}.orders TO {}", ident(&m.names.schema), ident(&m.names.app()));
    su.batch_execute(&grant).await.unwrap();
    let password = m.set_password(&m.names.broker()).await;
    let url = server.login_url(&m.names.database, &m.names.broker(), &password);
    let verify = |jobs: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pgroles"))
            .args(["verify", "--format", "json", "--jobs", jobs])
            .env_clear()
            .env("PGROLES_VERIFY_URL", &url)
            .env("PGROLES_MODEL_ROLE_PREFIX", &m.names.role_prefix)
            .env("PGROLES_MODEL_DATABASE", &m.names.database)
            .env("PGROLES_MODEL_SCHEMA", &m.names.schema)
            .output()
            .expect("run pgroles verify")
    };
    let out = verify("3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "drift: {stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // Not ours: the shared cluster's `postgres` and `template1` stay open to PUBLIC.
    let findings: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] != "other_database")
        .collect();
    assert_eq!(findings.len(), 1, "{doc:#}");
    assert_eq!(findings[0]["check"], "object_privileges");

    let refused = verify("9");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--jobs"));
    assert!(refused.stdout.is_empty());
    m.drop().await;
}
