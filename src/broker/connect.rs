//! The broker's pooled PostgreSQL connection.
//!
//! Owns a custom deadpool [`Manager`](deadpool::managed::Manager): every new connection asks the
//! [`CredentialSource`] for the current credential (a cached secret or IAM token), and when the
//! login fails with SQLSTATE 28P01/28000 it refreshes the credential once and retries. We chose
//! this over "recreate the pool on refresh" because IAM tokens expire every 15 minutes while
//! pooled connections live on: only *new* logins need a fresh credential, and the manager is the
//! one place that makes them. (deadpool-postgres' own `Connect` hook cannot report a credential
//! error, hence a manager of our own.) Must not run broker SQL: that is `calls.rs`.
//!
//! Also owns the limits on every broker call ([`CallLimits`]): each login carries
//! `statement_timeout`/`lock_timeout` as startup options (which beat any `ALTER ROLE ... SET`
//! the broker login could make), and every statement runs through a
//! [`Session`](super::session::Session) that adds a client-side deadline. SQLSTATE 53300 (the
//! role's connection limit) is retried with back-off within the caller's acquire limit instead
//! of failing the call at once.

use super::credential::{CredentialSource, DbCredential};
use super::error::{classify, is_auth_failure, BrokerError};
use super::tls;
use crate::config::DatabaseConfig;
use crate::model::Names;
use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, Timeouts};
use deadpool::Runtime;
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long a login may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller waits for a pooled connection (including a login and credential fetch).
pub const POOL_TIMEOUT: Duration = Duration::from_secs(20);
/// Extra time the client gives a statement beyond the server's `statement_timeout` (network,
/// the cancel's round trip) before it gives up on the connection.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// The time limits of every broker call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// The server-side `statement_timeout` (and `lock_timeout`) of every broker session.
    pub statement: Duration,
    /// The client-side deadline of one statement: `statement` plus [`DEADLINE_MARGIN`].
    pub deadline: Duration,
    /// How long a caller waits for a connection, 53300 retries included.
    pub acquire: Duration,
}

impl CallLimits {
    pub fn from_config(db: &DatabaseConfig) -> CallLimits {
        let statement = Duration::from_millis(db.statement_timeout_ms.max(1));
        CallLimits {
            statement,
            deadline: statement + DEADLINE_MARGIN,
            acquire: POOL_TIMEOUT.min(statement * 4).max(Duration::from_secs(1)),
        }
    }
}

/// Session settings every broker login starts with, sent in the startup packet: they override
/// whatever `ALTER ROLE ... SET` stored on the broker role (any role may change its own
/// defaults, so a stolen broker login could otherwise make the bot's expiry and termination
/// fail: read-only transactions, 1 ms timeouts; or log a failed call's bind parameters, the
/// verifier: `log_parameter_max_length_on_error`, the one user-settable logging parameter of
/// `sql/60_guardrails.sql`). The statement, lock and idle-transaction limits are added from the
/// configuration ([`CallLimits`]) by [`BrokerManager::new`]. `transaction_timeout` (17+; an
/// unknown name would refuse the login on 15 and 16) is [`SESSION_OPTIONS_17`], added once a
/// login has shown the server is 17 or later.
pub const SESSION_OPTIONS: &str = "-c default_transaction_read_only=off \
     -c default_transaction_isolation=read\\ committed -c default_transaction_deferrable=off \
     -c idle_session_timeout=0 -c log_parameter_max_length_on_error=0";
/// Added to [`SESSION_OPTIONS`] on PostgreSQL 17 and later.
pub const SESSION_OPTIONS_17: &str = " -c transaction_timeout=0";

/// A live connection; its I/O task stops when it is dropped.
pub struct PgConn {
    client: tokio_postgres::Client,
    task: JoinHandle<()>,
}

