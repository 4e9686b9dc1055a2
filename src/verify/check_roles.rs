//! Cluster-level checks: attributes of the model's roles, and memberships in and of them
//! (including PostgreSQL 16+ membership options and CREATEROLE's automatic grants).
//!
//! Pure: catalog rows and the expected model in, findings out.

use super::catalog::{MembershipRow, RoleRow};
use super::findings::{ident, Check, Finding, Severity};
use crate::model::expected::{Expected, MembershipSpec};
use std::collections::BTreeMap;

/// Predefined roles whose membership gives a model role power over the whole cluster.
const DANGEROUS_ROLES: &[&str] = &[
    "pg_read_all_data",
    "pg_write_all_data",
    "pg_execute_server_program",
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_signal_backend",
    "rds_superuser",
];

pub(super) fn finding(
    severity: Severity,
    check: Check,
    object: String,
    role: &str,
    expected: String,
    actual: String,
    fix: String,
) -> Finding {
    Finding {
        severity,
        check,
        object,
        role: Some(role.to_string()),
        expected,
        actual,
        fix,
        objects: None,
    }
}

/// LOGIN, SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS, INHERIT, CONNECTION LIMIT.
pub fn role_attributes(exp: &Expected, rows: &[RoleRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    for spec in exp.roles() {
        let object = format!("role {}", ident(&spec.name));
        let Some(row) = rows.iter().find(|r| r.name == spec.name) else {
            out.push(finding(
                Severity::High,
                Check::RoleAttribute,
                object,
                &spec.name,
                "the role exists".into(),
                "missing".into(),
                "-- the model is not applied: run `pgroles apply` (sql/00_roles.sql, 05_owner.sql)"
                    .into(),
            ));
            continue;
        };
        // (attribute, expected, actual, severity when present but not expected, when absent)
        let flags = [
            ("SUPERUSER", false, row.superuser, Severity::Critical, Severity::Medium),
            ("BYPASSRLS", false, row.bypassrls, Severity::Critical, Severity::Medium),
            ("REPLICATION", false, row.replication, Severity::Critical, Severity::Medium),
            ("CREATEROLE", spec.createrole, row.createrole, Severity::High, Severity::Medium),
            ("CREATEDB", spec.createdb, row.createdb, Severity::High, Severity::Medium),
            ("LOGIN", spec.login, row.login, Severity::High, Severity::Medium),
            ("INHERIT", spec.inherit, row.inherit, Severity::High, Severity::Medium),
        ];
        for (attr, want, have, if_extra, if_missing) in flags {
            if want == have {
                continue;
            }
            let word = |on: bool| if on { attr.to_string() } else { format!("NO{attr}") };
            out.push(finding(
                if have { if_extra } else { if_missing },
                Check::RoleAttribute,
                object.clone(),
                &spec.name,
                word(want),
                word(have),
                format!("ALTER ROLE {} {};", ident(&spec.name), word(want)),
            ));
        }
        if row.connlimit != spec.connlimit {
            out.push(finding(
                Severity::Low,
                Check::RoleAttribute,
                object.clone(),
                &spec.name,
                format!("CONNECTION LIMIT {}", spec.connlimit),
                format!("CONNECTION LIMIT {}", row.connlimit),
                format!("ALTER ROLE {} CONNECTION LIMIT {};", ident(&spec.name), spec.connlimit),
            ));
        }
    }
    out
}

/// On 16+ a CREATEROLE non-superuser that creates a role is granted ADMIN OPTION on it,
/// without INHERIT or SET, by the bootstrap superuser. Such rows are expected noise.
fn is_automatic_creator_grant(exp: &Expected, row: &MembershipRow) -> bool {
    exp.pg16()
        && row.admin
        && row.inherit == Some(false)
        && row.set == Some(false)
        && row.grantor_is_superuser
}

fn granted_by(exp: &Expected, row: &MembershipRow) -> String {
    match (&row.grantor, exp.pg16()) {
        (Some(g), true) => format!(" GRANTED BY {}", ident(g)),
        _ => String::new(),
    }
}

/// Statements that take `option` (`ADMIN`, `INHERIT`, `SET`) away, one per granting row.
fn revoke_option(exp: &Expected, option: &str, rows: &[&MembershipRow]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "REVOKE {option} OPTION FOR {} FROM {}{};",
                ident(&r.role),
                ident(&r.member),
                granted_by(exp, r)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn revoke_membership(exp: &Expected, rows: &[&MembershipRow]) -> String {
    rows.iter()
        .map(|r| {
            format!("REVOKE {} FROM {}{};", ident(&r.role), ident(&r.member), granted_by(exp, r))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn grant_membership(exp: &Expected, spec: &MembershipSpec) -> String {
    let mut opts = Vec::new();
    if spec.admin == Some(true) {
        opts.push("ADMIN TRUE");
    }
    if exp.pg16() {
        match spec.inherit {
            Some(true) => opts.push("INHERIT TRUE"),
            Some(false) => opts.push("INHERIT FALSE"),
            None => {}
        }
        match spec.set {
            Some(true) => opts.push("SET TRUE"),
            Some(false) => opts.push("SET FALSE"),
            None => {}
        }
    }
    let with = if opts.is_empty() {
        String::new()
    } else if exp.pg16() {
        format!(" WITH {}", opts.join(", "))
    } else {
        " WITH ADMIN OPTION".to_string()
    };
    format!("GRANT {} TO {}{with};", ident(&spec.role), ident(&spec.member))
}

/// Whether one membership row grants an option.
type OptionHeld = fn(&MembershipRow) -> bool;

/// Unexpected members of model roles, model roles in unexpected roles, and membership options.
pub fn memberships(exp: &Expected, rows: &[MembershipRow]) -> Vec<Finding> {
    let model = exp.names.all_roles();
    let admin = exp.names.admin();
    let firefighters = exp.firefighters();
    let specs = exp.memberships();
    let expected_pair =
        |row: &MembershipRow| specs.iter().any(|s| s.role == row.role && s.member == row.member);
    let mut pairs: BTreeMap<(String, String), Vec<&MembershipRow>> = BTreeMap::new();
    for row in rows {
        // Noise, unless it is part of an expected membership: admin's ADMIN OPTION on the
        // owner role it created is that automatic grant on 16+ (issue 9).
        if is_automatic_creator_grant(exp, row) && !expected_pair(row) {
            continue;
        }
        // The bootstrap DBA runs the scripts as admin (00_roles.sql grants it admin).
        if row.role == admin && row.member_is_bootstrap && !model.contains(&row.member) {
            continue;
        }
        pairs.entry((row.role.clone(), row.member.clone())).or_default().push(row);
    }
    let mut out = Vec::new();
    for spec in &specs {
        let object = format!("membership of {} in {}", ident(&spec.member), ident(&spec.role));
        let Some(rows) = pairs.get(&(spec.role.clone(), spec.member.clone())) else {
            out.push(finding(
                Severity::Medium,
                Check::Membership,
                object,
                &spec.member,
                "member".into(),
                "not a member".into(),
                grant_membership(exp, spec),
            ));
            continue;
        };
        let options: [(&str, Option<bool>, OptionHeld); 3] = [
            ("ADMIN", spec.admin, |r| r.admin),
            ("INHERIT", spec.inherit, |r| r.inherit == Some(true)),
            ("SET", spec.set, |r| r.set == Some(true)),
        ];
        for (option, want, has) in options {
            let Some(want) = want else { continue };
            let holding: Vec<&MembershipRow> = rows.iter().copied().filter(|r| has(r)).collect();
            let have = !holding.is_empty();
            if have == want {
                continue;
            }
            let fix = if want {
                format!(
                    "GRANT {} TO {} WITH {option} {};",
                    ident(&spec.role),
                    ident(&spec.member),
                    if exp.pg16() { "TRUE" } else { "OPTION" }
                )
            } else {
                revoke_option(exp, option, &holding)
            };
            out.push(finding(
                if have { Severity::High } else { Severity::Medium },
                Check::Membership,
                object.clone(),
                &spec.member,
                format!("{option} {}", if want { "TRUE" } else { "FALSE" }),
                format!("{option} {}", if have { "TRUE" } else { "FALSE" }),
                fix,
            ));
        }
    }
    for ((role, member), rows) in &pairs {
        if specs.iter().any(|s| &s.role == role && &s.member == member) {
            continue;
        }
        let into_model = model.contains(role);
        if !into_model {
            // Issue 15: admin reads other logins' statements (sql/59_person_activity.sql).
            let allowed = ((role == "rds_password" || role == "pg_read_all_stats")
                && member == &admin)
                || (role == "rds_iam" && !firefighters.contains(member));
            if allowed {
                continue;
            }
        }
        let dangerous =
            rows.iter().any(|r| r.role_is_superuser) || DANGEROUS_ROLES.contains(&role.as_str());
        out.push(finding(
            if dangerous { Severity::Critical } else { Severity::High },
            Check::Membership,
            format!("membership of {} in {}", ident(member), ident(role)),
            member,
            if into_model {
                format!("{} has no member {}", ident(role), ident(member))
            } else {
                format!("{} is not a member of {}", ident(member), ident(role))
            },
            format!(
                "member (granted by {})",
                rows.iter()
                    .map(|r| r.grantor.clone().unwrap_or_else(|| "?".into()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            revoke_membership(exp, rows),
        ));
    }
    out
}
