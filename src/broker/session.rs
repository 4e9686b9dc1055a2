//! A borrowed broker connection whose every statement has a client-side deadline: the only way
//! `calls.rs` (and `budget.rs`) run SQL, so the deadline is kept in one place.
//!
//! Owns the deadline and what happens when it is missed: the connection is taken out of the
//! pool and closed (nobody queues behind a stalled socket) and the call fails as
//! [`BrokerError::Unavailable`]; a server-side statement or lock timeout is `Unavailable` too.
//! Also owns the pool's reserve: work other than expiry and revoke ([`Work::General`]) holds
//! one of the pool's size-less-one general slots while it has a connection, so an expiry or a
//! revoke ([`Work::Ending`]) always finds one connection that nothing else may take.

use super::connect::{get, Pool, PooledConn};
use super::error::{classify, BrokerError};
use deadpool::managed;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// What a borrowed connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Expiry, revoke and the reconciler's restores: may use every connection of the pool.
    Ending,
    /// Issue, session listings, readiness, verify: leaves one connection for [`Work::Ending`].
    General,
}

/// A borrowed connection whose every statement is bounded by the pool's [`CallLimits`](super::connect::CallLimits): the
/// only way `calls.rs` runs SQL. A statement that misses its client deadline closes the
/// connection (it is taken out of the pool, so nobody queues behind a stalled socket) and
/// returns [`BrokerError::Unavailable`]; so does a server-side statement or lock timeout.
pub struct Session {
    conn: Option<PooledConn>,
    deadline: Duration,
    /// Held for [`Work::General`] until the connection is back in the pool.
    _slot: Option<OwnedSemaphorePermit>,
}

/// Borrows a connection for bounded statements (see [`Session`]), for `work`.
pub async fn session(pool: &Pool, work: Work) -> Result<Session, BrokerError> {
    let deadline = pool.manager().limits().deadline;
    let slot = match work {
        Work::Ending => None,
        Work::General => Some(general_slot(pool).await?),
    };
    Ok(Session { conn: Some(get(pool).await?), deadline, _slot: slot })
}

/// One of the pool's general slots (see [`Work::General`]), waited for as long as a connection
/// would be; hold it while holding a connection got with [`get`] directly (verify does).
pub async fn general_slot(pool: &Pool) -> Result<OwnedSemaphorePermit, BrokerError> {
    let wait = pool.manager().limits().acquire;
    let slots = pool.manager().general_slots().clone();
    match tokio::time::timeout(wait, slots.acquire_owned()).await {
        Ok(Ok(slot)) => Ok(slot),
        _ => Err(BrokerError::Unavailable(anyhow::anyhow!(
            "no broker connection free within {wait:?} (one is kept for expiry and revoke)"
        ))),
    }
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
