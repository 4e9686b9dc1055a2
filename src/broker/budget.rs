//! The broker's connection budget: how many connections every bot process together may open
//! against the broker role's `CONNECTION LIMIT`, and the startup check that refuses a
//! configuration that cannot fit.
//!
//! Owns the arithmetic and its message. The limit is read from the catalog (`rolconnlimit` of
//! the logged-in role), so the check compares the configuration against what the server will
//! actually enforce; `pgroles apply` sets the limit from the same numbers
//! ([`Budget::required`]). Must not open connections beyond the one it reads the limit with.

use super::connect::Pool;
use super::error::BrokerError;
use super::session;
use crate::config::DatabaseConfig;

/// Slots kept free beyond the replicas' pools: one for `pgroles revoke`, the kill switch, which
/// must get a connection even while every replica's pool is full.
pub const RESERVED: u32 = 1;

/// `rolconnlimit` of the role the broker logs in as (-1: no limit).
const ROLE_CONNECTION_LIMIT: &str =
    "SELECT rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = current_user";

/// The numbers the budget is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bot processes that may run at once (replicas plus a rolling update's surge pod).
    pub max_replicas: u32,
    /// Connections per process.
    pub pool_size: u32,
}

/// A configuration whose connections cannot fit under the role's limit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the connection budget does not fit: database.max_replicas ({max_replicas}) x \
     database.pool_size ({pool_size}) + {reserved} reserved for `pgroles revoke` = {required}, \
     but the broker role's CONNECTION LIMIT is {limit}; lower pool_size or max_replicas, or run \
     `pgroles apply` with this configuration to raise the limit"
)]
pub struct BudgetError {
    pub max_replicas: u32,
    pub pool_size: u32,
    pub reserved: u32,
    pub required: u32,
    pub limit: i32,
}

impl Budget {
    pub fn from_config(db: &DatabaseConfig) -> Budget {
        Budget {
            max_replicas: db.max_replicas.max(1),
            pool_size: u32::try_from(db.pool_size.max(1)).unwrap_or(u32::MAX),
        }
    }

    /// Connections the configuration needs: every process's pool, plus [`RESERVED`]. This is
    /// the `CONNECTION LIMIT` `pgroles apply` gives the broker role.
    pub fn required(&self) -> u32 {
        self.max_replicas.saturating_mul(self.pool_size).saturating_add(RESERVED)
    }

    /// Whether the budget fits under `limit` (`rolconnlimit`; negative: unlimited).
    pub fn check(&self, limit: i32) -> Result<(), BudgetError> {
        let required = self.required();
        if limit < 0 || i64::from(required) <= i64::from(limit) {
            return Ok(());
        }
        Err(BudgetError {
            max_replicas: self.max_replicas,
            pool_size: self.pool_size,
            reserved: RESERVED,
            required,
            limit,
        })
    }
}

/// The `CONNECTION LIMIT` of the role the pool logs in as.
pub async fn role_connection_limit(pool: &Pool) -> Result<i32, BrokerError> {
    let mut conn = session::session(pool, session::Work::General).await?;
    let row = conn.query_one(ROLE_CONNECTION_LIMIT, &[], &[]).await?;
    row.try_get(0)
        .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("reading rolconnlimit: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_every_process_and_the_reserved_slot() {
        let b = Budget { max_replicas: 3, pool_size: 4 };
        assert_eq!(b.required(), 13);
        assert_eq!(b.check(13), Ok(()));
        assert_eq!(b.check(-1), Ok(()), "no limit");
        let err = b.check(3).unwrap_err();
        assert_eq!(err.required, 13);
        let text = err.to_string();
        for n in ["(3)", "(4)", "= 13", "LIMIT is 3"] {
            assert!(text.contains(n), "{n} missing from: {text}");
        }
    }

    #[test]
    fn the_budget_comes_from_the_database_section() {
        let db = DatabaseConfig { pool_size: 2, max_replicas: 2, ..DatabaseConfig::default() };
        assert_eq!(Budget::from_config(&db).required(), 5);
    }
}
