//! Verify in the integration tests: a model as a migration leaves it, verify as a given login
//! (findings about other engineers' databases on the shared clusters left out), and the
//! inject-report-fix-clean cycle every drift test runs.

use super::model::Model;
use super::pg::{ident, PgServer};
use super::show_findings;
use chrono::Utc;
use pgroles::verify::{self, Check, Finding, Report, Severity};
use tokio_postgres::Client;

/// A model as a migration leaves it: `orders` created as the owner, and a function created
/// later, also as the owner (default privileges apply).
pub async fn fresh_model(server: &PgServer, tag: &str) -> Model {
    let m = Model::new(server, tag);
    m.apply().await;
    if server.version == 15 {
        admin_option_until_11a(&m).await;
    }
    let migrator = m.migrate_orders().await;
    migrator
        .batch_execute(&format!(
            "SET ROLE {owner};
             CREATE FUNCTION {s}.order_total() RETURNS numeric LANGUAGE sql STABLE
               AS 'SELECT coalesce(sum(amount), 0) FROM {s}.orders';
             RESET ROLE;",
            owner = ident(&m.names.owner()),
            s = ident(&m.names.schema)
        ))
        .await
        .expect("later function as owner");
    m
}

/// Verify as `broker`. The shared test clusters are not hardened (`postgres` and `template1`
/// keep PUBLIC's CONNECT, which other engineers' tests rely on), so findings about databases
/// other than this test's own are left out here; `tests/verify_cluster.rs` checks a whole
/// hardened cluster of its own.
pub async fn verify_as(broker: &Client, m: &Model) -> Report {
    let r = verify::run(broker, &m.names, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("PG{}: verify failed: {e}", m.pg.version));
    let findings = ours(m, r.findings);
    Report::new(
        r.generated_at,
        r.server_version,
        r.database,
        r.schema,
        findings,
        r.sessions,
        r.summary.objects_checked,
    )
}

/// `findings` without those about databases other engineers' tests made on the shared
/// clusters (or `postgres` and `template1`, which stay open there).
pub fn ours(m: &Model, findings: Vec<Finding>) -> Vec<Finding> {
    let prefix = ident(&m.prefix.replace('_', "-"));
    let prefix = &prefix[..prefix.len() - 1];
    findings
        .into_iter()
        .filter(|f| f.check != Check::OtherDatabase || f.object.contains(prefix))
        .collect()
}

/// Issue 9 on PostgreSQL 15: admin's ADMIN OPTION on the owner role comes with engineer 11a's
/// `sql/05_owner.sql`; until that lands, granted here by hand (a no-op once it has).
pub async fn admin_option_until_11a(m: &Model) {
    let su = m.superuser().await;
    su.batch_execute(&format!(
        "GRANT {} TO {} WITH ADMIN OPTION",
        ident(&m.names.owner()),
        ident(&m.names.admin())
    ))
    .await
    .expect("grant admin ADMIN OPTION on the owner");
}

/// Verifies, expects exactly one finding like `drift`, runs its fix as the superuser, and
/// expects no drift afterwards.
pub async fn expect_once_then_fix(
    m: &Model,
    broker: &Client,
    su: &Client,
    name: &str,
    want: (Check, Severity, Option<&str>),
) -> Finding {
    let v = m.pg.version;
    let report = verify_as(broker, m).await;
    assert_eq!(
        report.findings.len(),
        1,
        "PG{v}: {name}: expected exactly one finding, got:\n{}",
        show_findings(&report.findings)
    );
    let f = &report.findings[0];
    assert_eq!((f.check, f.severity), (want.0, want.1), "PG{v}: {name}: {f:#?}");
    assert_eq!(f.role.as_deref(), want.2, "PG{v}: {name}: {f:#?}");
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.to_json()["summary"]["total"], 1);
    su.batch_execute(&f.fix)
        .await
        .unwrap_or_else(|e| panic!("PG{v}: {name}: fix failed: {e:?}\n{}", f.fix));
    let after = verify_as(broker, m).await;
    assert!(
        after.findings.is_empty(),
        "PG{v}: {name}: still drifted after the fix\n{}\n{}",
        f.fix,
        show_findings(&after.findings)
    );
    f.clone()
}
