//! Command-line interface: argument parsing and dispatch to the library. Each command is a thin
//! wrapper over a library function, so tests drive the same code the binary runs.

use crate::config::{AuroraMode, Config};
use crate::model::{self, Level, Names, RenderOptions};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "pgroles",
    version,
    about = "Least-privilege PostgreSQL role model and just-in-time firefighter access over Slack"
)]
pub struct Cli {
    /// Configuration file (TOML). `PGROLES_*` environment variables override it.
    #[arg(long, short, global = true, env = "PGROLES_CONFIG")]
    pub config: Option<PathBuf>,
    /// The `[targets.<name>]` to act on, when the configuration has several databases.
    #[arg(long, global = true, value_name = "NAME")]
    pub target: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the role model's SQL, rendered with the configured names.
    Sql(TargetArgs),
    /// Create or converge the role model on a live cluster as the bootstrap DBA.
    Apply(ApplyArgs),
    /// Report whether the live database still matches the model (exit 0 clean, 1 drift, 2 could
    /// not verify). Works with the broker's low-privilege login.
    Verify {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        args: crate::verify::cli::VerifyArgs,
        /// Every target of the fleet, one after the other (exit code: the worst).
        #[arg(long, conflicts_with = "target")]
        all: bool,
    },
    /// Run the Slack bot (HTTP endpoints, timer worker and reconciler).
    Serve,
    /// Run the timer worker and reconciler without Slack.
    Worker,
    /// Show active grants and pending timers.
    Status,
    /// Expire a firefighter password now and end its sessions.
    Revoke {
        /// `ro` or `rw`.
        #[arg(value_parser = parse_level)]
        level: Level,
        /// On every target of the fleet (the fleet's kill switch).
        #[arg(long, conflicts_with = "target")]
        all: bool,
    },
    /// Print the firefighter history from the database's audit table (as the broker): who asked,
    /// who approved, when it was issued, how it ended, sessions ended.
    History(HistoryArgs),
    /// The demo drill: model, bot and one incident against a local Slack stand-in, on a
    /// throwaway loopback PostgreSQL (see scripts/demo). Built with the `demo` feature only.
    #[cfg(feature = "demo")]
    Demo(crate::demo::DemoArgs),
    /// Exit 0 if the bot's health endpoint answers 200 (for container HEALTHCHECKs).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:3000/healthz")]
        url: String,
    },
}

/// Names of the database to manage (design section 12: another database later).
#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// Application database (default from config: my-pg-db).
    #[arg(long)]
    pub database: Option<String>,
    /// Owner role of that database (default: <prefix>owner).
    #[arg(long)]
    pub owner: Option<String>,
    /// Application schema (default from config: my-pg-db-schema).
    #[arg(long)]
    pub schema: Option<String>,
}

impl TargetArgs {
    fn names(&self, base: &Names) -> Names {
        let mut n = base.clone();
        if let Some(d) = &self.database {
            n.database = d.clone();
        }
        if let Some(o) = &self.owner {
            n.owner = Some(o.clone());
        }
        if let Some(s) = &self.schema {
            n.schema = s.clone();
        }
        n
    }
}

/// `pgroles history`: the window, the filters and the format.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Days back from now (1 to 366).
    #[arg(long, default_value_t = 7)]
    pub days: i64,
    /// Only this incident (exact).
    #[arg(long)]
    pub incident: Option<String>,
    /// Only this Slack user id (as requester, or as the owner of a per-person login).
    #[arg(long)]
    pub user: Option<String>,
    /// At most this many rows, newest first (1 to 1000).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// `text`, `json` or `csv` (CSV cells a spreadsheet would run as formulas are quoted).
    #[arg(long, default_value = "text", value_parser = parse_format)]
    pub format: crate::access::history::HistoryFormat,
}

