//! The broker's calls to the `db_admin` functions (docs/contracts.md), over a pooled connection.
//!
//! Owns the SQL text of those calls (bind parameters only, so nothing secret reaches
//! `pg_stat_activity` or `log_statement`) and the mapping of their results. The plaintext
//! password never leaves the process towards the database: only its SCRAM verifier is sent.
//! Must not decide who may do what: that is `access`/`workflow`.

use super::connect::Pool;
use super::error::BrokerError;
use super::password::TempPassword;
use super::session::{self, Work};
use crate::model::script::quote_ident;
use crate::model::{Level, Names};
use chrono::{DateTime, Utc};
use tracing::instrument;

/// Who asked for and approved a password; written to the audit table by the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueAudit {
    pub incident: String,
    /// The requester's Slack user id.
    pub requester: String,
    /// The approvers' Slack user ids.
    pub approvers: Vec<String>,
}

/// Who expired a password or ended sessions, and for which incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionAudit {
    pub incident: String,
    /// A Slack user id, or `reconciler`/`timer` for automatic actions.
    pub actor: String,
}

/// The result of [`Broker::issue`].
#[derive(Debug)]
pub struct Issued {
    pub password: TempPassword,
    /// The role's `VALID UNTIL`, as set by the database: the planned end rounded up to the
    /// second, capped at 2 hours from now by the database's clock.
    pub db_valid_until: DateTime<Utc>,
}

/// An open session of a firefighter role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirefighterSession {
    pub pid: i32,
    pub role: String,
    /// `None` if the role is not one of this model's two firefighter roles.
    pub level: Option<Level>,
    /// The database the session is connected to.
    pub database: Option<String>,
    pub client_addr: Option<String>,
    pub backend_start: Option<DateTime<Utc>>,
    pub state: Option<String>,
}

/// SQL of the calls, with the admin schema quoted once.
struct Statements {
    issue: String,
    expire: String,
    terminate: String,
    sessions: String,
    planned_end: String,
}

impl Statements {
    fn new(admin_schema: &str) -> Statements {
        let s = quote_ident(admin_schema);
        Statements {
            issue: format!(
                "SELECT {s}.set_firefighter_password($1::name, $2::text, $3::timestamptz, \
                 $4::text, $5::text, $6::text[])"
            ),
            expire: format!("SELECT {s}.expire_firefighter_password($1::name, $2::text, $3::text)"),
            terminate: format!(
                "SELECT {s}.terminate_firefighter_sessions($1::name, $2::text, $3::text)"
            ),
            sessions: format!(
                "SELECT pid::int4, role::text, client_addr::text, backend_start, state::text, \
                 datname::text \
                 FROM {s}.firefighter_sessions() ORDER BY pid"
            ),
            planned_end: format!(
                "SELECT ends_at FROM {s}.firefighter_audit_recent(100) \
                 WHERE role = $1::name AND event = 'issue' ORDER BY id DESC LIMIT 1"
            ),
        }
    }
}

/// `t` rounded up to a whole second: PostgreSQL keeps microseconds, and a truncated planned
/// end would put `VALID UNTIL` up to a microsecond before it.
pub fn ceil_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let whole = t - chrono::Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()));
    if whole == t {
        t
    } else {
        whole + chrono::Duration::seconds(1)
    }
}

/// `rolvaliduntil`, with `infinity` read as "no limit" and `-infinity` as the epoch (chrono
/// cannot represent infinities).
const ROLE_VALID_UNTIL: &str = "SELECT CASE WHEN rolvaliduntil = 'infinity' THEN NULL \
     WHEN rolvaliduntil = '-infinity' THEN 'epoch'::timestamptz ELSE rolvaliduntil END \
     FROM pg_catalog.pg_roles WHERE rolname = $1::name";

/// The password broker: issues, expires and ends firefighter access through `db_admin`.
pub struct Broker {
    pool: Pool,
    names: Names,
    sql: Statements,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").field("broker_role", &self.names.broker()).finish()
    }
}

