//! Database-level checks: the database's owner and ACL, the three schemas' owners and ACLs,
//! the owner role's default privileges (including G5's global revoke), and the admin schema
//! (the broker functions: SECURITY DEFINER, owner admin, pinned search_path, EXECUTE for the
//! broker only; the audit tables: nobody but admin).
//!
//! Pure: catalog rows and the expected model in, findings out.

use super::catalog::{AdminObject, Class, Context, DefaultAclRow, SchemaRow};
use super::check_settings::identifier_list;
use super::findings::{deviations, held_by, ident, AclEntry, Check, Deviation, Finding, Severity};
use crate::model::expected::{Expected, Grant, Grantee, ObjectKind, BROKER_FUNCTIONS};

/// One finding per deviating grantee; `target` is the object in GRANT syntax.
fn acl_findings(
    check: Check,
    object: &str,
    target: &str,
    devs: Vec<Deviation>,
    wrap: impl Fn(String) -> String,
) -> Vec<Finding> {
    devs.into_iter()
        .map(|d| Finding {
            severity: d.severity(),
            check,
            object: object.to_string(),
            role: Some(d.grantee.to_string()),
            expected: super::findings::privilege_list(&d.expected),
            actual: d.describe_actual(),
            fix: d.fix(target).into_iter().map(&wrap).collect::<Vec<_>>().join("\n"),
            objects: None,
        })
        .collect()
}

fn owner_finding(check: Check, object: &str, want: &str, have: &str, fix: String) -> Finding {
    Finding {
        severity: Severity::High,
        check,
        object: object.to_string(),
        role: Some(have.to_string()),
        expected: format!("owner {}", ident(want)),
        actual: format!("owner {}", ident(have)),
        fix,
        objects: None,
    }
}

/// The database: owned by the owner role; CONNECT for the six login roles; PUBLIC nothing.
pub fn database(exp: &Expected, ctx: &Context) -> Vec<Finding> {
    let owner = exp.names.owner();
    let db = ident(&ctx.datname);
    let object = format!("database {db}");
    let mut out = Vec::new();
    if ctx.db_owner != owner {
        out.push(owner_finding(
            Check::DatabaseAcl,
            &object,
            &owner,
            &ctx.db_owner,
            format!("ALTER DATABASE {db} OWNER TO {};", ident(&owner)),
        ));
    }
    let held = held_by(&ctx.db_acl, &[&ctx.db_owner, &owner]);
    let devs = deviations(&held, &exp.database_acl(), None);
    out.extend(acl_findings(Check::DatabaseAcl, &object, &format!("DATABASE {db}"), devs, |s| s));
    out
}

/// The application schema, the admin schema and `public`.
pub fn schemas(exp: &Expected, rows: &[SchemaRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    for spec in exp.schemas() {
        let object = format!("schema {}", ident(&spec.name));
        let Some(row) = rows.iter().find(|r| r.name == spec.name) else {
            if spec.owner.is_some() {
                out.push(Finding {
                    severity: Severity::High,
                    check: Check::SchemaAcl,
                    object,
                    role: None,
                    expected: "the schema exists".into(),
                    actual: "missing".into(),
                    fix: "-- the model is not applied: run `pgroles apply` (sql/20_schemas.sql)"
                        .into(),
                    objects: None,
                });
            }
            continue;
        };
        let mut ignore = vec![row.owner.as_str()];
        if let Some(want) = &spec.owner {
            ignore.push(want.as_str());
            if &row.owner != want {
                out.push(owner_finding(
                    Check::SchemaAcl,
                    &object,
                    want,
                    &row.owner,
                    format!("ALTER SCHEMA {} OWNER TO {};", ident(&spec.name), ident(want)),
                ));
            }
        }
        let held = held_by(&row.acl, &ignore);
        let devs = deviations(&held, &spec.grants, spec.only_checks.as_deref());
        out.extend(acl_findings(
            Check::SchemaAcl,
            &object,
            &format!("SCHEMA {}", ident(&spec.name)),
            devs,
            |s| s,
        ));
    }
    out
}

/// The owner's default privileges: exact per-schema grants, and G5's global EXECUTE revoke.
pub fn default_privileges(exp: &Expected, rows: &[DefaultAclRow]) -> Vec<Finding> {
    let owner = exp.names.owner();
    let mut out = Vec::new();
    let mut specs = exp.default_acls();
    // Global entries for tables and sequences are not part of the model: nothing may be there.
    for kind in [ObjectKind::Table, ObjectKind::Sequence] {
        specs.push(crate::model::expected::DefaultAclSpec { schema: None, kind, grants: vec![] });
    }
    for spec in specs {
        let row = rows
            .iter()
            .find(|r| r.schema == spec.schema && r.objtype == spec.kind.defacl_objtype());
        let acl: Vec<AclEntry> = match (row, &spec.schema, spec.kind) {
            (Some(r), _, _) => r.acl.clone(),
            // Without a global entry, functions are executable by PUBLIC (built-in default).
            (None, None, ObjectKind::Function) => {
                vec![AclEntry { grantee: Grantee::Public, privilege: 'X', grantable: false }]
            }
            (None, _, _) => vec![],
        };
        let held = held_by(&acl, &[&owner]);
        let devs = deviations(&held, &spec.grants, None);
        let (object, prefix) = match &spec.schema {
            Some(s) => (
                format!(
                    "default privileges of {} in schema {} on {}",
                    ident(&owner),
                    ident(s),
                    spec.kind.plural_keyword().to_lowercase()
                ),
                format!(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} ",
                    ident(&owner),
                    ident(s)
                ),
            ),
            None => (
                format!(
                    "global default privileges of {} on {}",
                    ident(&owner),
                    spec.kind.plural_keyword().to_lowercase()
                ),
                format!("ALTER DEFAULT PRIVILEGES FOR ROLE {} ", ident(&owner)),
            ),
        };
        out.extend(acl_findings(
            Check::DefaultPrivileges,
            &object,
            spec.kind.plural_keyword(),
            devs,
            |s| format!("{prefix}{s}"),
        ));
    }
    out
}