impl std::ops::Deref for PgConn {
    type Target = tokio_postgres::Client;
    fn deref(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("could not obtain the broker's database credential")]
    Credential(#[source] anyhow::Error),
    #[error("could not log in to PostgreSQL")]
    Postgres(#[source] tokio_postgres::Error),
}

/// Creates broker connections with a fresh credential each time.
pub struct BrokerManager {
    /// Host, port, database, TLS mode; no user or password.
    base: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
    credentials: Arc<CredentialSource>,
    limits: CallLimits,
    /// [`SESSION_OPTIONS`] plus the configured statement, lock and idle-transaction limits.
    session_options: String,
    /// A login showed the server is 17+: logins also send [`SESSION_OPTIONS_17`].
    server_17: AtomicBool,
    /// Connections work other than expiry and revoke may hold at once: the pool's size less
    /// one, so an expiry or revoke never waits behind issues, probes or verify (see
    /// [`super::session::Work`]). A pool of one keeps no reserve.
    general: Arc<tokio::sync::Semaphore>,
}

impl BrokerManager {
    /// `names` supplies the default database (the model's) when `db.dbname` is not set.
    pub fn new(
        db: &DatabaseConfig,
        names: &Names,
        credentials: Arc<CredentialSource>,
    ) -> anyhow::Result<BrokerManager> {
        let tls = tls::client_config(db)?.map(MakeRustlsConnect::new);
        let limits = CallLimits::from_config(db);
        let ms = limits.statement.as_millis();
        // Startup options outrank role and database settings the login may have set.
        let session_options = format!(
            "{SESSION_OPTIONS} -c statement_timeout={ms} -c lock_timeout={ms} \
             -c idle_in_transaction_session_timeout={}",
            ms * 2
        );
        let mut base = tokio_postgres::Config::new();
        base.host(&db.host)
            .port(db.port)
            .dbname(db.dbname.as_deref().unwrap_or(&names.database))
            .application_name("pgroles-broker")
            .options(&session_options)
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .tcp_user_timeout(limits.deadline)
            .ssl_mode(if tls.is_some() { PgSslMode::Require } else { PgSslMode::Disable });
        Ok(BrokerManager {
            base,
            tls,
            credentials,
            limits,
            session_options,
            server_17: AtomicBool::new(false),
            general: Arc::new(tokio::sync::Semaphore::new(general_slots(db.pool_size))),
        })
    }

    /// Logins give up after `timeout` instead of [`CONNECT_TIMEOUT`] (the other instances of a
    /// cluster: an unreachable reader must not hold an expiry up for long).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> BrokerManager {
        self.base.connect_timeout(timeout);
        self
    }

    /// The slots of work other than expiry and revoke (see [`super::session::Work`]).
    pub fn general_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.general
    }

    /// The limits every call through this manager's pool runs under.
    pub fn limits(&self) -> CallLimits {
        self.limits
    }

    /// The `tokio_postgres` configuration without credentials (for tests and diagnostics).
    pub fn base_config(&self) -> &tokio_postgres::Config {
        &self.base
    }

    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Logs in; the first login that finds a 17+ server (no statement run yet) is dropped and
    /// made again with `transaction_timeout` pinned too.
    async fn login(&self, cred: &DbCredential) -> Result<PgConn, tokio_postgres::Error> {
        let pinned = self.server_17.load(Ordering::Relaxed);
        let (conn, is_17) = self.login_once(cred, pinned).await?;
        if is_17 && !pinned {
            self.server_17.store(true, Ordering::Relaxed);
            drop(conn);
            return Ok(self.login_once(cred, true).await?.0);
        }
        Ok(conn)
    }

    async fn login_once(
        &self,
        cred: &DbCredential,
        pin_17: bool,
    ) -> Result<(PgConn, bool), tokio_postgres::Error> {
        let mut cfg = self.base.clone();
        cfg.user(&cred.user).password(cred.password.expose_secret());
        if pin_17 {
            cfg.options(format!("{}{SESSION_OPTIONS_17}", self.session_options));
        }
        Ok(match &self.tls {
            None => {
                let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
                start(client, conn)
            }
            Some(tls) => {
                let (client, conn) = cfg.connect(tls.clone()).await?;
                start(client, conn)
            }
        })
    }
}

/// Spawns the connection's I/O task; says whether the server is PostgreSQL 17 or later.
fn start<S, T>(
    client: tokio_postgres::Client,
    conn: tokio_postgres::Connection<S, T>,
) -> (PgConn, bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let is_17 = conn
        .parameter("server_version")
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u32>().ok())
        .is_some_and(|major| major >= 17);
    (PgConn { client, task: spawn_connection(conn) }, is_17)
}

