//! The PostgreSQL test clusters (15, 16, 17, 18) started by `scripts/test-services`.
//!
//! Owns: parsing `PGROLES_TEST_PG`, superuser and password (SCRAM over TCP) connections, unique
//! per-test name prefixes, the Aurora emulation fixture and best-effort cleanup of a test's
//! roles and databases. Must not start or configure clusters, and must not touch roles or
//! databases outside the given prefix (the shared `rds_*` fixture roles excepted).
//!
//! Aurora emulation: cluster-wide NOLOGIN roles `rds_superuser`, `rds_password`, `rds_iam`, with
//! `GRANT rds_password, rds_iam TO rds_superuser WITH ADMIN OPTION` (real Aurora lets
//! rds_superuser grant them). [`aurora_fixture`] makes a per-test master `<prefix>_master`
//! (LOGIN NOSUPERUSER CREATEROLE CREATEDB, member of rds_superuser). [`aurora_fixture_noadmin`]
//! makes the same master but as a member of `rds_superuser_noadmin`, a NOLOGIN role holding no
//! ADMIN OPTION on `rds_password`/`rds_iam`: on 16+ its `GRANT rds_password TO ...` is refused
//! (`Only roles with the ADMIN option on role "rds_password" may grant this role`); on 15 plain
//! CREATEROLE still lets it grant any non-superuser role, so that refusal exists on 16+ only.
//! `rds_superuser` also holds SET on the broker's superuser-only logging parameters and ADMIN
//! OPTION on `pg_read_all_stats` (assumed of Aurora; `rds_superuser_noadmin` holds neither).

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

/// One test cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgServer {
    /// Major version (15, 16, 17, 18).
    pub version: u32,
    pub host: String,
    pub port: u16,
    /// Superuser URL, e.g. `postgres://postgres@127.0.0.1:5415/postgres` (trusted, no password).
    pub url: String,
}

impl PgServer {
    /// The superuser URL for another database on this cluster.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://postgres@{}:{}/{}", self.host, self.port, db)
    }

    /// A password URL for `user` on this cluster (user and password must be URL-safe).
    pub fn login_url(&self, db: &str, user: &str, password: &str) -> String {
        format!("postgres://{user}:{password}@{}:{}/{db}", self.host, self.port)
    }
}

/// Every cluster named in `PGROLES_TEST_PG`, in the order given.
pub fn versions() -> Vec<PgServer> {
    let raw = std::env::var("PGROLES_TEST_PG").unwrap_or_default();
    if raw.trim().is_empty() {
        panic!(
            "PGROLES_TEST_PG is not set: run scripts/test-services first \
             (eval \"$(scripts/test-services | tail -1)\") or use scripts/test"
        );
    }
    raw.split(',').filter(|s| !s.trim().is_empty()).map(|entry| parse_entry(entry.trim())).collect()
}

/// The cluster of one major version, if `PGROLES_TEST_PG` names it.
pub fn version(major: u32) -> Option<PgServer> {
    versions().into_iter().find(|s| s.version == major)
}

fn parse_entry(entry: &str) -> PgServer {
    let (version, url) = entry
        .split_once('=')
        .unwrap_or_else(|| panic!("PGROLES_TEST_PG entry {entry:?} is not VERSION=URL"));
    let version: u32 =
        version.parse().unwrap_or_else(|_| panic!("PGROLES_TEST_PG entry {entry:?}: bad version"));
    let config = Config::from_str(url)
        .unwrap_or_else(|e| panic!("PGROLES_TEST_PG entry {entry:?}: bad URL: {e}"));
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => panic!("PGROLES_TEST_PG entry {entry:?}: needs a TCP host"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    PgServer { version, host, port, url: url.to_string() }
}

fn spawn_connection<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        // The connection ends when the client is dropped or the server goes away.
        let _ = connection.await;
    });
}

impl PgServer {
    /// How a test's broker reaches this cluster: loopback, no TLS, a small pool (no credential).
    pub fn database_config(&self) -> pgroles::config::DatabaseConfig {
        pgroles::config::DatabaseConfig {
            host: self.host.clone(),
            port: self.port,
            sslmode: pgroles::config::SslMode::Disable,
            pool_size: 2,
            ..pgroles::config::DatabaseConfig::default()
        }
    }

