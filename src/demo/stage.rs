//! Setting the stage for the demo: the loopback PostgreSQL target, the role model applied as the
//! superuser, logins for the migrator and the broker, the `orders` table created the way a
//! migration does, and the bot built exactly as `pgroles serve` builds it
//! ([`Application::build`]) but pointed at the built-in Slack stand-in.
//!
//! Owns setup and connections. It refuses any PostgreSQL that is not on loopback: the demo
//! creates roles and sets passwords. Passwords set here are sent as SCRAM verifiers, never as
//! plaintext, and are never printed. Must not play the incident (that is `incident`).

use super::{ALICE, AUDIT, BOB};
use crate::broker::TempPassword;
use crate::config::{AuroraMode, Config, DbAuth, SslMode};
use crate::model::apply::{self, ApplyReport};
use crate::model::script::{quote_ident, quote_literal};
use crate::model::{Names, RenderOptions};
use crate::server::{Application, Deps};
use anyhow::{bail, Context};
use secrecy::SecretString;
use slack_fake::{FakeSlack, SlackEventSender};
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, NoTls};

/// How long the demo's access lasts, and its reminder (short, so the drill takes seconds).
pub const GRANT_SECS: u64 = 8;
pub const REMINDER_SECS: u64 = 4;
pub const APPROVAL_WINDOW_SECS: u64 = 60;

/// The PostgreSQL the demo plays against.
#[derive(Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    superuser: tokio_postgres::Config,
}

impl Target {
    /// Parses the superuser URL; refuses anything but a loopback TCP host.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let superuser = tokio_postgres::Config::from_str(url)
            .context("--pg-url is not a valid PostgreSQL connection string")?;
        let host = match superuser.get_hosts() {
            [Host::Tcp(h)] => h.clone(),
            _ => bail!("--pg-url must name exactly one TCP host (127.0.0.1)"),
        };
        if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") {
            bail!(
                "the demo creates roles and sets passwords, so it only runs against a PostgreSQL \
                 on loopback (127.0.0.1), not {host}"
            );
        }
        let port = superuser.get_ports().first().copied().unwrap_or(5432);
        Ok(Target { host, port, superuser })
    }

    /// A superuser session in `db`.
    pub async fn superuser(&self, db: &str) -> anyhow::Result<Client> {
        let mut cfg = self.superuser.clone();
        cfg.dbname(db);
        connect(&cfg).await.with_context(|| format!("connecting as the superuser to {db}"))
    }

    /// A password login over TCP (SCRAM), as a firefighter or the migrator does it.
    pub async fn login(
        &self,
        db: &str,
        user: &str,
        password: &str,
    ) -> Result<Client, tokio_postgres::Error> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(&self.host)
            .port(self.port)
            .dbname(db)
            .user(user)
            .password(password)
            .application_name("pgroles-demo")
            .connect_timeout(Duration::from_secs(5));
        connect(&cfg).await
    }
}

async fn connect(cfg: &tokio_postgres::Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = cfg.connect(NoTls).await?;
    tokio::spawn(async move {
        // Ends when the client is dropped or the server closes the session.
        let _ = connection.await;
    });
    Ok(client)
}

