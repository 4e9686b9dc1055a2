//! A borrowed broker connection whose every statement has a client-side deadline: the only way
//! `calls.rs` (and `budget.rs`) run SQL, so the deadline is kept in one place.
//!
//! Owns the deadline and what happens when it is missed: the connection is taken out of the
//! pool and closed (nobody queues behind a stalled socket) and the call fails as
//! [`BrokerError::Unavailable`]; a server-side statement or lock timeout is `Unavailable` too.

use super::connect::{get, Pool, PooledConn};
use super::error::{classify, BrokerError};
use deadpool::managed;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// A borrowed connection whose every statement is bounded by the pool's [`CallLimits`]: the
/// only way `calls.rs` runs SQL. A statement that misses its client deadline closes the
/// connection (it is taken out of the pool, so nobody queues behind a stalled socket) and
/// returns [`BrokerError::Unavailable`]; so does a server-side statement or lock timeout.
pub struct Session {
    conn: Option<PooledConn>,
    deadline: Duration,
}

/// Borrows a connection for bounded statements (see [`Session`]).
pub async fn session(pool: &Pool) -> Result<Session, BrokerError> {
    let deadline = pool.manager().limits().deadline;
    Ok(Session { conn: Some(get(pool).await?), deadline })
}

impl Session {
    /// `query_one`; `secrets` are scrubbed from any server text kept in the error.
    pub async fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        secrets: &[&str],
    ) -> Result<Row, BrokerError> {
        let deadline = self.deadline;
        let conn = self.conn()?;
        let res = tokio::time::timeout(deadline, conn.query_one(sql, params)).await;
        self.finish(res, secrets)
    }

    /// `query_opt`, bounded.
    pub async fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, BrokerError> {
        let deadline = self.deadline;
        let conn = self.conn()?;
        let res = tokio::time::timeout(deadline, conn.query_opt(sql, params)).await;
        self.finish(res, &[])
    }

    /// `query`, bounded.
    pub async fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, BrokerError> {
        let deadline = self.deadline;
        let conn = self.conn()?;
        let res = tokio::time::timeout(deadline, conn.query(sql, params)).await;
        self.finish(res, &[])
    }

    /// `execute`, bounded.
    pub async fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, BrokerError> {
        let deadline = self.deadline;
        let conn = self.conn()?;
        let res = tokio::time::timeout(deadline, conn.execute(sql, params)).await;
        self.finish(res, &[])
    }

    fn conn(&self) -> Result<&PooledConn, BrokerError> {
        self.conn.as_ref().ok_or_else(|| {
            BrokerError::Unavailable(anyhow::anyhow!("the connection was closed after a timeout"))
        })
    }

    fn finish<T>(
        &mut self,
        res: Result<Result<T, tokio_postgres::Error>, tokio::time::error::Elapsed>,
        secrets: &[&str],
    ) -> Result<T, BrokerError> {
        match res {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e))
                if e.code() == Some(&SqlState::QUERY_CANCELED)
                    || e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) =>
            {
                Err(BrokerError::Unavailable(anyhow::anyhow!(
                    "the statement exceeded the broker's statement_timeout"
                )))
            }
            Ok(Err(e)) => Err(classify(&e, secrets)),
            Err(_) => {
                // Out of the pool and closed: its I/O task is aborted when it drops.
                if let Some(conn) = self.conn.take() {
                    drop(managed::Object::take(conn));
                }
                tracing::warn!(
                    deadline_ms = self.deadline.as_millis() as u64,
                    "broker statement missed its deadline; connection closed"
                );
                Err(BrokerError::Unavailable(anyhow::anyhow!(
                    "no answer from the database within {:?}",
                    self.deadline
                )))
            }
        }
    }
}
