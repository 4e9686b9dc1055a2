//! Per-person firefighter logins (issue 15, `sql/56_person_logins.sql`) in `verify`: a recorded,
//! live login's membership in its firefighter role (and admin's membership in the login) is
//! expected; any other member of a firefighter role is critical; an ended login still present,
//! and a live one whose attributes, validity or settings differ from the model, are reported.
//!
//! Reads the record through `<admin schema>.person_logins(true)` when the verifying login may
//! execute it (the broker); otherwise the memberships are judged as before (every member of a
//! firefighter role that is not in the model is a finding). Owns the query and the judgement;
//! the membership rows themselves are read by [`super::catalog`].

use super::catalog::MembershipRow;
use super::findings::{ident, Check, Finding, Severity};
use super::VerifyError;
use crate::model::expected::{Expected, MAX_FIREFIGHTER_VALIDITY_SECS};
use crate::model::settings::SettingValue;
use chrono::{DateTime, Utc};
use tokio_postgres::Client;

const QUERY: &str = include_str!("../../sql/queries/verify_person_logins.sql");
const CAN_READ: &str = "SELECT pg_catalog.has_function_privilege(p.oid, 'EXECUTE') \
     FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
     WHERE n.nspname = $1::text AND p.proname = 'person_logins' AND p.pronargs = 1";

/// One recorded per-person login and, if it exists, what the catalog holds for it.
#[derive(Debug, Clone)]
pub struct PersonRecord {
    pub login: String,
    /// Its firefighter role.
    pub role: String,
    pub ended: bool,
    pub end_outcome: Option<String>,
    pub exists: bool,
    /// Any of SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS, NOINHERIT.
    pub privileged: bool,
    pub can_login: bool,
    pub valid_until: Option<DateTime<Utc>>,
    /// `database|key=value` (`|key=value` role-wide), sorted.
    pub settings: Vec<String>,
}

