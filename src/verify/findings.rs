//! A finding (one drift of the live database from the model) and the vocabulary every check
//! shares: severities, SQL quoting, and the comparison of an exploded ACL with expected grants,
//! including the exact `REVOKE`/`GRANT` statements that remove the difference.
//!
//! Pure: no I/O. Must not decide what is expected (that is `model::expected`).

use crate::model::expected::{privilege_letter, privilege_name, Grant, Grantee};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How bad a drift is. Ordered from worst to mildest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Someone who should not can read, write or run something (PUBLIC grants, SUPERUSER,
    /// an open firefighter session with no grant).
    Critical,
    /// More privilege than designed, wrong owners, unexpected memberships.
    High,
    /// Something the model needs is missing (a grant, a default privilege, a guardrail).
    Medium,
    /// Tuning that differs (connection limits).
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which check found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    RoleAttribute,
    Membership,
    DatabaseAcl,
    SchemaAcl,
    ObjectOwner,
    ObjectPrivileges,
    DefaultPrivileges,
    AdminSchema,
    Guardrail,
    /// A setting of a model role the model does not have (role-wide or in any database).
    RoleSetting,
    /// The broker's statements would reach the server log with their parameters.
    BrokerLogging,
    /// A model role may connect to, or create TEMP objects in, another database.
    OtherDatabase,
    FirefighterPassword,
    FirefighterSession,
}

impl Check {
    /// The JSON spelling (`object_privileges`).
    pub fn as_str(self) -> &'static str {
        match self {
            Check::RoleAttribute => "role_attribute",
            Check::Membership => "membership",
            Check::DatabaseAcl => "database_acl",
            Check::SchemaAcl => "schema_acl",
            Check::ObjectOwner => "object_owner",
            Check::ObjectPrivileges => "object_privileges",
            Check::DefaultPrivileges => "default_privileges",
            Check::AdminSchema => "admin_schema",
            Check::Guardrail => "guardrail",
            Check::RoleSetting => "role_setting",
            Check::BrokerLogging => "broker_logging",
            Check::OtherDatabase => "other_database",
            Check::FirefighterPassword => "firefighter_password",
            Check::FirefighterSession => "firefighter_session",
        }
    }
}

/// The objects a grouped finding covers: the first names, and how many more there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectList {
    pub count: u64,
    pub names: Vec<String>,
    pub more: u64,
}

/// One drift, with the statement that removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub check: Check,
    /// What is affected, e.g. `table "app"."orders"` or `role "my_pg_app"`.
    pub object: String,
    /// The role concerned (`PUBLIC` for the pseudo-role), when there is one.
    pub role: Option<String>,
    pub expected: String,
    pub actual: String,
    /// SQL that removes the drift when run by a superuser (or the bootstrap DBA).
    pub fix: String,
    /// For grouped object findings: the objects concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<ObjectList>,
}

/// Quotes an identifier, always (`"a""b"`): the model's one `quote_ident`.
pub use crate::model::script::quote_ident as ident;

/// Quotes a string literal (`'it''s'`); standard_conforming_strings is assumed on.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A grantee as SQL: `PUBLIC` or a quoted role name.
pub fn grantee_sql(g: &Grantee) -> String {
    match g {
        Grantee::Public => "PUBLIC".into(),
        Grantee::Role(r) => ident(r),
    }
}

/// ACL letters in PostgreSQL's display order, deduplicated.
pub fn canonical(letters: &BTreeSet<char>) -> String {
    "arwdDxtXUCTcsAm".chars().filter(|c| letters.contains(c)).collect()
}

/// `SELECT, INSERT` for `ra`; `nothing` for none.
pub fn privilege_list(letters: &str) -> String {
    if letters.is_empty() {
        return "nothing".into();
    }
    letters.chars().map(|c| privilege_name(c).unwrap_or("?")).collect::<Vec<_>>().join(", ")
}

/// One exploded ACL entry (`aclexplode`), with PUBLIC as `Grantee::Public`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    pub grantee: Grantee,
    pub privilege: char,
    pub grantable: bool,
}

/// What one grantee holds: privileges, and those it may grant on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    pub privs: BTreeSet<char>,
    pub grantable: BTreeSet<char>,
}

/// Groups exploded entries by grantee, leaving out `ignore` (owners' own entries).
pub fn held_by(acl: &[AclEntry], ignore: &[&str]) -> BTreeMap<Grantee, Held> {
    let mut out: BTreeMap<Grantee, Held> = BTreeMap::new();
    for e in acl {
        if matches!(&e.grantee, Grantee::Role(r) if ignore.contains(&r.as_str())) {
            continue;
        }
        let h = out.entry(e.grantee.clone()).or_default();
        h.privs.insert(e.privilege);
        if e.grantable {
            h.grantable.insert(e.privilege);
        }
    }
    out
}

/// How one grantee's privileges differ from the expected ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Deviation {
    pub grantee: Grantee,
    pub expected: String,
    pub actual: String,
    pub extra: String,
    pub missing: String,
    /// Held WITH GRANT OPTION (never expected).
    pub grant_option: String,
}

impl Deviation {
    /// PUBLIC holding anything is critical; more than designed is high; less is medium.
    pub fn severity(&self) -> Severity {
        if self.grantee == Grantee::Public && !self.extra.is_empty() {
            Severity::Critical
        } else if !self.extra.is_empty() || !self.grant_option.is_empty() {
            Severity::High
        } else {
            Severity::Medium
        }
    }