fn parse_format(s: &str) -> Result<crate::access::history::HistoryFormat, String> {
    crate::access::history::HistoryFormat::parse(s)
        .ok_or_else(|| format!("expected text, json or csv, got {s:?}"))
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Bootstrap DBA connection (URL or key=value) to a maintenance database; overrides
    /// `apply.bootstrap_url`. Prefer PGROLES_APPLY_BOOTSTRAP_URL(_FILE): it keeps passwords out
    /// of `ps`. TLS: `sslmode=require` in the URL; the chain is checked against
    /// `database.ca_file` (e.g. the RDS bundle) or the webpki roots.
    #[arg(long)]
    pub bootstrap_url: Option<String>,
    /// Show the plan; execute nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also close every other database of the cluster (`postgres`, `template1`, ...) to the
    /// model's roles: revoke PUBLIC's CONNECT and TEMPORARY there, after granting them directly
    /// to the logins outside the model that have them today (sql/70_harden_cluster.sql).
    /// Roles created later get no CONNECT there until granted. Opt-in: it changes databases
    /// the model does not own.
    #[arg(long)]
    pub harden_cluster: bool,
    /// Every target of the fleet, one after the other (each with its own bootstrap URL).
    #[arg(long, conflicts_with = "target")]
    pub all: bool,
}

/// Loads the configuration (file, then `PGROLES_*` environment) and prints typo warnings.
pub fn load_config(path: &Option<PathBuf>) -> anyhow::Result<Config> {
    let loaded = Config::load_from_process_env(path.as_deref())?;
    for w in &loaded.warnings {
        eprintln!("pgroles: warning: {w}");
    }
    Ok(loaded.config)
}

/// The targets a command acts on: `--all`, the one `--target` names, or the only one. Each
/// comes with its view of the configuration ([`Config::for_target`]).
fn select(cfg: &Config, target: Option<&str>, all: bool) -> anyhow::Result<Vec<(String, Config)>> {
    let names = cfg.target_names();
    let chosen: Vec<String> = match target {
        _ if all => names,
        Some(t) if names.iter().any(|n| n == t) => vec![t.to_owned()],
        Some(t) => anyhow::bail!("no target {t:?}; the targets are: {}", names.join(", ")),
        None if names.len() == 1 => names,
        None => anyhow::bail!(
            "this configuration has {} targets ({}): pass --target NAME or --all",
            names.len(),
            names.join(", ")
        ),
    };
    chosen
        .into_iter()
        .map(|n| cfg.for_target(&n).map(|view| (n, view)).context("a listed target"))
        .collect()
}

/// Runs `each` on every selected target, with a heading per target in a fleet; the worst exit
/// code wins (a failure to run counts as 2).
async fn for_each_target<F, Fut>(selected: Vec<(String, Config)>, fleet: bool, each: F) -> ExitCode
where
    F: Fn(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<u8>>,
{
    let mut worst = 0u8;
    for (name, view) in selected {
        if fleet {
            eprintln!("== target {name} ==");
        }
        let code = match each(view).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("pgroles: target {name}: {e:#}");
                2
            }
        };
        worst = worst.max(code);
    }
    ExitCode::from(worst)
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s).ok_or_else(|| format!("expected ro or rw, got {s:?}"))
}

fn render_options(cfg: &Config) -> RenderOptions {
    RenderOptions { mode: cfg.apply.mode, iam_roles: cfg.apply.iam_roles.clone() }
}

