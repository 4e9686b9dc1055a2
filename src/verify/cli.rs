//! The `pgroles verify` command: connect, run, print, map to an exit code.
//!
//! Owns the command's arguments ([`VerifyArgs`], flattened into the CLI by `src/cli.rs`), the
//! choice of connection (`--url`, or the bot's own broker login from `[database]`) and the
//! output format. The clock is read here, at the edge, and passed to [`super::run`].

use super::report::{error_json, EXIT_ERROR};
use super::{blocks, run_with_helpers, VerifyError};
use crate::broker::connect::{build_pool, get, BrokerManager};
use crate::broker::CredentialSource;
use crate::config::{Config, SslMode};
use crate::model::Names;
use chrono::Utc;
use std::sync::Arc;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, grouped by severity.
    #[default]
    Text,
    /// The stable JSON document (docs/verify-json.md).
    Json,
    /// Slack Block Kit (`{"blocks": [...]}`), summarised to Slack's limits.
    Slack,
}

/// Arguments of `pgroles verify`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VerifyArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Connection URL of any low-privilege login to the application database (the broker's
    /// works). Default: the bot's own connection from `[database]`. Prefer the environment
    /// variable: it keeps passwords out of `ps`.
    #[arg(long, env = "PGROLES_VERIFY_URL", hide_env_values = true)]
    pub url: Option<String>,
    /// Connections to read with (1-8). With more than one, a big catalog (pg_class of 4 MB or
    /// more) is scanned in parallel by that many server processes sharing one snapshot. Each
    /// counts against the login's connection limit (the broker's is 3).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub jobs: u8,
}

/// With the bot's own connection: the sessions of `database.instances` too (a configuration
/// error there is reported as each instance unreachable would be: named, not fatal).
async fn add_instances(cfg: &Config, names: &Names, report: &mut super::report::Report) {
    let addrs = match cfg.instance_addrs() {
        Ok(a) if a.is_empty() => return,
        Ok(a) => a,
        Err(e) => {
            eprintln!("pgroles verify: database.instances: {e}");
            return;
        }
    };
    match crate::broker::Instances::from_config(&cfg.database, &cfg.aws, names, &addrs).await {
        Ok(instances) => super::instances::add_instance_sessions(report, &instances).await,
        Err(e) => eprintln!("pgroles verify: the other instances: {e:#}"),
    }
}

/// Runs verify and prints the report; returns 0 clean, 1 drift, 2 could not verify.
pub async fn cli_main(cfg: &Config, names: &Names, args: &VerifyArgs) -> u8 {
    let now = Utc::now();
    let result = match connect_all(cfg, names, args.url.as_deref(), args.jobs).await {
        Ok(conns) => {
            let helpers: Vec<_> = conns[1..].iter().map(Conn::client).collect();
            let min_pages = super::snapshot::SPLIT_MIN_PAGES;
            run_with_helpers(conns[0].client(), &helpers, min_pages, names, now).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(mut report) => {
            if args.url.is_none() {
                add_instances(cfg, names, &mut report).await;
            }
            match args.format {
                Format::Text => print!("{}", report.to_text()),
                Format::Json => println!("{}", pretty(&report.to_json())),
                Format::Slack => println!(
                    "{}",
                    pretty(&serde_json::json!({
                        "blocks": blocks::blocks(&report, blocks::DEFAULT_TOP)
                    }))
                ),
            }
            report.exit_code()
        }
        Err(e) => {
            eprintln!("pgroles verify: could not verify: {e}");
            if args.format == Format::Json {
                println!("{}", pretty(&error_json(&e.to_string(), now)));
            }
            EXIT_ERROR
        }
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// A connection held for the duration of one verify.
enum Conn {
    Direct(tokio_postgres::Client, tokio::task::JoinHandle<()>),
    Pooled(crate::broker::connect::PooledConn),
}

impl Conn {
    fn client(&self) -> &tokio_postgres::Client {
        match self {
            Conn::Direct(c, _) => c,
            Conn::Pooled(p) => p,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Conn::Direct(_, task) = self {
            task.abort();
        }
    }
}

/// `jobs` connections, opened concurrently. The first must succeed; a helper that cannot
/// connect (say, the connection limit) is left out with a note on stderr.
async fn connect_all(
    cfg: &Config,
    names: &Names,
    url: Option<&str>,
    jobs: u8,
) -> Result<Vec<Conn>, VerifyError> {
    let fail = |e: &dyn std::fmt::Display| VerifyError::Connect(e.to_string());
    let attempts: Vec<Result<Conn, VerifyError>> = match url {
        Some(url) => futures::future::join_all((0..jobs).map(|_| connect_url(cfg, url))).await,
        None => {
            let creds = CredentialSource::from_config(&cfg.database, &cfg.aws, &names.broker())
                .await
                .map_err(|e| fail(&format!("{e:#}")))?;
            let manager = BrokerManager::new(&cfg.database, names, Arc::new(creds))
                .map_err(|e| fail(&format!("{e:#}")))?;
            let pool = build_pool(manager, jobs.into()).map_err(|e| fail(&format!("{e:#}")))?;
            let got = futures::future::join_all((0..jobs).map(|_| get(&pool))).await;
            got.into_iter().map(|r| r.map(Conn::Pooled).map_err(|e| fail(&e))).collect()
        }
    };
    let mut attempts = attempts.into_iter();
    let first = attempts.next().unwrap_or_else(|| Err(fail(&"no connection")))?;
    let mut conns = vec![first];
    for attempt in attempts {
        match attempt {
            Ok(conn) => conns.push(conn),
            Err(e) => eprintln!("pgroles verify: one fewer job: {e}"),
        }
    }
    Ok(conns)
}

async fn connect_url(cfg: &Config, url: &str) -> Result<Conn, VerifyError> {
    let fail = |e: &dyn std::fmt::Display| VerifyError::Connect(e.to_string());
    let pg: tokio_postgres::Config =
        url.parse().map_err(|_| fail(&"--url is not a valid PostgreSQL connection string"))?;
    if pg.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        let (client, conn) =
            pg.connect(tokio_postgres::NoTls).await.map_err(|e| fail(&describe(&e)))?;
        return Ok(Conn::Direct(client, spawn(conn)));
    }
    // TLS as configured for the bot (verify-full against `ca_file` or the web PKI by default).
    let mut db = cfg.database.clone();
    if db.sslmode == SslMode::Disable {
        db.sslmode = SslMode::Require;
    }
    let tls = crate::broker::tls::client_config(&db)
        .map_err(|e| fail(&format!("{e:#}")))?
        .ok_or_else(|| fail(&"no TLS configuration"))?;
    let (client, conn) = pg
        .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        .await
        .map_err(|e| fail(&describe(&e)))?;
    Ok(Conn::Direct(client, spawn(conn)))
}

/// The server's message when there is one (`password authentication failed for user ...`).
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

fn spawn<F>(conn: F) -> tokio::task::JoinHandle<()>
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        // Ends when the client is dropped or the server goes away.
        let _ = conn.await;
    })
}
