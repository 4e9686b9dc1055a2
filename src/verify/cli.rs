//! The `pgroles verify` command: connect, run, print, map to an exit code.
//!
//! Owns the command's arguments ([`VerifyArgs`], flattened into the CLI by `src/cli.rs`), the
//! choice of connection (`--url`, or the bot's own broker login from `[database]`) and the
//! output format. The clock is read here, at the edge, and passed to [`super::run`].

use super::report::{error_json, EXIT_ERROR};
use super::{blocks, run, VerifyError};
use crate::broker::connect::{build_pool, get, BrokerManager};
use crate::broker::CredentialSource;
use crate::config::{Config, SslMode};
use crate::model::Names;
use chrono::Utc;
use std::process::ExitCode;
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
}

/// Runs verify and prints the report; returns 0 clean, 1 drift, 2 could not verify.
pub async fn cli_main(cfg: &Config, names: &Names, args: &VerifyArgs) -> ExitCode {
    let now = Utc::now();
    let result = match connect(cfg, names, args.url.as_deref()).await {
        Ok(conn) => run(conn.client(), names, now).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => {
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
            ExitCode::from(report.exit_code())
        }
        Err(e) => {
            eprintln!("pgroles verify: could not verify: {e}");
            if args.format == Format::Json {
                println!("{}", pretty(&error_json(&e.to_string(), now)));
            }
            ExitCode::from(EXIT_ERROR)
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

async fn connect(cfg: &Config, names: &Names, url: Option<&str>) -> Result<Conn, VerifyError> {
    let fail = |e: &dyn std::fmt::Display| VerifyError::Connect(e.to_string());
    let Some(url) = url else {
        let creds = CredentialSource::from_config(&cfg.database, &cfg.aws, &names.broker())
            .await
            .map_err(|e| fail(&format!("{e:#}")))?;
        let manager = BrokerManager::new(&cfg.database, names, Arc::new(creds))
            .map_err(|e| fail(&format!("{e:#}")))?;
        let pool = build_pool(manager, 1).map_err(|e| fail(&format!("{e:#}")))?;
        let conn = get(&pool).await.map_err(|e| fail(&e))?;
        return Ok(Conn::Pooled(conn));
    };
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
