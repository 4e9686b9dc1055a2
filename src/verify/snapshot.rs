//! One consistent view of the catalogs for a whole verify, optionally shared by helper
//! connections.
//!
//! Owns the transaction `verify` reads in: `REPEATABLE READ, READ ONLY` on the primary
//! connection, so every query of one report sees the same snapshot (a GRANT committed halfway
//! through cannot make two checks disagree). With helper connections and a `pg_class` of at
//! least [`SPLIT_MIN_PAGES`], the primary exports its snapshot and each helper imports it
//! (`SET TRANSACTION SNAPSHOT`, as `pg_dump --jobs` does), so that a scan split into block
//! ranges over several server processes still reads exactly one version of every row.
//!
//! Must end what it began: [`Snapshot::end`] rolls back every connection it opened a transaction
//! on, whatever happened in between (verify never writes, so nothing is lost).

use super::VerifyError;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Below this many `pg_class` pages (8 kB each; about 30 relations per page) one connection
/// scans faster than several: the extra round trips cost more than they save.
pub const SPLIT_MIN_PAGES: u32 = 512;

const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// The connections of one verify, inside their transaction.
pub struct Snapshot<'a> {
    /// Runs every query; first in `workers`.
    pub primary: &'a Client,
    /// The primary, then each helper that imported its snapshot. One entry: no split.
    pub workers: Vec<&'a Client>,
    /// Size of `pg_class` in pages when the session began (0 when not measured).
    pub pages: u32,
}

fn failed(e: tokio_postgres::Error) -> VerifyError {
    VerifyError::query("a read-only snapshot of the catalogs", &e)
}

/// A snapshot id as `pg_export_snapshot()` prints it (`00000003-0000001B-1`): checked before it
/// is spliced into `SET TRANSACTION SNAPSHOT`, which takes no parameters.
fn valid_snapshot_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

impl<'a> Snapshot<'a> {
    /// Begins the transaction on `primary`; with `helpers`, measures `pg_class` and, when it
    /// has at least `split_min_pages` pages ([`SPLIT_MIN_PAGES`] unless testing), has every
    /// helper join the primary's snapshot.
    pub async fn begin(
        primary: &'a Client,
        helpers: &[&'a Client],
        split_min_pages: u32,
    ) -> Result<Snapshot<'a>, VerifyError> {
        if helpers.is_empty() {
            primary.batch_execute(BEGIN).await.map_err(failed)?;
            return Ok(Snapshot { primary, workers: vec![primary], pages: 0 });
        }
        let sql = format!(
            "{BEGIN}; SELECT pg_catalog.pg_export_snapshot(), \
             (pg_catalog.pg_relation_size('pg_catalog.pg_class') \
              / pg_catalog.current_setting('block_size')::bigint)::text"
        );
        let messages = primary.simple_query(&sql).await.map_err(failed)?;
        let row = messages.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((r.get(0), r.get(1))),
            _ => None,
        });
        let (Some(snapshot), Some(pages)) = row.unwrap_or((None, None)) else {
            let _ = primary.batch_execute("ROLLBACK").await;
            return Err(VerifyError::Query {
                what: "a read-only snapshot of the catalogs",
                message: "pg_export_snapshot() returned no row".into(),
            });
        };
        let pages: u32 = pages.parse().unwrap_or(0);
        let mut session = Snapshot { primary, workers: vec![primary], pages };
        if pages < split_min_pages || !valid_snapshot_id(snapshot) {
            return Ok(session);
        }
        let join = format!("{BEGIN}; SET TRANSACTION SNAPSHOT '{snapshot}'");
        let joined =
            futures::future::join_all(helpers.iter().map(|h| h.batch_execute(&join))).await;
        let mut first_error = None;
        for (helper, result) in helpers.iter().zip(joined) {
            match result {
                Ok(()) => session.workers.push(helper),
                Err(e) => {
                    // The helper may be inside a failed transaction: end it, and the session.
                    let _ = helper.batch_execute("ROLLBACK").await;
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            None => Ok(session),
            Some(e) => {
                session.end().await;
                Err(failed(e))
            }
        }
    }

    /// Rolls back every connection of the session (errors ignored: a broken connection has no
    /// transaction left to end).
    pub async fn end(self) {
        futures::future::join_all(self.workers.iter().map(|c| c.batch_execute("ROLLBACK"))).await;
    }

    /// Block ranges of `pg_class`, one per worker: `[from, to)`, the last one open-ended so that
    /// pages added since [`Snapshot::begin`] are still read. One worker: the whole table.
    pub fn ranges(&self) -> Vec<(u32, Option<u32>)> {
        block_ranges(self.pages, self.workers.len())
    }
}

/// `n` contiguous block ranges covering `[0, pages)` and beyond, in equal shares.
fn block_ranges(pages: u32, n: usize) -> Vec<(u32, Option<u32>)> {
    let n = n.max(1) as u32;
    let step = pages.div_ceil(n).max(1);
    (0..n).map(|i| (i * step, if i + 1 == n { None } else { Some((i + 1) * step) })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_are_checked_before_use() {
        assert!(valid_snapshot_id("00000003-0000001B-1"));
        assert!(!valid_snapshot_id(""));
        assert!(!valid_snapshot_id("1'; DROP ROLE x; --"));
        assert!(!valid_snapshot_id(&"0".repeat(65)));
    }

    #[test]
    fn block_ranges_are_contiguous_and_open_ended() {
        assert_eq!(block_ranges(1000, 1), vec![(0, None)]);
        assert_eq!(block_ranges(1000, 2), vec![(0, Some(500)), (500, None)]);
        assert_eq!(block_ranges(1001, 3), vec![(0, Some(334)), (334, Some(668)), (668, None)]);
        assert_eq!(block_ranges(0, 2), vec![(0, Some(1)), (1, None)]);
    }
}
