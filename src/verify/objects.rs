//! The application schema's tables, views, sequences and routines, read in one pass whatever
//! their number.
//!
//! Owns the fast path of `verify` over big schemas:
//! - [`scan`] first asks which ACL PostgreSQL gives a new object of the owner role (the *hint*
//!   of each kind, `verify_object_hints.sql`), then counts the schema's objects and returns only
//!   the OIDs of those that are not owned by the owner with exactly their kind's hint: one
//!   comparison per row, no grouping (`verify_object_scan.sql`). When the session has helper
//!   connections, each scans its own block range of `pg_class` in the shared snapshot.
//! - [`groups`] groups those OIDs by (kind, owner, ACL) (`verify_object_groups.sql`) and adds
//!   each hint as one more group with the number of objects carrying it. If a hint carried by
//!   objects is not clean (the default privileges themselves drifted), every object is grouped
//!   instead, so that findings name them by kind.
//! - [`object_names`] fetches up to N names of one drifted group.
//!
//! Must not judge: whether a group matches the model is the caller's `clean` (`check_objects`).

use super::rows::{acl, class_of, first_char, q, typed, Class, ObjectGroup};
use super::snapshot::Snapshot;
use super::VerifyError;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

const HINTS: &str = include_str!("../../sql/queries/verify_object_hints.sql");
const SCAN: &str = include_str!("../../sql/queries/verify_object_scan.sql");
const GROUPS: &str = include_str!("../../sql/queries/verify_object_groups.sql");
const RELATION_NAMES: &str = include_str!("../../sql/queries/verify_relation_names.sql");
const ROUTINE_NAMES: &str = include_str!("../../sql/queries/verify_routine_names.sql");

/// What the scan found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// One group per hint: kind `r` (every table-like relation), `S` or `f`; count still 0.
    pub hints: Vec<ObjectGroup>,
    /// Relations of the schema, sequences included.
    pub relations: i64,
    pub sequences: i64,
    pub routines: i64,
    /// Objects that do not carry their kind's hint (or are not owned by the owner role).
    pub drifted_relations: Vec<u32>,
    pub drifted_routines: Vec<u32>,
}

fn group_row(row: &Row) -> Result<ObjectGroup, tokio_postgres::Error> {
    Ok(ObjectGroup {
        class: class_of(row.try_get("class")?),
        kind: first_char(row.try_get("kind")?),
        owner_oid: row.try_get("owner")?,
        owner: row.try_get("owner_name")?,
        count: row.try_get("n")?,
        acl_text: row.try_get("acl_text")?,
        acl: acl(row)?,
    })
}

fn rows<T>(
    what: &'static str,
    rows: &[Row],
    f: fn(&Row) -> Result<T, tokio_postgres::Error>,
) -> Result<Vec<T>, VerifyError> {
    rows.iter().map(f).collect::<Result<_, _>>().map_err(q(what))
}

/// The `{range}` of `verify_object_scan.sql`: block numbers only, so safe to splice.
fn range_sql(from: u32, to: Option<u32>) -> String {
    let mut sql = String::new();
    if from > 0 {
        sql.push_str(&format!(" AND c.ctid >= '({from},0)'::pg_catalog.tid"));
    }
    if let Some(to) = to {
        sql.push_str(&format!(" AND c.ctid < '({to},0)'::pg_catalog.tid"));
    }
    sql
}

/// Reads the hints, then scans the schema over every worker of `session`.
pub async fn scan(session: &Snapshot<'_>, schema: &str, owner: &str) -> Result<Scan, VerifyError> {
    const WHAT: &str = "object privileges";
    let p: [(&(dyn ToSql + Sync), Type); 2] = [(&schema, Type::TEXT), (&owner, Type::TEXT)];
    let hints = rows(WHAT, &typed(session.primary, WHAT, HINTS, &p).await?, group_row)?;
    let hint = |kind: char| hints.iter().find(|h| h.kind == kind).and_then(|h| h.acl_text.clone());
    let (tables, sequences, routines) = (hint('r'), hint('S'), hint('f'));

    let parts = session.workers.iter().zip(session.ranges()).enumerate().map(|(i, (client, r))| {
        let sql = SCAN.replace("{range}", &range_sql(r.0, r.1));
        let (tables, sequences, routines) = (&tables, &sequences, &routines);
        async move {
            let with_routines = i == 0;
            let p: [(&(dyn ToSql + Sync), Type); 6] = [
                (&schema, Type::TEXT),
                (&owner, Type::TEXT),
                (tables, Type::TEXT),
                (sequences, Type::TEXT),
                (routines, Type::TEXT),
                (&with_routines, Type::BOOL),
            ];
            typed(client, WHAT, &sql, &p).await
        }
    });
    let mut out = Scan { hints, ..Scan::default() };
    for row in futures::future::try_join_all(parts).await?.iter().flatten() {
        let read = || -> Result<(String, i64, i64, Vec<u32>), tokio_postgres::Error> {
            Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?))
        };
        let (class, total, seqs, drifted) = read().map_err(q(WHAT))?;
        if class == "proc" {
            out.routines += total;
            out.drifted_routines.extend(drifted);
        } else {
            out.relations += total;
            out.sequences += seqs;
            out.drifted_relations.extend(drifted);
        }
    }
    Ok(out)
}