fn spawn_connection<F>(conn: F) -> JoinHandle<()>
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "broker database connection ended with an error");
        }
    })
}

impl managed::Manager for BrokerManager {
    type Type = PgConn;
    type Error = ConnectError;

    async fn create(&self) -> Result<PgConn, ConnectError> {
        let cred = self.credentials.current().await.map_err(ConnectError::Credential)?;
        match self.login(&cred).await {
            Ok(c) => Ok(c),
            Err(e) if is_auth_failure(&e) && self.credentials.can_refresh() => {
                tracing::warn!(
                    user = %cred.user,
                    "broker login refused; refreshing the credential and retrying once"
                );
                let cred = self.credentials.refresh().await.map_err(ConnectError::Credential)?;
                self.login(&cred).await.map_err(ConnectError::Postgres)
            }
            Err(e) => Err(ConnectError::Postgres(e)),
        }
    }

    async fn recycle(&self, conn: &mut PgConn, _: &Metrics) -> RecycleResult<ConnectError> {
        if conn.client.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        Ok(())
    }
}

/// How many of a pool's `size` connections work other than expiry and revoke may hold: all but
/// one, so one is always left for them (a pool of one keeps no reserve).
pub fn general_slots(size: usize) -> usize {
    if size >= 2 {
        size - 1
    } else {
        1
    }
}

/// The pool of broker connections.
pub type Pool = managed::Pool<BrokerManager>;
/// A connection borrowed from the [`Pool`].
pub type PooledConn = managed::Object<BrokerManager>;

/// Builds the pool; no connection is made until the first call.
pub fn build_pool(manager: BrokerManager, size: usize) -> anyhow::Result<Pool> {
    let wait = manager.limits.acquire;
    Ok(Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(wait),
            create: Some(wait.min(CONNECT_TIMEOUT + DEADLINE_MARGIN)),
            recycle: Some(Duration::from_secs(5)),
        })
        .build()?)
}

/// Closes pooled connections idle for longer than `idle`; returns how many it closed. The
/// server runs it every few seconds, so an idle replica holds no broker connection.
pub fn close_idle(pool: &Pool, idle: Duration) -> usize {
    pool.retain(|_, m| m.last_used() < idle).removed.len()
}

/// Whether a login failed on the role's (or the server's) connection limit.
fn is_too_many_connections(e: &PoolError<ConnectError>) -> bool {
    matches!(e, PoolError::Backend(ConnectError::Postgres(pg))
        if pg.code() == Some(&SqlState::TOO_MANY_CONNECTIONS))
}

fn map_pool_error(e: PoolError<ConnectError>) -> BrokerError {
    match e {
        PoolError::Backend(ConnectError::Postgres(pg)) => match classify(&pg, &[]) {
            BrokerError::Refused { message } => {
                BrokerError::Unavailable(anyhow::anyhow!("login refused: {message}"))
            }
            other => other,
        },
        PoolError::Backend(ConnectError::Credential(c)) => BrokerError::Unavailable(c),
        PoolError::Timeout(t) => {
            BrokerError::Unavailable(anyhow::anyhow!("timed out waiting for a connection ({t:?})"))
        }
        other => BrokerError::Unavailable(anyhow::anyhow!("connection pool: {other}")),
    }
}

/// Borrows a connection, mapping failures to [`BrokerError::Unavailable`] (or another class for
/// server errors other than login failures). A login refused with 53300 (too many connections)
/// is retried with back-off (50 ms doubling to 1 s) until the pool's acquire limit.
pub async fn get(pool: &Pool) -> Result<PooledConn, BrokerError> {
    let give_up = Instant::now() + pool.manager().limits.acquire;
    let mut backoff = Duration::from_millis(50);
    loop {
        match pool.get().await {
            Ok(conn) => return Ok(conn),
            Err(e) if is_too_many_connections(&e) && Instant::now() + backoff < give_up => {
                tracing::info!(
                    retry_in_ms = backoff.as_millis() as u64,
                    "broker login hit the connection limit (53300); retrying"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(map_pool_error(e)),
        }
    }
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