impl Broker {
    pub fn new(pool: Pool, names: Names) -> Broker {
        let sql = Statements::new(&names.admin_schema);
        Broker { pool, names, sql }
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The pool (for the connection budget, idle closing and `/pgroles verify`).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Generates a password, sends its SCRAM verifier to `set_firefighter_password` and returns
    /// the plaintext for delivery with the `VALID UNTIL` the database set. `ends_at` is the
    /// grant's planned end: `VALID UNTIL` is that instant rounded up to the second (the
    /// database refuses one in the past or more than 2 hours ahead, and records it in the audit
    /// row so a lost expiry can be restored). It travels as a binary timestamp, so no session
    /// setting (DateStyle, TimeZone) can shift it.
    #[instrument(skip_all, fields(level = %level, incident = %audit.incident))]
    pub async fn issue(
        &self,
        level: Level,
        ends_at: DateTime<Utc>,
        audit: &IssueAudit,
    ) -> Result<Issued, BrokerError> {
        let ends_at = ceil_to_second(ends_at);
        // 4096 PBKDF2 rounds: off the async worker threads.
        let (password, verifier) = tokio::task::spawn_blocking(|| {
            let password = TempPassword::generate();
            let verifier = password.scram_verifier();
            (password, verifier)
        })
        .await
        .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("computing the verifier: {e}")))?;
        let role = self.names.firefighter(level);
        let mut conn = session::session(&self.pool, Work::General).await?;
        let row = conn
            .query_one(
                self.sql.issue.as_str(),
                &[
                    &role,
                    &verifier.expose_for_database(),
                    &ends_at,
                    &audit.incident,
                    &audit.requester,
                    &audit.approvers,
                ],
                &[password.expose_for_delivery(), verifier.expose_for_database()],
            )
            .await?;
        let db_valid_until: DateTime<Utc> = row
            .try_get(0)
            .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("reading VALID UNTIL: {e}")))?;
        tracing::info!(%db_valid_until, "firefighter password issued");
        Ok(Issued { password, db_valid_until })
    }

    /// Removes the password and sets `VALID UNTIL` in the past. Open sessions stay open, except
    /// one that holds the role's own catalog rows in an open transaction (an uncommitted
    /// `ALTER ROLE CURRENT_USER ...`): the database ends it after 2 s rather than wait for ever.
    #[instrument(skip_all, fields(level = %level, incident = %audit.incident))]
    pub async fn expire(&self, level: Level, audit: &ActionAudit) -> Result<(), BrokerError> {
        let role = self.names.firefighter(level);
        let mut conn = session::session(&self.pool, Work::Ending).await?;
        conn.execute(self.sql.expire.as_str(), &[&role, &audit.incident, &audit.actor]).await?;
        tracing::info!("firefighter password expired");
        Ok(())
    }

    /// Ends every session of the role; returns how many were signalled.
    #[instrument(skip_all, fields(level = %level, incident = %audit.incident))]
    pub async fn terminate_sessions(
        &self,
        level: Level,
        audit: &ActionAudit,
    ) -> Result<i32, BrokerError> {
        let role = self.names.firefighter(level);
        let mut conn = session::session(&self.pool, Work::Ending).await?;
        let row = conn
            .query_one(self.sql.terminate.as_str(), &[&role, &audit.incident, &audit.actor], &[])
            .await?;
        let ended: Option<i32> = row
            .try_get(0)
            .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("reading the count: {e}")))?;
        let ended = ended.unwrap_or(0);
        tracing::info!(ended, "firefighter sessions terminated");
        Ok(ended)
    }

    /// Open sessions of both firefighter roles.
    pub async fn sessions(&self) -> Result<Vec<FirefighterSession>, BrokerError> {
        let mut conn = session::session(&self.pool, Work::General).await?;
        let rows = conn.query(self.sql.sessions.as_str(), &[]).await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get(1)?;
                Ok(FirefighterSession {
                    pid: r.try_get(0)?,
                    level: self.names.level_of(&role),
                    role,
                    client_addr: r.try_get(2)?,
                    backend_start: r.try_get(3)?,
                    state: r.try_get(4)?,
                    database: r.try_get(5)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("reading sessions: {e}")))
    }

    /// The planned end recorded with the role's latest issue (`ends_at` of [`Broker::issue`]);
    /// `None` if there is none in the recent audit rows.
    pub async fn planned_end(&self, level: Level) -> Result<Option<DateTime<Utc>>, BrokerError> {
        let role = self.names.firefighter(level);
        let mut conn = session::session(&self.pool, Work::Ending).await?;
        let row = conn.query_opt(self.sql.planned_end.as_str(), &[&role]).await?;
        match row {
            None => Ok(None),
            Some(row) => row.try_get(0).map_err(|e| {
                BrokerError::Unexpected(anyhow::anyhow!("reading the planned end: {e}"))
            }),
        }
    }

    /// The role's `VALID UNTIL` from `pg_roles`; `None` when it has no limit.
    pub async fn role_valid_until(
        &self,
        level: Level,
    ) -> Result<Option<DateTime<Utc>>, BrokerError> {
        let role = self.names.firefighter(level);
        let mut conn = session::session(&self.pool, Work::Ending).await?;
        let row = conn.query_opt(ROLE_VALID_UNTIL, &[&role]).await?.ok_or_else(|| {
            BrokerError::Unexpected(anyhow::anyhow!("role {role} does not exist"))
        })?;
        row.try_get(0)
            .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("reading VALID UNTIL: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_call_the_contract_functions_with_bind_parameters_only() {
        let s = Statements::new("db_admin");
        assert_eq!(
            s.issue,
            "SELECT \"db_admin\".set_firefighter_password($1::name, $2::text, \
             $3::timestamptz, $4::text, $5::text, $6::text[])"
        );
        assert!(s.expire.contains("\"db_admin\".expire_firefighter_password($1::name"));
        assert!(s.terminate.contains("\"db_admin\".terminate_firefighter_sessions($1::name"));
        assert!(s.sessions.contains("FROM \"db_admin\".firefighter_sessions()"));
    }

    #[test]
    fn planned_end_is_rounded_up_to_the_second() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().to_utc();
        assert_eq!(ceil_to_second(t), t);
        let later = t + chrono::Duration::nanoseconds(1);
        assert_eq!(ceil_to_second(later), t + chrono::Duration::seconds(1));
        let later = t + chrono::Duration::nanoseconds(999_999_999);
        assert_eq!(ceil_to_second(later), t + chrono::Duration::seconds(1));
    }

    #[test]
    fn admin_schema_is_quoted_as_an_identifier() {
        assert!(Statements::new("a\"b").expire.starts_with("SELECT \"a\"\"b\"."));
    }
}
