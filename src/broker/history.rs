//! The broker's call to `db_admin.firefighter_history` (`sql/58_history.sql`, issue 17), and
//! `pgroles history`, which prints its rows as text, JSON or CSV.
//!
//! Owns the call (bind parameters only, the bounds of [`HistoryQuery`]) and the command's body.
//! The formats are `access::history`'s; the database clamps the bounds again, whatever a
//! caller sends. No policy here, and nothing written.

use super::calls::Broker;
use super::error::BrokerError;
use super::session::{self, Work};
use crate::access::history::{self, HistoryFormat, HistoryQuery, HistoryRow};
use crate::config::Config;
use crate::model::script::quote_ident;
use anyhow::Context;

impl Broker {
    /// The audit history `query` asks for, newest first.
    pub async fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoryRow>, BrokerError> {
        let sql = format!(
            "SELECT id, at, event, role::text, level, person, incident, requester, approvers, \
             expires_at, ends_at, sessions_ended, actor::text, login_outcome \
             FROM {}.firefighter_history($1::int4, $2::text, $3::text, $4::int4)",
            quote_ident(&self.names().admin_schema)
        );
        let mut conn = session::session(self.pool(), Work::General).await?;
        let rows =
            conn.query(&sql, &[&query.days, &query.incident, &query.user, &query.max_rows]).await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryRow {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    event: r.try_get(2)?,
                    role: r.try_get(3)?,
                    level: r.try_get(4)?,
                    person: r.try_get(5)?,
                    incident: r.try_get(6)?,
                    requester: r.try_get(7)?,
                    approvers: r
                        .try_get::<_, Option<Vec<Option<String>>>>(8)?
                        .unwrap_or_default()
                        .into_iter()
                        .flatten()
                        .collect(),
                    expires_at: r.try_get(9)?,
                    ends_at: r.try_get(10)?,
                    sessions_ended: r.try_get(11)?,
                    actor: r.try_get(12)?,
                    login_outcome: r.try_get(13)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("reading the history: {e}")))
    }
}

/// `pgroles history`: the rows of `query` from the configured database, as the broker, in
/// `format`.
pub async fn cli(
    cfg: &Config,
    query: &HistoryQuery,
    format: HistoryFormat,
) -> anyhow::Result<String> {
    let broker = Broker::from_config(&cfg.database, &cfg.aws, &cfg.model)
        .await
        .context("setting up the password broker")?;
    let rows = broker.history(query).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(history::render(&rows, format))
}