/// How one admin-schema object is named: in findings, in GRANT, in ALTER.
struct AdminSql {
    label: String,
    grant_target: String,
    alter: String,
}

fn admin_object_sql(schema: &str, o: &AdminObject) -> AdminSql {
    let q = format!("{}.{}", ident(schema), ident(&o.name));
    let (kind, grant_kind) = match (o.class, o.kind) {
        (Class::Routine, 'p') => ("PROCEDURE", "PROCEDURE"),
        (Class::Routine, 'a') => ("AGGREGATE", "FUNCTION"),
        (Class::Routine, _) => ("FUNCTION", "FUNCTION"),
        (Class::Relation, 'S') => ("SEQUENCE", "SEQUENCE"),
        (Class::Relation, 'v') => ("VIEW", "TABLE"),
        (Class::Relation, 'm') => ("MATERIALIZED VIEW", "TABLE"),
        (Class::Relation, 'f') => ("FOREIGN TABLE", "TABLE"),
        (Class::Relation, _) => ("TABLE", "TABLE"),
    };
    let q = match o.class {
        Class::Routine => format!("{q}({})", o.args),
        Class::Relation => q,
    };
    AdminSql {
        label: format!("{} {q}", kind.to_lowercase()),
        grant_target: format!("{grant_kind} {q}"),
        alter: format!("ALTER {kind} {q}"),
    }
}

fn search_path_pinned(config: &[String], admin_schema: &str) -> bool {
    config.iter().find_map(|kv| kv.strip_prefix("search_path=")).map(identifier_list).is_some_and(
        |p| {
            p.first().map(String::as_str) == Some("pg_catalog")
                && p.last().map(String::as_str) == Some("pg_temp")
                && p.iter().all(|s| s == "pg_catalog" || s == "pg_temp" || s == admin_schema)
        },
    )
}

/// The admin schema: the broker functions and nothing else anyone but admin can use.
pub fn admin_schema(exp: &Expected, objects: &[AdminObject], schema_exists: bool) -> Vec<Finding> {
    if !schema_exists {
        return vec![]; // reported by `schemas`
    }
    let n = &exp.names;
    let (admin, broker, schema) = (n.admin(), n.broker(), &n.admin_schema);
    let mut out = Vec::new();
    for (name, args) in BROKER_FUNCTIONS {
        if !objects.iter().any(|o| o.class == Class::Routine && o.name == *name && o.args == *args)
        {
            out.push(Finding {
                severity: Severity::High,
                check: Check::AdminSchema,
                object: format!("function {}.{}({args})", ident(schema), ident(name)),
                role: None,
                expected: "the broker function exists".into(),
                actual: "missing".into(),
                fix: "-- the model is not applied: run `pgroles apply` (sql/50_broker.sql)".into(),
                objects: None,
            });
        }
    }
    for o in objects {
        let is_broker_fn = o.class == Class::Routine
            && BROKER_FUNCTIONS.iter().any(|(name, args)| o.name == *name && o.args == *args);
        let AdminSql { label, grant_target, alter } = admin_object_sql(schema, o);
        if o.owner != admin {
            out.push(owner_finding(
                Check::AdminSchema,
                &label,
                &admin,
                &o.owner,
                format!("{alter} OWNER TO {};", ident(&admin)),
            ));
        }
        if is_broker_fn && !o.security_definer {
            out.push(Finding {
                severity: Severity::High,
                check: Check::AdminSchema,
                object: label.clone(),
                role: None,
                expected: "SECURITY DEFINER".into(),
                actual: "SECURITY INVOKER".into(),
                fix: format!("{alter} SECURITY DEFINER;"),
                objects: None,
            });
        }
        if is_broker_fn && !search_path_pinned(&o.config, schema) {
            out.push(Finding {
                severity: Severity::High,
                check: Check::AdminSchema,
                object: label.clone(),
                role: None,
                expected: format!("search_path = pg_catalog, {}, pg_temp", ident(schema)),
                actual: o
                    .config
                    .iter()
                    .find(|kv| kv.starts_with("search_path="))
                    .cloned()
                    .unwrap_or_else(|| "search_path not set".into()),
                fix: format!("{alter} SET search_path = pg_catalog, {}, pg_temp;", ident(schema)),
                objects: None,
            });
        }
        let grants: Vec<Grant> = if is_broker_fn {
            vec![Grant { grantee: Grantee::Role(broker.clone()), privs: "X" }]
        } else {
            vec![]
        };
        let held = held_by(&o.acl, &[&o.owner, &admin]);
        out.extend(acl_findings(
            Check::AdminSchema,
            &label,
            &grant_target,
            deviations(&held, &grants, None),
            |s| s,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_must_start_with_pg_catalog_and_end_with_pg_temp() {
        let ok = vec!["search_path=pg_catalog, db_admin, pg_temp".to_string()];
        assert!(search_path_pinned(&ok, "db_admin"));
        let temp_first = vec!["search_path=pg_temp, pg_catalog".to_string()];
        assert!(!search_path_pinned(&temp_first, "db_admin"));
        let public = vec!["search_path=pg_catalog, public, pg_temp".to_string()];
        assert!(!search_path_pinned(&public, "db_admin"));
        assert!(!search_path_pinned(&[], "db_admin"));
    }
}
