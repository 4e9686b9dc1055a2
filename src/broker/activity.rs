//! The broker's call to `db_admin.person_activity` (`sql/59_person_activity.sql`, issue 15):
//! what one per-person login did in the application database, read from pg_stat_statements
//! through the admin-owned function, as an [`access::activity::PersonActivity`]
//! (`crate::access::text::activity` words it for the thread).
//!
//! Read it BEFORE ending the login: the database answers for any recorded login (live or
//! ended, by its recorded oid), but pg_stat_statements may have evicted or reset an old
//! login's entries. Bind parameters only; no policy here.

use super::calls::Broker;
use super::error::BrokerError;
use super::session::{self, Work};
use crate::access::activity::{
    Availability, KindCount, PersonActivity, StatementKind, TableWritten, TopStatement,
};
use crate::model::script::quote_ident;
use tracing::instrument;

/// How many statements a summary lists by default (the database allows 0 to 20).
pub const DEFAULT_TOP_STATEMENTS: i32 = 5;

fn unexpected(e: tokio_postgres::Error) -> BrokerError {
    BrokerError::Unexpected(anyhow::anyhow!("reading the activity: {e}"))
}

/// One row of `person_activity` (section, kind, item, calls, rows, total_ms).
type ActivityRow = (String, Option<String>, Option<String>, Option<i64>, Option<i64>, Option<f64>);

/// The summary from the function's rows (pure; the database's order is not relied on).
pub fn from_rows(login: &str, rows: Vec<ActivityRow>) -> PersonActivity {
    let mut availability = Availability::NotAvailable { reason: "no answer".into() };
    let (mut kinds, mut tables, mut top) = (Vec::new(), Vec::new(), Vec::new());
    for (section, kind, item, calls, n, ms) in rows {
        let (calls, n, ms) = (calls.unwrap_or(0), n.unwrap_or(0), ms.unwrap_or(0.0));
        let item = item.unwrap_or_default();
        match section.as_str() {
            "status" => {
                availability = match kind.as_deref() {
                    Some("available") => Availability::Available,
                    Some("partial") => Availability::Partial { reason: item },
                    _ => Availability::NotAvailable { reason: item },
                }
            }
            "kind" => kinds.push(KindCount {
                kind: StatementKind::parse(kind.as_deref().unwrap_or("other")),
                calls,
                rows: n,
                total_ms: ms,
            }),
            "table" => tables.push(TableWritten { table: item, calls, rows: n }),
            "top" => top.push(TopStatement {
                kind: StatementKind::parse(kind.as_deref().unwrap_or("other")),
                text: item,
                calls,
                rows: n,
                total_ms: ms,
            }),
            _ => {}
        }
    }
    PersonActivity::new(login.to_owned(), availability, kinds, tables, top)
}

impl Broker {
    /// The activity of the recorded per-person login `login` in the application database, with
    /// its `top_n` (0 to 20) most called statements as normalized text. Refused
    /// ([`BrokerError::Refused`]) for a role that was never recorded as a per-person login;
    /// `Availability::NotAvailable` (not an error) where pg_stat_statements is not installed.
    #[instrument(skip_all, fields(login = %login))]
    pub async fn person_activity(
        &self,
        login: &str,
        top_n: i32,
    ) -> Result<PersonActivity, BrokerError> {
        let sql = format!(
            "SELECT section, kind, item, calls, rows, total_ms \
             FROM {}.person_activity($1::name, $2::int4)",
            quote_ident(&self.names().admin_schema)
        );
        let mut conn = session::session(self.pool(), Work::General).await?;
        let rows = conn.query(&sql, &[&login, &top_n]).await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                ))
            })
            .collect::<Result<Vec<ActivityRow>, tokio_postgres::Error>>()
            .map_err(unexpected)?;
        let activity = from_rows(login, rows);
        tracing::info!(statements = activity.statements(), "per-person login activity read");
        Ok(activity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: &str, k: &str, item: &str, calls: i64) -> ActivityRow {
        (s.into(), Some(k.into()), Some(item.into()), Some(calls), Some(2), Some(1.5))
    }

    #[test]
    fn rows_become_a_summary_whatever_their_order() {
        let a = from_rows(
            "l",
            vec![
                row("top", "select", "SELECT $1", 1),
                row("kind", "update", "", 3),
                row("table", "update", "public.orders", 3),
                row("top", "update", "UPDATE public.orders SET a = $1", 3),
                row("status", "available", "pg_stat_statements 1.10", 0),
                row("kind", "select", "", 1),
                row("mystery", "x", "y", 1),
            ],
        );
        assert_eq!(a.availability, Availability::Available);
        assert_eq!(a.statements(), 4);
        assert_eq!(a.kinds[0].kind, StatementKind::Select);
        assert_eq!(a.top[0].text, "UPDATE public.orders SET a = $1");
        assert_eq!(a.tables_written[0].table, "public.orders");
        let none = from_rows("l", vec![row("status", "not available", "not installed", 0)]);
        assert_eq!(
            none.availability,
            Availability::NotAvailable { reason: "not installed".into() }
        );
        assert!(matches!(from_rows("l", vec![]).availability, Availability::NotAvailable { .. }));
    }
}
