//! The objects of the application schema: every table, view, sequence and routine is owned by
//! the owner role and carries exactly the model's grants.
//!
//! Works on groups of objects sharing (kind, owner, ACL), so that a schema of 50,000 clean
//! tables costs one row. [`drifts`] picks the groups that differ (pure); the caller fetches up to
//! [`NAME_CAP`] names for those only; [`findings`] turns them into findings (pure), merging
//! groups with the same drift. A wrong owner is one finding whose fix also repairs the grants,
//! so that one injected drift is reported once.

use super::catalog::{Class, ObjectGroup};
use super::findings::{
    deviations, held_by, ident, literal, privilege_list, Check, Deviation, Finding, ObjectList,
    Severity,
};
use super::objects::ObjectName;
use crate::model::expected::{Expected, ObjectKind};
use std::collections::BTreeMap;

/// How many names a finding lists; the rest are counted ("and N more").
pub const NAME_CAP: usize = 20;

/// What is wrong with one group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// Owned by `actual`; the grants also differ as listed (possibly not at all).
    Owner { actual: String, deviations: Vec<Deviation> },
    /// Owner right, one grantee's privileges wrong.
    Grant(Deviation),
}

/// A drifted group (borrowed from the catalog rows).
#[derive(Debug, Clone)]
pub struct GroupDrift<'a> {
    pub group: &'a ObjectGroup,
    pub problem: Problem,
}

fn kind_of(g: &ObjectGroup) -> Option<ObjectKind> {
    match g.class {
        Class::Relation => ObjectKind::from_relkind(g.kind),
        Class::Routine => Some(ObjectKind::Function),
    }
}

/// The groups that differ from the model, and how.
pub fn drifts<'a>(exp: &Expected, groups: &'a [ObjectGroup]) -> Vec<GroupDrift<'a>> {
    let owner = exp.names.owner();
    let mut out = Vec::new();
    for group in groups {
        let Some(kind) = kind_of(group) else { continue };
        let held = held_by(&group.acl, &[&group.owner, &owner]);
        let devs = deviations(&held, &exp.object_acl(kind), None);
        if group.owner != owner {
            out.push(GroupDrift {
                group,
                problem: Problem::Owner { actual: group.owner.clone(), deviations: devs },
            });
        } else {
            out.extend(devs.into_iter().map(|d| GroupDrift { group, problem: Problem::Grant(d) }));
        }
    }
    out
}

/// (singular label, keyword for ALTER) of a relkind / prokind.
fn kind_words(class: Class, kind: char) -> (&'static str, &'static str) {
    match (class, kind) {
        (Class::Relation, 'r') => ("table", "TABLE"),
        (Class::Relation, 'p') => ("partitioned table", "TABLE"),
        (Class::Relation, 'v') => ("view", "VIEW"),
        (Class::Relation, 'm') => ("materialized view", "MATERIALIZED VIEW"),
        (Class::Relation, 'f') => ("foreign table", "FOREIGN TABLE"),
        (Class::Relation, 'S') => ("sequence", "SEQUENCE"),
        (Class::Relation, _) => ("relation", "TABLE"),
        (Class::Routine, 'p') => ("procedure", "PROCEDURE"),
        (Class::Routine, 'a') => ("aggregate", "AGGREGATE"),
        (Class::Routine, 'w') => ("window function", "FUNCTION"),
        (Class::Routine, _) => ("function", "FUNCTION"),
    }
}

fn qualified(schema: &str, n: &ObjectName) -> String {
    match &n.args {
        Some(a) => format!("{}.{}({a})", ident(schema), ident(&n.name)),
        None => format!("{}.{}", ident(schema), ident(&n.name)),
    }
}

fn display(n: &ObjectName) -> String {
    match &n.args {
        Some(a) => format!("{}({a})", n.name),
        None => n.name.clone(),
    }
}