    /// [`Self::database_config`] with a static password.
    pub fn static_database_config(&self, password: &str) -> pgroles::config::DatabaseConfig {
        pgroles::config::DatabaseConfig {
            auth: pgroles::config::DbAuth::Password,
            password: Some(secrecy::SecretString::from(password.to_owned())),
            ..self.database_config()
        }
    }
}

/// A superuser connection to `db` (trusted over TCP, no TLS). Panics if the cluster is down.
pub async fn superuser(pg: &PgServer, db: &str) -> Client {
    let mut config = Config::from_str(&pg.url).expect("PGROLES_TEST_PG URL parses");
    config.dbname(db);
    let (client, connection) = config.connect(NoTls).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL {} at {}:{} (db {db}) refused the superuser: {}; \
             run scripts/test-services",
            pg.version,
            pg.host,
            pg.port,
            db_message(&e)
        )
    });
    spawn_connection(connection);
    client
}

/// A password login as `user` over TCP (SCRAM, no TLS): what a firefighter or the bot does.
pub async fn login(
    pg: &PgServer,
    db: &str,
    user: &str,
    password: &str,
) -> Result<Client, tokio_postgres::Error> {
    let mut config = Config::new();
    config
        .host(&pg.host)
        .port(pg.port)
        .dbname(db)
        .user(user)
        .password(password)
        .connect_timeout(std::time::Duration::from_secs(10));
    let (client, connection) = config.connect(NoTls).await?;
    spawn_connection(connection);
    Ok(client)
}

static PREFIX_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A role/database name prefix unique to this call: `t_<tag>_<pid><counter><random>`, lowercase,
/// at most 30 bytes so that `<prefix>_password_broker` and `<prefix>-db-schema` stay <= 63.
pub fn unique_prefix(tag: &str) -> String {
    let tag: String = tag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(10)
        .collect();
    let tag = if tag.is_empty() { "x".to_string() } else { tag };
    let counter = PREFIX_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "t_{tag}_{}{}{}",
        base36(u64::from(std::process::id())),
        base36(u64::from(counter)),
        super::random_alnum(3)
    )
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

/// A readable message for a PostgreSQL error (`Display` only says "db error").
pub fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => format!("{e:?}"),
    }
}

/// Quotes an identifier for SQL (`"a""b"`).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The Aurora-like master login of one test.
#[derive(Clone)]
pub struct AuroraMaster {
    /// `<prefix>_master`.
    pub name: String,
    /// Random, `[a-z0-9]{32}` (URL-safe).
    pub password: String,
    /// `postgres://<name>:<password>@127.0.0.1:<port>/postgres`.
    pub url: String,
}

impl std::fmt::Debug for AuroraMaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuroraMaster")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Creates (once per cluster, safe under concurrency) the shared `rds_*` roles.
async fn ensure_rds_roles(pg: &PgServer) {
    let mut client = superuser(pg, "postgres").await;
    let tx = client.transaction().await.expect("begin");
    // Roles are cluster-wide; every fixture connects to `postgres`, so this lock serialises them.
    tx.batch_execute(
        r#"
        SELECT pg_advisory_xact_lock(hashtext('pgroles-test-aurora-fixture'));
        DO $$
        DECLARE r text;
        BEGIN
          FOREACH r IN ARRAY ARRAY['rds_superuser','rds_password','rds_iam','rds_superuser_noadmin']
          LOOP
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
              EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            END IF;
          END LOOP;
          FOREACH r IN ARRAY ARRAY['rds_password','rds_iam']
          LOOP
            IF NOT EXISTS (
              SELECT FROM pg_auth_members m
              JOIN pg_roles g ON g.oid = m.roleid
              JOIN pg_roles u ON u.oid = m.member
              WHERE g.rolname = r AND u.rolname = 'rds_superuser' AND m.admin_option
            ) THEN
              EXECUTE format('GRANT %I TO rds_superuser WITH ADMIN OPTION', r);
            END IF;
          END LOOP;
          -- Assumed: Aurora lets rds_superuser set the broker's logging parameters on a role
          -- (sql/60_guardrails.sql; docs/runbook.md says what to do where it does not).
          -- Assumed of Aurora (issue 15): the master may grant pg_read_all_stats (its 16+
          -- form: ADMIN OPTION); rds_superuser_noadmin may not.
          IF NOT EXISTS (
            SELECT FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
            JOIN pg_roles u ON u.oid = m.member
            WHERE g.rolname = 'pg_read_all_stats' AND u.rolname = 'rds_superuser' AND m.admin_option
          ) THEN
            GRANT pg_read_all_stats TO rds_superuser WITH ADMIN OPTION;
          END IF;
          GRANT SET ON PARAMETER log_statement, log_min_duration_statement,
            log_min_duration_sample, log_transaction_sample_rate, log_parameter_max_length,
            log_error_verbosity TO rds_superuser;
        END $$;
        "#,
    )
    .await
    .unwrap_or_else(|e| {
        panic!("rds_* fixture roles on PostgreSQL {}: {}", pg.version, db_message(&e))
    });
    tx.commit().await.expect("commit rds_* fixture roles");
}