    /// `app: SELECT, INSERT` style text of what is held.
    pub fn describe_actual(&self) -> String {
        let mut s = privilege_list(&self.actual);
        if !self.grant_option.is_empty() {
            s.push_str(&format!(" (WITH GRANT OPTION: {})", privilege_list(&self.grant_option)));
        }
        s
    }

    /// Statements that turn `actual` into `expected` on `target` (e.g. `TABLE "s"."t"`).
    pub fn fix(&self, target: &str) -> Vec<String> {
        let g = grantee_sql(&self.grantee);
        let mut out = Vec::new();
        let only_option: String =
            self.grant_option.chars().filter(|c| !self.extra.contains(*c)).collect();
        if !only_option.is_empty() {
            out.push(format!(
                "REVOKE GRANT OPTION FOR {} ON {target} FROM {g} CASCADE;",
                privilege_list(&only_option)
            ));
        }
        if !self.extra.is_empty() {
            out.push(format!(
                "REVOKE {} ON {target} FROM {g} CASCADE;",
                privilege_list(&self.extra)
            ));
        }
        if !self.missing.is_empty() {
            out.push(format!("GRANT {} ON {target} TO {g};", privilege_list(&self.missing)));
        }
        out
    }
}

/// Compares what grantees hold with `expected`. With `only`, grantees outside it are not
/// checked; otherwise anyone not expected must hold nothing.
pub fn deviations(
    held: &BTreeMap<Grantee, Held>,
    expected: &[Grant],
    only: Option<&[Grantee]>,
) -> Vec<Deviation> {
    let mut want: BTreeMap<Grantee, BTreeSet<char>> = BTreeMap::new();
    for g in expected {
        want.entry(g.grantee.clone()).or_default().extend(g.privs.chars());
    }
    let mut grantees: BTreeSet<&Grantee> = held.keys().collect();
    grantees.extend(want.keys());
    let empty = Held::default();
    let none = BTreeSet::new();
    grantees
        .into_iter()
        .filter(|g| only.is_none_or(|o| o.contains(g)))
        .filter_map(|g| {
            let have = held.get(g).unwrap_or(&empty);
            let want = want.get(g).unwrap_or(&none);
            let extra: BTreeSet<char> = have.privs.difference(want).copied().collect();
            let missing: BTreeSet<char> = want.difference(&have.privs).copied().collect();
            if extra.is_empty() && missing.is_empty() && have.grantable.is_empty() {
                return None;
            }
            Some(Deviation {
                grantee: g.clone(),
                expected: canonical(want),
                actual: canonical(&have.privs),
                extra: canonical(&extra),
                missing: canonical(&missing),
                grant_option: canonical(&have.grantable),
            })
        })
        .collect()
}

/// Builds entries from the three parallel arrays the catalog queries return.
pub fn entries(
    grantees: Option<Vec<Option<String>>>,
    privs: Option<Vec<String>>,
    grantable: Option<Vec<bool>>,
) -> Vec<AclEntry> {
    let (g, p, o) =
        (grantees.unwrap_or_default(), privs.unwrap_or_default(), grantable.unwrap_or_default());
    g.into_iter()
        .zip(p)
        .zip(o)
        .filter_map(|((g, p), o)| {
            Some(AclEntry {
                grantee: g.map(Grantee::Role).unwrap_or(Grantee::Public),
                privilege: privilege_letter(&p)?,
                grantable: o,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(g: &str, p: char, o: bool) -> AclEntry {
        AclEntry {
            grantee: if g == "PUBLIC" { Grantee::Public } else { Grantee::role(g) },
            privilege: p,
            grantable: o,
        }
    }

    #[test]
    fn extra_delete_for_app_is_one_high_deviation_with_a_revoke() {
        let acl = vec![
            e("app", 'a', false),
            e("app", 'r', false),
            e("app", 'w', false),
            e("app", 'd', false),
            e("owner", 'r', false),
        ];
        let want = vec![Grant { grantee: Grantee::role("app"), privs: "arw" }];
        let d = deviations(&held_by(&acl, &["owner"]), &want, None);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].extra, "d");
        assert_eq!(d[0].severity(), Severity::High);
        assert_eq!(
            d[0].fix("TABLE \"s\".\"t\""),
            vec!["REVOKE DELETE ON TABLE \"s\".\"t\" FROM \"app\" CASCADE;"]
        );
    }

    #[test]
    fn public_grant_is_critical_and_missing_grant_is_medium() {
        let acl = vec![e("PUBLIC", 'r', false)];
        let want = vec![Grant { grantee: Grantee::role("ro"), privs: "r" }];
        let d = deviations(&held_by(&acl, &[]), &want, None);
        assert_eq!(d.len(), 2);
        let public = d.iter().find(|d| d.grantee == Grantee::Public).unwrap();
        assert_eq!(public.severity(), Severity::Critical);
        assert_eq!(public.fix("X")[0], "REVOKE SELECT ON X FROM PUBLIC CASCADE;");
        let ro = d.iter().find(|d| d.grantee != Grantee::Public).unwrap();
        assert_eq!(ro.severity(), Severity::Medium);
        assert_eq!(ro.fix("X")[0], "GRANT SELECT ON X TO \"ro\";");
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("my-pg\"x"), "\"my-pg\"\"x\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