async fn grouped(
    client: &Client,
    schema: &str,
    relations: Option<&[u32]>,
    routines: Option<&[u32]>,
) -> Result<Vec<ObjectGroup>, VerifyError> {
    const WHAT: &str = "object privileges (groups)";
    let p: [(&(dyn ToSql + Sync), Type); 3] =
        [(&schema, Type::TEXT), (&relations, Type::OID_ARRAY), (&routines, Type::OID_ARRAY)];
    rows(WHAT, &typed(client, WHAT, GROUPS, &p).await?, group_row)
}

/// The groups to check (see the module header). `clean` says whether a group matches the model.
pub async fn groups(
    client: &Client,
    schema: &str,
    scan: &Scan,
    clean: impl Fn(&ObjectGroup) -> bool,
) -> Result<Vec<ObjectGroup>, VerifyError> {
    let mut out = if scan.drifted_relations.is_empty() && scan.drifted_routines.is_empty() {
        Vec::new()
    } else {
        grouped(client, schema, Some(&scan.drifted_relations), Some(&scan.drifted_routines)).await?
    };
    let drifted = |class: Class, sequences: Option<bool>| -> i64 {
        out.iter()
            .filter(|g| g.class == class && sequences.is_none_or(|s| (g.kind == 'S') == s))
            .map(|g| g.count)
            .sum()
    };
    let mut hints = scan.hints.clone();
    for h in &mut hints {
        h.count = match (h.class, h.kind) {
            (Class::Routine, _) => scan.routines - drifted(Class::Routine, None),
            (Class::Relation, 'S') => scan.sequences - drifted(Class::Relation, Some(true)),
            (Class::Relation, _) => {
                scan.relations - scan.sequences - drifted(Class::Relation, Some(false))
            }
        };
    }
    hints.retain(|h| h.count > 0);
    if hints.iter().any(|h| !clean(h)) {
        return grouped(client, schema, None, None).await;
    }
    out.extend(hints);
    Ok(out)
}

/// The name of one object; routines carry their argument types (`integer, text[]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectName {
    pub name: String,
    pub args: Option<String>,
    /// For a sequence of an identity or serial column: its table.
    pub linked_table: Option<String>,
}

/// Up to `limit` names of the objects in `group`, sorted.
pub async fn object_names(
    client: &Client,
    schema_oid: u32,
    group: &ObjectGroup,
    limit: i64,
) -> Result<Vec<ObjectName>, VerifyError> {
    let kind = group.kind.to_string();
    let params: [(&(dyn ToSql + Sync), Type); 5] = [
        (&schema_oid, Type::OID),
        (&kind, Type::TEXT),
        (&group.owner_oid, Type::OID),
        (&group.acl_text, Type::TEXT),
        (&limit, Type::INT8),
    ];
    match group.class {
        Class::Relation => {
            let rows = typed(client, "names of drifted relations", RELATION_NAMES, &params).await?;
            rows.iter()
                .map(|r| {
                    Ok(ObjectName {
                        name: r.try_get("name")?,
                        args: None,
                        linked_table: r.try_get("linked_table")?,
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()
                .map_err(q("names of drifted relations"))
        }
        Class::Routine => {
            let rows = typed(client, "names of drifted routines", ROUTINE_NAMES, &params).await?;
            rows.iter()
                .map(|r| {
                    Ok(ObjectName {
                        name: r.try_get("name")?,
                        args: Some(r.try_get("args")?),
                        linked_table: None,
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()
                .map_err(q("names of drifted routines"))
        }
    }
}
