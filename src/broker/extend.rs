//! The broker's call to `extend_firefighter_access` (`sql/61_extend.sql`, issue 17): moves the
//! VALID UNTIL of a shared firefighter role or of a per-person login later, within the
//! database's cap (2 hours after the password was set). Bind parameters only; no password is
//! involved; no policy here (who may extend, and by how much, is the caller's).

use super::calls::{ActionAudit, Broker};
use super::error::BrokerError;
use super::session::{self, Work};
use crate::model::script::quote_ident;
use chrono::{DateTime, Utc};
use tracing::instrument;

impl Broker {
    /// Extends `role` (a firefighter role or a per-person login) to `until`; returns VALID
    /// UNTIL as the database set it (rounded up to the second). The database refuses an end
    /// past its cap, not later than the current one, or for a password that is not live.
    #[instrument(skip_all, fields(role = %role, incident = %audit.incident))]
    pub async fn extend(
        &self,
        role: &str,
        until: DateTime<Utc>,
        audit: &ActionAudit,
    ) -> Result<DateTime<Utc>, BrokerError> {
        let sql = format!(
            "SELECT {}.extend_firefighter_access($1::name, $2::timestamptz, $3::text, $4::text)",
            quote_ident(&self.names().admin_schema)
        );
        let mut conn = session::session(self.pool(), Work::General).await?;
        let row =
            conn.query_one(&sql, &[&role, &until, &audit.incident, &audit.actor], &[]).await?;
        let until: DateTime<Utc> = row
            .try_get(0)
            .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("reading VALID UNTIL: {e}")))?;
        tracing::info!(%until, "firefighter access extended");
        Ok(until)
    }
}