/// The GRANT target covering the objects: the names when all are known, else every object of
/// the kind in the schema (correct because the model expects the same grants on all of them).
fn grant_target(
    schema: &str,
    class: Class,
    kind: ObjectKind,
    names: &[ObjectName],
    all_known: bool,
) -> String {
    let s = ident(schema);
    let keyword = match (class, kind) {
        (Class::Routine, _) => "ROUTINE",
        (_, ObjectKind::Sequence) => "SEQUENCE",
        _ => "TABLE",
    };
    if all_known {
        let list = names.iter().map(|n| qualified(schema, n)).collect::<Vec<_>>();
        format!("{keyword} {}", list.join(", "))
    } else {
        let plural = match keyword {
            "ROUTINE" => "ROUTINES",
            "SEQUENCE" => "SEQUENCES",
            _ => "TABLES",
        };
        format!("ALL {plural} IN SCHEMA {s}")
    }
}

/// `ALTER ... OWNER TO` for the objects of `class`/`kind` owned by `from_owner`: one statement
/// per object when all names are known, else a DO block that finds them.
fn owner_fix(
    schema: &str,
    (class, kind): (Class, char),
    from_owner: &str,
    owner: &str,
    names: &[ObjectName],
    all_known: bool,
) -> Vec<String> {
    let (_, alter) = kind_words(class, kind);
    if all_known {
        return names
            .iter()
            .map(|n| format!("ALTER {alter} {} OWNER TO {};", qualified(schema, n), ident(owner)))
            .collect();
    }
    let ns = format!(
        "(SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = {})",
        literal(schema)
    );
    let from = format!(
        "(SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = {})",
        literal(from_owner)
    );
    let (select, stmt) = match class {
        Class::Relation => (
            format!(
                "SELECT c.relname AS name, '' AS args FROM pg_catalog.pg_class c \
                 WHERE c.relnamespace = {ns} AND c.relkind = {} AND c.relowner = {from}{}",
                literal(&kind.to_string()),
                // Sequences of identity/serial columns move with their table.
                if kind == 'S' {
                    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid \
                     AND d.deptype IN ('a', 'i'))"
                } else {
                    ""
                }
            ),
            format!("'ALTER {alter} %I.%I OWNER TO %I'"),
        ),
        Class::Routine => (
            format!(
                "SELECT p.proname AS name, pg_catalog.oidvectortypes(p.proargtypes) AS args \
                 FROM pg_catalog.pg_proc p WHERE p.pronamespace = {ns} \
                 AND p.prokind = {} AND p.proowner = {from}",
                literal(&kind.to_string())
            ),
            format!("'ALTER {alter} %I.%I(%s) OWNER TO %I'"),
        ),
    };
    let args = match class {
        Class::Relation => format!("{}, o.name, {}", literal(schema), literal(owner)),
        Class::Routine => format!("{}, o.name, o.args, {}", literal(schema), literal(owner)),
    };
    vec![format!(
        "DO $fix$\nDECLARE o record;\nBEGIN\n  FOR o IN {select}\n  LOOP\n    \
         EXECUTE format({stmt}, {args});\n  END LOOP;\nEND\n$fix$;"
    )]
}

/// Sequences of identity/serial columns share their table's owner: `ALTER TABLE ... OWNER`
/// moves them and `ALTER SEQUENCE ... OWNER` is refused. When their table has an owner
/// finding, they are taken out of the sequence finding and their grant fixes are returned, by
/// wrong owner, to be appended to the table's fix.
fn fold_linked_sequences(
    schema: &str,
    merged: &mut BTreeMap<(Class, char, Problem), Merged>,
) -> BTreeMap<String, Vec<String>> {
    let table_owners: Vec<String> = merged
        .keys()
        .filter_map(|(c, k, p)| match p {
            Problem::Owner { actual, .. } if *c == Class::Relation && *k != 'S' => {
                Some(actual.clone())
            }
            _ => None,
        })
        .collect();
    let mut folded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((class, kind, problem), m) in merged.iter_mut() {
        let Problem::Owner { actual, deviations } = problem else { continue };
        if *class != Class::Relation || *kind != 'S' || !table_owners.contains(actual) {
            continue;
        }
        let linked: Vec<ObjectName> =
            m.names.iter().filter(|n| n.linked_table.is_some()).cloned().collect();
        if linked.is_empty() {
            continue;
        }
        let target = grant_target(schema, Class::Relation, ObjectKind::Sequence, &linked, true);
        folded
            .entry(actual.clone())
            .or_default()
            .extend(deviations.iter().flat_map(|d| d.fix(&target)));
        m.names.retain(|n| n.linked_table.is_none());
        m.count -= linked.len() as i64;
    }
    merged.retain(|_, m| m.count > 0);
    folded
}