/// The server's message for a failed statement or login, as psql shows it
/// (`ERROR:  permission denied ...`); `Display` only says "db error".
pub fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}:  {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

/// Applies the role model as the superuser (plain PostgreSQL).
pub async fn apply_model(target: &Target, names: &Names) -> anyhow::Result<ApplyReport> {
    let opts = RenderOptions { mode: AuroraMode::Vanilla, iam_roles: Vec::new() };
    apply::apply(&target.superuser, NoTls, names, &opts).await.context("applying the role model")
}

/// `pgroles apply --harden-cluster` on the demo's own cluster.
pub async fn harden_cluster(target: &Target, names: &Names) -> anyhow::Result<ApplyReport> {
    let opts = RenderOptions { mode: AuroraMode::Vanilla, iam_roles: Vec::new() };
    apply::harden_cluster(&target.superuser, NoTls, names, &opts)
        .await
        .context("closing the other databases")
}

/// Gives `role` a fresh random password, sent as a SCRAM verifier.
pub async fn set_password(su: &Client, role: &str) -> anyhow::Result<TempPassword> {
    let password = TempPassword::generate();
    let verifier = password.scram_verifier();
    let sql = format!(
        "ALTER ROLE {} PASSWORD {}",
        quote_ident(role),
        quote_literal(verifier.expose_for_database())
    );
    su.batch_execute(&sql).await.with_context(|| format!("setting a password for {role}"))?;
    Ok(password)
}

/// Creates `orders` as the migrator, `SET ROLE <owner>` (idempotent); returns its row count.
pub async fn migrate_orders(
    target: &Target,
    names: &Names,
    migrator_password: &TempPassword,
) -> anyhow::Result<i64> {
    let migrator = target
        .login(&names.database, &names.migrator(), migrator_password.expose_for_delivery())
        .await
        .map_err(|e| anyhow::anyhow!("logging in as {}: {}", names.migrator(), db_message(&e)))?;
    let schema = quote_ident(&names.schema);
    let sql = include_str!("orders.sql")
        .replace("{schema}", &schema)
        .replace("{owner}", &quote_ident(&names.owner()));
    migrator
        .batch_execute(&sql)
        .await
        .map_err(|e| anyhow::anyhow!("the orders migration failed: {}", db_message(&e)))?;
    // The migrator itself has no privileges on the schema: count as the owner, like the DDL.
    let count =
        format!("SET ROLE {}; SELECT count(*) FROM {schema}.orders", quote_ident(&names.owner()));
    let rows = migrator.simple_query(&count).await.context("counting orders")?;
    rows.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|n| n.parse().ok()),
            _ => None,
        })
        .context("counting orders: no row")
}

/// The running bot and the Slack stand-in it talks to.
pub struct Bot {
    pub fake: FakeSlack,
    pub sender: SlackEventSender,
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where the bot keeps its state and how it logs in.
pub struct BotSetup<'a> {
    pub target: &'a Target,
    pub names: &'a Names,
    pub broker_password: &'a TempPassword,
    pub redis_url: &'a str,
    pub redis_prefix: &'a str,
}

/// Starts the Slack stand-in (users Alice and Bob, channel #incident-audit) and the bot.
pub async fn start_bot(setup: BotSetup<'_>) -> anyhow::Result<Bot> {
    let fake = FakeSlack::start().await.context("starting the Slack stand-in")?;
    fake.add_users(&[ALICE, BOB]);
    fake.add_channel(AUDIT);
    let signing_secret = TempPassword::generate();
    let secret = || SecretString::from(signing_secret.expose_for_delivery().to_owned());

    let mut cfg = Config { model: setup.names.clone(), ..Config::default() };
    cfg.database.host = setup.target.host.clone();
    cfg.database.port = setup.target.port;
    cfg.database.auth = DbAuth::Password;
    cfg.database.password =
        Some(SecretString::from(setup.broker_password.expose_for_delivery().to_owned()));
    // Loopback only (checked in `Target::parse`); production uses verify-full.
    cfg.database.sslmode = SslMode::Disable;
    cfg.database.pool_size = 2;
    cfg.redis.url = setup.redis_url.to_owned();
    cfg.redis.key_prefix = setup.redis_prefix.to_owned();
    cfg.slack.bot_token = Some(SecretString::from(fake.bot_token()));
    cfg.slack.signing_secret = Some(secret());
    cfg.slack.api_url = fake.api_url();
    cfg.slack.audit_channel = AUDIT.into();
    cfg.slack.verify_users = vec![BOB.into()];
    cfg.access.approvers = vec![BOB.into()];
    cfg.access.default_duration_secs = GRANT_SECS;
    cfg.access.max_duration_secs = 3600;
    cfg.access.reminder_before_secs = REMINDER_SECS;
    cfg.access.approval_window_secs = APPROVAL_WINDOW_SECS;
    cfg.server.listen = "127.0.0.1:0".into();

    let deps = Deps::for_local_drill(&cfg.access);
    let app = Application::build(cfg, deps).await.context("building the bot")?;
    let port = app.port();
    let task = tokio::spawn(async move {
        if let Err(e) = app.run_until(std::future::pending()).await {
            tracing::error!(error = %format!("{e:#}"), "the demo bot stopped");
        }
    });
    let sender =
        SlackEventSender::new(&format!("http://127.0.0.1:{port}"), secret()).with_fake(&fake);
    Ok(Bot { fake, sender, port, task })
}
