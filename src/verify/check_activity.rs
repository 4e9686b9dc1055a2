//! Activity summaries (issue 15, `sql/59_person_activity.sql`) in `verify`: where
//! `pg_stat_statements` is installed in the verified database, the admin role needs
//! `pg_read_all_stats` to read another login's statements; without it the summaries in the
//! incident's thread carry counts only. `apply` grants it where the bootstrap DBA may; this
//! reports the rest (low: a tuning finding, nobody gains access) with the GRANT to run.
//!
//! Owns its one small query and the finding. Must not change the database.

use super::findings::{ident, Check, Finding, Severity};
use super::rows::q;
use super::VerifyError;
use crate::model::Names;
use tokio_postgres::types::Type;
use tokio_postgres::Client;

/// What verify reads: whether the extension is installed here, and whether admin has the
/// privileges of `pg_read_all_stats` (`None`: the admin role does not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsAccess {
    pub pg_stat_statements: bool,
    pub admin_reads_all_stats: Option<bool>,
}

const QUERY: &str = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e \
     WHERE e.extname = 'pg_stat_statements') AS installed, \
     (SELECT pg_catalog.pg_has_role(r.oid, 'pg_read_all_stats', 'USAGE') \
      FROM pg_catalog.pg_roles r WHERE r.rolname = $1) AS reads";

pub async fn read(client: &Client, names: &Names) -> Result<StatsAccess, VerifyError> {
    let admin = names.admin();
    let rows = client
        .query_typed(QUERY, &[(&admin, Type::TEXT)])
        .await
        .map_err(q("pg_stat_statements and pg_read_all_stats"))?;
    let Some(row) = rows.first() else {
        return Ok(StatsAccess { pg_stat_statements: false, admin_reads_all_stats: None });
    };
    Ok(StatsAccess {
        pg_stat_statements: row.try_get("installed").map_err(q("pg_stat_statements"))?,
        admin_reads_all_stats: row.try_get("reads").map_err(q("pg_read_all_stats"))?,
    })
}

/// A low finding when the extension is installed but admin cannot read all statistics.
pub fn stats_access(names: &Names, access: StatsAccess) -> Vec<Finding> {
    if !access.pg_stat_statements || access.admin_reads_all_stats != Some(false) {
        return vec![];
    }
    let admin = names.admin();
    vec![Finding {
        severity: Severity::Low,
        check: Check::Membership,
        object: format!("membership of {} in \"pg_read_all_stats\"", ident(&admin)),
        role: Some(admin.clone()),
        expected: "member (pg_stat_statements is installed: activity summaries read the \
                   per-person logins' statements as admin)"
            .into(),
        actual: "not a member: summaries show counts only, no kinds, tables or text".into(),
        fix: format!("GRANT pg_read_all_stats TO {};", ident(&admin)),
        objects: None,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_installed_extension_without_the_privilege_is_reported() {
        let n = Names::with_prefix("p");
        let at = |i, r| StatsAccess { pg_stat_statements: i, admin_reads_all_stats: r };
        assert!(stats_access(&n, at(false, Some(false))).is_empty());
        assert!(stats_access(&n, at(true, Some(true))).is_empty());
        assert!(stats_access(&n, at(true, None)).is_empty(), "no admin: reported elsewhere");
        let f = stats_access(&n, at(true, Some(false)));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Low);
        assert_eq!(f[0].fix, "GRANT pg_read_all_stats TO \"p_admin\";");
    }
}
