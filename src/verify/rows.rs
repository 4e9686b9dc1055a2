//! The row types and row helpers the catalog reads ([`super::catalog`]) and the object scan
//! ([`super::objects`]) share: [`Class`], [`ObjectGroup`], the ACL columns, the typed
//! (pipelined) query and the error mapping.
//!
//! Owns only these plain mappings; no query text and no judgement.

use super::findings::{entries, AclEntry};
use super::VerifyError;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

/// `pg_class` (relations) or `pg_proc` (routines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Relation,
    Routine,
}

/// Objects of one schema sharing (class, kind, owner, ACL).
#[derive(Debug, Clone)]
pub struct ObjectGroup {
    pub class: Class,
    /// `relkind` or `prokind`.
    pub kind: char,
    pub owner_oid: u32,
    pub owner: String,
    pub count: i64,
    /// The ACL as text, None for the default ACL: the key to fetch this group's names.
    pub acl_text: Option<String>,
    pub acl: Vec<AclEntry>,
}

pub(super) fn q(what: &'static str) -> impl Fn(tokio_postgres::Error) -> VerifyError {
    move |e| VerifyError::query(what, &e)
}

pub(super) fn acl(row: &Row) -> Result<Vec<AclEntry>, tokio_postgres::Error> {
    Ok(entries(row.try_get("grantees")?, row.try_get("privs")?, row.try_get("grantable")?))
}

pub(super) fn first_char(s: String) -> char {
    s.chars().next().unwrap_or('?')
}

pub(super) fn class_of(s: &str) -> Class {
    if s == "proc" {
        Class::Routine
    } else {
        Class::Relation
    }
}

/// Sends a query with its parameter types inline: no separate prepare round trip, so the
/// queries of [`super::catalog::read`] that are awaited together go out in one pipelined batch.
pub(super) async fn typed(
    client: &Client,
    what: &'static str,
    sql: &str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> Result<Vec<Row>, VerifyError> {
    client.query_typed(sql, params).await.map_err(q(what))
}