#[derive(Default)]
struct Merged {
    count: i64,
    names: Vec<ObjectName>,
}

/// Findings for drifted groups, given up to [`NAME_CAP`] names of each.
pub fn findings(exp: &Expected, drifted: Vec<(GroupDrift<'_>, Vec<ObjectName>)>) -> Vec<Finding> {
    let schema = &exp.names.schema;
    let owner = exp.names.owner();
    let mut merged: BTreeMap<(Class, char, Problem), Merged> = BTreeMap::new();
    for (d, names) in drifted {
        let m = merged.entry((d.group.class, d.group.kind, d.problem)).or_default();
        m.count += d.group.count;
        m.names.extend(names);
    }
    let mut folded = fold_linked_sequences(schema, &mut merged);
    let mut out = Vec::new();
    for ((class, kind, problem), mut m) in merged {
        m.names.sort();
        m.names.dedup();
        let all_known = m.names.len() as i64 >= m.count;
        m.names.truncate(NAME_CAP);
        let all_known = all_known && m.names.len() as i64 >= m.count;
        let okind = match class {
            Class::Relation => ObjectKind::from_relkind(kind).unwrap_or(ObjectKind::Table),
            Class::Routine => ObjectKind::Function,
        };
        let (label, _) = kind_words(class, kind);
        let object = match (m.count, m.names.first()) {
            (1, Some(n)) => format!("{label} {}", qualified(schema, n)),
            (c, _) => format!("{c} {label}s in schema {}", ident(schema)),
        };
        let target = grant_target(schema, class, okind, &m.names, all_known);
        let objects = Some(ObjectList {
            count: m.count.max(0) as u64,
            names: m.names.iter().map(display).collect(),
            more: (m.count.max(0) as u64).saturating_sub(m.names.len() as u64),
        });
        let finding = match problem {
            Problem::Owner { actual, deviations } => {
                let mut fix =
                    owner_fix(schema, (class, kind), &actual, &owner, &m.names, all_known);
                fix.extend(deviations.iter().flat_map(|d| d.fix(&target)));
                if class == Class::Relation && kind != 'S' {
                    fix.extend(folded.remove(&actual).unwrap_or_default());
                }
                let severity = deviations
                    .iter()
                    .map(Deviation::severity)
                    .chain([Severity::High])
                    .min()
                    .unwrap_or(Severity::High);
                let mut actual_text = format!("owner {}", ident(&actual));
                for d in &deviations {
                    actual_text.push_str(&format!(
                        "; {} holds {} (expected {})",
                        d.grantee,
                        d.describe_actual(),
                        privilege_list(&d.expected)
                    ));
                }
                Finding {
                    severity,
                    check: Check::ObjectOwner,
                    object,
                    role: Some(actual),
                    expected: format!("owner {} with the model's grants", ident(&owner)),
                    actual: actual_text,
                    fix: fix.join("\n"),
                    objects,
                }
            }
            Problem::Grant(d) => Finding {
                severity: d.severity(),
                check: Check::ObjectPrivileges,
                object,
                role: Some(d.grantee.to_string()),
                expected: privilege_list(&d.expected),
                actual: d.describe_actual(),
                fix: d.fix(&target).join("\n"),
                objects,
            },
        };
        out.push(finding);
    }
    out
}