/// Runs the CLI; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let cfg = load_config(&cli.config)?;
    let target = cli.target.as_deref();
    let fleet = cfg.is_fleet();
    match cli.command {
        Command::Sql(target) => {
            let names = target.names(&cfg.model);
            let rendered = model::render::render(&names, &render_options(&cfg))?;
            print!("{}", model::render::to_sql_text(&rendered, &names));
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply(args) => {
            let selected = select(&cfg, target, args.all)?;
            let args = &args;
            Ok(for_each_target(selected, fleet, |view| async move { apply(&view, args).await })
                .await)
        }
        Command::Verify { target: names, args, all } => {
            let selected = select(&cfg, target, all)?;
            let (names, args) = (&names, &args);
            let run = |view: Config| async move {
                let names = names.names(&view.model);
                Ok(crate::verify::cli::cli_main(&view, &names, args).await)
            };
            Ok(for_each_target(selected, fleet, run).await)
        }
        Command::Serve => {
            Box::pin(crate::server::serve(cfg)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker => {
            cfg.validate_targets(Config::validate_database)?;
            let selected = select(&cfg, target, target.is_none())?;
            let views = selected.into_iter().map(|(_, view)| view).collect();
            let stop = crate::server::shutdown_signal();
            Box::pin(crate::grants::cli::worker(views, stop)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status => {
            for (name, view) in select(&cfg, target, target.is_none())? {
                if fleet {
                    println!("== target {name} ==");
                }
                println!("{}", crate::grants::cli::status(&view).await);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke { level, all } => {
            let selected = select(&cfg, target, all)?;
            let run = |view: Config| async move {
                view.validate_database()?;
                println!("{}", crate::grants::cli::revoke(&view, level).await?);
                Ok(0)
            };
            Ok(for_each_target(selected, fleet, run).await)
        }
        Command::History(args) => {
            let (_, cfg) = select(&cfg, target, false)?.remove(0);
            cfg.validate_database()?;
            let query = crate::access::history::HistoryQuery::new(
                Some(args.days),
                args.incident,
                args.user,
                Some(args.limit),
            )
            .map_err(anyhow::Error::msg)?;
            print!("{}", crate::broker::history::cli(&cfg, &query, args.format).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { url } => healthcheck(&url).await,
        #[cfg(feature = "demo")]
        Command::Demo(args) => Box::pin(crate::demo::run(args)).await,
    }
}

/// `pgroles apply` on one target; returns the exit code (0 done, 3 refused by the server).
async fn apply(cfg: &Config, args: &ApplyArgs) -> anyhow::Result<u8> {
    let names = args.target.names(&cfg.model);
    let opts = render_options(cfg);
    if args.dry_run {
        for line in model::apply::plan(&names, &opts)? {
            println!("{line}");
        }
        if args.harden_cluster {
            for line in model::apply::plan_harden(&names, &opts)? {
                println!("{line}");
            }
        }
        return Ok(0);
    }
    let url = match (&args.bootstrap_url, &cfg.apply.bootstrap_url) {
        (Some(u), _) => u.clone(),
        (None, Some(u)) => u.expose_secret().to_string(),
        (None, None) => anyhow::bail!(
            "no bootstrap connection: set apply.bootstrap_url or PGROLES_APPLY_BOOTSTRAP_URL"
        ),
    };
    let pg: tokio_postgres::Config =
        url.parse().context("the bootstrap URL is not a valid connection string")?;
    let tls_cfg = crate::config::DatabaseConfig {
        sslmode: crate::config::SslMode::VerifyFull,
        ca_file: cfg.database.ca_file.clone(),
        ..Default::default()
    };
    let mut report = match crate::broker::tls::client_config(&tls_cfg)? {
        Some(tls) => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
            model::apply::apply(&pg, tls, &names, &opts).await?
        }
        None => model::apply::apply(&pg, tokio_postgres::NoTls, &names, &opts).await?,
    };
    if args.harden_cluster {
        let hardened = match crate::broker::tls::client_config(&tls_cfg)? {
            Some(tls) => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
                model::apply::harden_cluster(&pg, tls, &names, &opts).await?
            }
            None => model::apply::harden_cluster(&pg, tokio_postgres::NoTls, &names, &opts).await?,
        };
        for n in &hardened.notices {
            println!("harden-cluster: {n}");
        }
        report.changes.extend(hardened.changes);
        report.refused.extend(hardened.refused);
    }
    let vanilla = !report.aurora || cfg.apply.mode == AuroraMode::Vanilla;
    println!(
        "mode: {}",
        if vanilla { "vanilla PostgreSQL" } else { "aurora (rds_* roles present)" }
    );
    if report.is_noop() {
        println!("nothing to change: the model is in place");
    } else {
        println!("changed:");
        for c in &report.changes {
            println!("  {c}");
        }
    }
    if !report.refused.is_empty() {
        eprintln!("REFUSED by the server (the model is NOT fully in place):");
        for r in &report.refused {
            eprintln!("  {r}");
        }
        return Ok(3);
    }
    Ok(0)
}

/// A minimal HTTP/1.0 GET to our own health endpoint (the runtime image has no curl).
async fn healthcheck(url: &str) -> anyhow::Result<ExitCode> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").context("healthcheck URL must start with http://")?;
    let (authority, path) =
        rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let connect = tokio::net::TcpStream::connect(authority);
    let mut stream = tokio::time::timeout(std::time::Duration::from_secs(3), connect).await??;
    let req = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(3), stream.read_to_end(&mut buf)).await??;
    let head = String::from_utf8_lossy(&buf);
    let ok = head.lines().next().is_some_and(|l| l.split_whitespace().nth(1) == Some("200"));
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