/// The record, or `None` when this login may not read it (or the function does not exist).
pub async fn read(
    client: &Client,
    admin_schema: &str,
) -> Result<Option<Vec<PersonRecord>>, VerifyError> {
    let can = client
        .query_opt(CAN_READ, &[&admin_schema])
        .await
        .map_err(|e| VerifyError::query("per-person login access", &e))?
        .is_some_and(|r| r.get::<_, Option<bool>>(0) == Some(true));
    if !can {
        return Ok(None);
    }
    let rows = client
        .query(&QUERY.replace("{admin_schema}", &ident(admin_schema)), &[])
        .await
        .map_err(|e| VerifyError::query("per-person logins", &e))?;
    rows.iter()
        .map(|r| {
            Ok(PersonRecord {
                login: r.try_get("login")?,
                role: r.try_get("role")?,
                ended: r.try_get("ended")?,
                end_outcome: r.try_get("end_outcome")?,
                exists: r.try_get("role_exists")?,
                privileged: r.try_get("privileged")?,
                can_login: r.try_get("can_login")?,
                valid_until: r.try_get("valid_until")?,
                settings: r.try_get("settings")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map(Some)
        .map_err(|e| VerifyError::query("per-person logins", &e))
}

fn finding(
    severity: Severity,
    check: Check,
    login: &str,
    expected: &str,
    actual: String,
    fix: String,
) -> Finding {
    Finding {
        severity,
        check,
        object: format!("per-person login {}", ident(login)),
        role: Some(login.to_string()),
        expected: expected.to_string(),
        actual,
        fix,
        objects: None,
    }
}

/// Splits the membership rows: those of recorded per-person logins are judged here (and
/// removed), every other member of a firefighter role outside the model is critical (and
/// removed); the rest go on to [`super::check_roles::memberships`].
pub fn memberships(
    exp: &Expected,
    rows: &[MembershipRow],
    people: &[PersonRecord],
) -> (Vec<MembershipRow>, Vec<Finding>) {
    let firefighters = exp.firefighters();
    let model = exp.names.all_roles();
    let admin = exp.names.admin();
    let live = |member: &str| people.iter().find(|p| p.login == member && !p.ended && p.exists);
    let recorded = |role: &str| people.iter().any(|p| p.login == role);
    let mut rest = Vec::new();
    let mut out = Vec::new();
    for row in rows {
        if recorded(&row.role) && row.member == admin {
            continue; // admin signals the login's backends through this membership
        }
        // A bootstrap DBA (superuser or CREATEROLE: the Aurora master's automatic grants on
        // 16+) is judged by check_roles, as before.
        if !firefighters.contains(&row.role)
            || model.contains(&row.member)
            || row.member_is_bootstrap
        {
            rest.push(row.clone());
            continue;
        }
        match live(&row.member) {
            Some(p) if p.role == row.role => {
                let wrong = row.admin
                    || (exp.pg16() && (row.inherit != Some(true) || row.set != Some(false)));
                if wrong {
                    out.push(finding(
                        Severity::High,
                        Check::Membership,
                        &row.member,
                        "member of its firefighter role: ADMIN FALSE (16+: INHERIT TRUE, SET FALSE)",
                        format!("admin={} inherit={:?} set={:?}", row.admin, row.inherit, row.set),
                        format!("SELECT * FROM {}.end_person_login({}, 'verify');",
                                ident(&exp.names.admin_schema), super::findings::literal(&row.member)),
                    ));
                }
            }
            _ => out.push(Finding {
                severity: Severity::Critical,
                check: Check::Membership,
                object: format!("membership of {} in {}", ident(&row.member), ident(&row.role)),
                role: Some(row.member.clone()),
                expected: "members of a firefighter role: admin and live per-person logins only"
                    .into(),
                actual: "an unknown member".into(),
                fix: format!("REVOKE {} FROM {};", ident(&row.role), ident(&row.member)),
                objects: None,
            }),
        }
    }
    (rest, out)
}

/// Ended logins still present; live logins whose attributes, validity or settings differ.
pub fn logins(exp: &Expected, people: &[PersonRecord], now: DateTime<Utc>) -> Vec<Finding> {
    let schema = ident(&exp.names.admin_schema);
    let end_fix = |login: &str| {
        format!(
            "SELECT * FROM {schema}.end_person_login({}, 'verify');",
            super::findings::literal(login)
        )
    };
    let mut out = Vec::new();
    for p in people.iter().filter(|p| p.exists) {
        if p.ended {
            out.push(finding(
                if p.can_login { Severity::High } else { Severity::Medium },
                Check::RoleAttribute,
                &p.login,
                "dropped when it ended",
                format!("still present (ended: {})", p.end_outcome.as_deref().unwrap_or("?")),
                format!("DROP OWNED BY {l}; DROP ROLE {l};", l = ident(&p.login)),
            ));
            continue;
        }
        if p.privileged || !p.can_login {
            out.push(finding(
                Severity::Critical,
                Check::RoleAttribute,
                &p.login,
                "LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
                format!("privileged attribute: {}, login: {}", p.privileged, p.can_login),
                end_fix(&p.login),
            ));
        }
        let cap = now + chrono::Duration::seconds(MAX_FIREFIGHTER_VALIDITY_SECS + 60);
        if p.valid_until.is_none_or(|u| u > cap) {
            out.push(finding(
                Severity::Critical,
                Check::FirefighterPassword,
                &p.login,
                "VALID UNTIL at most 2 hours ahead",
                format!("{:?}", p.valid_until),
                end_fix(&p.login),
            ));
        }
        let mut expected: Vec<String> = exp
            .settings()
            .into_iter()
            .filter(|s| s.role == p.role)
            .filter_map(|s| match (s.database, s.value) {
                (Some(db), SettingValue::Plain(v)) => Some(format!("{db}|{}={v}", s.key)),
                _ => None,
            })
            .collect();
        expected.sort();
        let actual: Vec<String> =
            p.settings.iter().filter(|s| !s.ends_with("|pgaudit.log=all")).cloned().collect();
        if actual != expected {
            out.push(finding(
                Severity::High,
                Check::RoleSetting,
                &p.login,
                &expected.join(", "),
                actual.join(", "),
                format!(
                    "SELECT {schema}.renew_person_login({}, NULL, 30, 'verify');",
                    super::findings::literal(&p.login)
                ),
            ));
        }
    }
    out
}
