//! Databases other than the application database: no role of the model may connect to one, or
//! create TEMP objects in one (issue 10). PostgreSQL gives PUBLIC CONNECT and TEMPORARY on every
//! new database, `postgres` included, so an unhardened cluster fails this check: the fix is the
//! statement a DBA would run, and `pgroles apply --harden-cluster` (`sql/70_harden_cluster.sql`)
//! runs it, keeping today's access of the roles outside the model.
//!
//! Pure: rows in, findings out (one per database).

use super::catalog::OtherDatabaseRow;
use super::check_roles::finding;
use super::findings::{ident, Check, Finding, Severity};
use std::collections::BTreeMap;

/// `CONNECT, TEMPORARY` style text of what a row's role may do.
fn abilities(row: &OtherDatabaseRow) -> String {
    let mut v = Vec::new();
    if row.connect {
        v.push("CONNECT");
    }
    if row.temp {
        v.push("TEMPORARY");
    }
    v.join(", ")
}

/// Where the privilege comes from, for the finding's text.
fn source(row: &OtherDatabaseRow) -> &'static str {
    if row.owns {
        "owner"
    } else if !row.own_privs.is_empty() {
        "granted to the role"
    } else if !row.public_privs.is_empty() {
        "through PUBLIC"
    } else {
        "through a role it is a member of"
    }
}

/// One finding per other database some model role may connect to or create TEMP objects in.
pub fn other_databases(rows: &[OtherDatabaseRow]) -> Vec<Finding> {
    let mut by_db: BTreeMap<&str, Vec<&OtherDatabaseRow>> = BTreeMap::new();
    for row in rows {
        by_db.entry(row.database.as_str()).or_default().push(row);
    }
    let mut out = Vec::new();
    for (db, rows) in by_db {
        let d = ident(db);
        let mut fix = Vec::new();
        let public: Vec<&str> = rows
            .iter()
            .flat_map(|r| r.public_privs.iter())
            .map(String::as_str)
            .filter(|p| *p == "CONNECT" || *p == "TEMPORARY")
            .collect();
        if !public.is_empty() {
            fix.push(format!(
                "-- keeps today's access of every login outside the model first \
                 (pgroles apply --harden-cluster does both)\n\
                 -- GRANT CONNECT, TEMPORARY ON DATABASE {d} TO <each such login>;\n\
                 REVOKE CONNECT, TEMPORARY ON DATABASE {d} FROM PUBLIC;"
            ));
        }
        for r in rows.iter().filter(|r| !r.own_privs.is_empty()) {
            fix.push(format!("REVOKE CONNECT, TEMPORARY ON DATABASE {d} FROM {};", ident(&r.role)));
        }
        for r in rows.iter().filter(|r| r.owns) {
            fix.push(format!("-- {d} is owned by {}: change its owner", ident(&r.role)));
        }
        let role = if rows.len() == 1 { rows[0].role.as_str() } else { "PUBLIC" };
        let actual = rows
            .iter()
            .map(|r| format!("{}: {} ({})", ident(&r.role), abilities(r), source(r)))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(finding(
            Severity::High,
            Check::OtherDatabase,
            format!("database {d}"),
            if public.is_empty() { role } else { "PUBLIC" },
            "no role of the model may connect to it or create TEMP objects in it".into(),
            actual,
            fix.join("\n"),
        ));
    }
    out
}
