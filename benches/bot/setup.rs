//! The benchmark's world: one role model applied on the PostgreSQL 15 test cluster, one fake
//! Slack, and bots built exactly as `pgroles serve` builds them (`Application::build`, port 0),
//! each under its own Redis key prefix.
//!
//! Owns configuration and cleanup. It must not measure anything, and must not touch roles,
//! databases or Redis keys outside its own prefixes.

use crate::support::{self, model::Model, pg};
use pgroles::config::{Config, DbAuth, SslMode};
use pgroles::server::{Application, Deps};
use pgroles::workflow::Workflow;
use secrecy::SecretString;
use slack_fake::{FakeSlack, SlackEventSender};

pub const AUDIT: &str = "C0AUDIT001";
pub const REQUESTER: &str = "U0REQ00001";
pub const APPROVER: &str = "U0APP00001";
pub const APPROVER2: &str = "U0APP00002";
pub const APPROVE: &str = "white_check_mark";

/// What every bot of the run shares.
pub struct Fixture {
    pub model: Model,
    pub fake: FakeSlack,
    broker_password: String,
    prefixes: std::sync::Mutex<Vec<String>>,
}

/// One running bot.
pub struct Bot {
    pub port: u16,
    pub sender: SlackEventSender,
    pub signing_secret: String,
    pub workflow: Workflow,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fixture {
    /// Applies a fresh model on PostgreSQL 15 (as the test suite does: model, `orders`, a broker
    /// password) and starts the fake Slack.
    pub async fn start() -> anyhow::Result<Fixture> {
        let server = pg::version(15).ok_or_else(|| anyhow::anyhow!("no 15= in PGROLES_TEST_PG"))?;
        let model = Model::new(&server, "benchbot");
        model.apply().await;
        model.migrate_orders().await;
        let broker_password = support::random_alnum(40);
        pg::superuser(&server, "postgres")
            .await
            .batch_execute(&format!(
                "ALTER ROLE {} PASSWORD '{broker_password}'",
                pg::ident(&model.names.broker())
            ))
            .await?;
        let fake = FakeSlack::start().await?;
        fake.add_users(&[REQUESTER, APPROVER, APPROVER2]);
        fake.add_channel(AUDIT);
        Ok(Fixture { model, fake, broker_password, prefixes: Default::default() })
    }

    /// A production-shaped configuration for a bot under a fresh Redis prefix, listening on
    /// `listen`.
    pub fn config(&self, signing_secret: &str, listen: &str) -> Config {
        let prefix = support::redis::prefix("benchbot");
        if let Ok(mut p) = self.prefixes.lock() {
            p.push(prefix.clone());
        }
        let server = &self.model.pg;
        let mut cfg = Config { model: self.model.names.clone(), ..Config::default() };
        cfg.database.host = server.host.clone();
        cfg.database.port = server.port;
        cfg.database.auth = DbAuth::Password;
        cfg.database.password = Some(SecretString::from(self.broker_password.clone()));
        cfg.database.sslmode = SslMode::Disable;
        cfg.redis.url = support::redis::url();
        cfg.redis.key_prefix = prefix;
        cfg.slack.bot_token = Some(SecretString::from(self.fake.bot_token()));
        cfg.slack.signing_secret = Some(SecretString::from(signing_secret.to_owned()));
        cfg.slack.api_url = self.fake.api_url();
        cfg.slack.audit_channel = AUDIT.into();
        cfg.access.approvers = vec![APPROVER.into(), APPROVER2.into()];
        cfg.access.default_duration_secs = 600;
        cfg.access.max_duration_secs = 3600;
        cfg.server.listen = listen.into();
        cfg
    }

    /// The same configuration as a TOML file's text, for `pgroles serve --config` (the fake's
    /// token and a throwaway signing secret: nothing real).
    pub fn serve_toml(&self, signing_secret: &str, listen: &str) -> anyhow::Result<String> {
        let cfg = self.config(signing_secret, listen);
        let names = &cfg.model;
        let mut model = serde_json::json!({
            "role_prefix": names.role_prefix,
            "database": names.database,
            "schema": names.schema,
            "admin_schema": names.admin_schema,
        });
        if let Some(owner) = &names.owner {
            model["owner"] = owner.clone().into();
        }
        let doc = serde_json::json!({
            "model": model,
            "database": {
                "host": cfg.database.host,
                "port": cfg.database.port,
                "auth": "password",
                "password": self.broker_password,
                "sslmode": "disable",
            },
            "redis": { "url": cfg.redis.url, "key_prefix": cfg.redis.key_prefix },
            "slack": {
                "bot_token": self.fake.bot_token(),
                "signing_secret": signing_secret,
                "api_url": cfg.slack.api_url,
                "audit_channel": cfg.slack.audit_channel,
            },
            "access": {
                "approvers": cfg.access.approvers,
                "default_duration_secs": cfg.access.default_duration_secs,
                "max_duration_secs": cfg.access.max_duration_secs,
            },
            "server": { "listen": listen },
        });
        Ok(toml::to_string(&doc)?)
    }

    /// Builds and runs a bot in this process, with production defaults (`Deps::default()`),
    /// the timer worker on or off.
    pub async fn bot(&self, run_worker: bool) -> anyhow::Result<Bot> {
        let signing_secret = support::random_alnum(32);
        let cfg = self.config(&signing_secret, "127.0.0.1:0");
        let app = Application::build(cfg, Deps { run_worker, ..Deps::default() }).await?;
        let port = app.port();
        let workflow = app.workflow().clone();
        let task = tokio::spawn(async move {
            if let Err(e) = app.run_until(std::future::pending()).await {
                eprintln!("bench bot stopped: {e:#}");
            }
        });
        let sender = SlackEventSender::new(
            &format!("http://127.0.0.1:{port}"),
            SecretString::from(signing_secret.clone()),
        )
        .with_fake(&self.fake);
        Ok(Bot { port, sender, signing_secret, workflow, task })
    }

    /// Deletes every Redis key under the run's prefixes and drops the model.
    pub async fn cleanup(self) {
        let prefixes = self.prefixes.lock().map(|p| p.clone()).unwrap_or_default();
        if let Ok(mut c) =
            redis::Client::open(support::redis::url()).and_then(|c| c.get_connection())
        {
            for prefix in prefixes {
                let keys: Vec<String> =
                    redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut c).unwrap_or_default();
                if !keys.is_empty() {
                    let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query(&mut c);
                }
            }
        }
        self.model.drop().await;
    }
}