async fn make_master(pg: &PgServer, prefix: &str, member_of: &str) -> AuroraMaster {
    ensure_rds_roles(pg).await;
    let name = format!("{prefix}_master");
    let password = super::random_alnum(32);
    let client = superuser(pg, "postgres").await;
    client
        .batch_execute(&format!(
            "CREATE ROLE {n} LOGIN NOSUPERUSER CREATEROLE CREATEDB PASSWORD '{password}'; \
             GRANT {member_of} TO {n};",
            n = ident(&name)
        ))
        .await
        .unwrap_or_else(|e| {
            panic!("create {name} on PostgreSQL {}: {}", pg.version, db_message(&e))
        });
    let url = pg.login_url("postgres", &name, &password);
    AuroraMaster { name, password, url }
}

/// An Aurora-like master `<prefix>_master`, member of `rds_superuser` (which may grant
/// `rds_password` and `rds_iam`). Dropped by [`drop_model`] with the rest of the prefix.
pub async fn aurora_fixture(pg: &PgServer, prefix: &str) -> AuroraMaster {
    make_master(pg, prefix, "rds_superuser").await
}

/// Like [`aurora_fixture`], but the master's `rds_superuser_noadmin` holds no ADMIN OPTION on
/// the `rds_*` roles: its `GRANT rds_password ...` is refused on 16+ (see the module docs).
pub async fn aurora_fixture_noadmin(pg: &PgServer, prefix: &str) -> AuroraMaster {
    make_master(pg, prefix, "rds_superuser_noadmin").await
}

/// Best-effort cleanup of one test: ends the sessions of, and drops, every database and role
/// whose name starts with `prefix` (or its dashed form, as `Names::with_prefix` names
/// databases). Errors are printed, never raised.
pub async fn drop_model(pg: &PgServer, prefix: &str) {
    let dashed = prefix.replace('_', "-");
    let client = superuser(pg, "postgres").await;
    let report = |what: &str, e: tokio_postgres::Error| {
        eprintln!("drop_model({prefix}) on PostgreSQL {}: {what}: {}", pg.version, db_message(&e))
    };
    if let Err(e) = client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND (starts_with(usename, $1) \
             OR starts_with(datname, $1) OR starts_with(datname, $2))",
            &[&prefix, &dashed],
        )
        .await
    {
        report("terminate sessions", e);
    }
    let dbs = client
        .query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1) \
             OR starts_with(datname, $2)",
            &[&prefix, &dashed],
        )
        .await
        .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
        .unwrap_or_else(|e| {
            report("list databases", e);
            Vec::<String>::new()
        });
    for db in dbs {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(&db));
        if let Err(e) = client.batch_execute(&sql).await {
            report(&sql, e);
        }
    }
    let roles: Vec<String> = client
        .query("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", &[&prefix])
        .await
        .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
        .unwrap_or_else(|e| {
            report("list roles", e);
            Vec::new()
        });
    if roles.is_empty() {
        return;
    }
    let list = roles.iter().map(|r| ident(r)).collect::<Vec<_>>().join(", ");
    if let Err(e) = client.batch_execute(&format!("DROP OWNED BY {list} CASCADE")).await {
        report("drop owned", e);
    }
    if let Err(e) = client.batch_execute(&format!("DROP ROLE IF EXISTS {list}")).await {
        report("drop roles", e);
    }
}
