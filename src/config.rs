//! Configuration: one TOML file, then `PGROLES_*` environment overrides; any secret may also
//! come from a file named by `<VAR>_FILE`. Unknown keys are rejected with their name.
//!
//! This module owns the shape of the configuration and its validation. It performs no network
//! I/O; secrets are held as `SecretString` so they never reach Debug output or logs.
//!
//! - [`keys`]: the registry of every key, its type and its `PGROLES_*` variable (single source
//!   for env overrides, unknown-key checks, the docs and the example file tests).
//! - [`load`]: layering (defaults, TOML file, env, `*_FILE`), the [`Env`] source.
//! - [`validate`]: per-command checks (`validate_for_serve`, `validate_for_apply`).
//! - [`error`]: [`ConfigError`], one line per problem, naming the key and its variable.
//!
//! The `[access]` section's shape ([`AccessConfig`], [`StatusVisibility`]) belongs to the domain
//! (`access::settings`, which imports nothing of the crate) and is re-exported here.

pub mod error;
pub mod keys;
pub mod load;
pub mod targets;
pub mod validate;

pub use crate::access::settings::{AccessConfig, Identity, StatusVisibility};
pub use crate::model::AuroraMode;
pub use error::ConfigError;
pub use load::{Env, Loaded, ProcessEnv};
pub use targets::{TargetConfig, DEFAULT_TARGET};

use crate::model::Names;
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Names of the role model (roles, database, schema).
    pub model: Names,
    /// Options of `pgroles apply`.
    pub apply: ApplyConfig,
    /// How the bot and verify connect to PostgreSQL (as the password broker).
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub slack: SlackConfig,
    pub access: AccessConfig,
    pub aws: AwsConfig,
    pub server: ServerConfig,
    /// PagerDuty's REST API, asked whether a requester is on call (on-call auto-approval).
    pub pagerduty: PagerDutyConfig,
    /// The fleet: one table per database the bot serves (see [`targets`]); empty: `[database]`
    /// is the one default target.
    pub targets: std::collections::BTreeMap<String, TargetConfig>,
}

/// `pgroles apply`: the bootstrap DBA connection and Aurora options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApplyConfig {
    /// Bootstrap DBA connection (the Aurora master) to the maintenance database, as a
    /// libpq-style URL or key=value string. May carry a password: treat as a secret.
    pub bootstrap_url: Option<SecretString>,
    /// Aurora mode: `auto` (detect the `rds_*` roles), `aurora` or `vanilla`.
    pub mode: AuroraMode,
    /// Roles that get `rds_iam` in Aurora mode: any of `broker`, `app`, `migrator`.
    pub iam_roles: Vec<String>,
}

impl Default for ApplyConfig {
    fn default() -> Self {
        ApplyConfig { bootstrap_url: None, mode: AuroraMode::Auto, iam_roles: Vec::new() }
    }
}

/// The broker's connection to the application database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub host: String,
    pub port: u16,
    /// Defaults to the model's database.
    pub dbname: Option<String>,
    /// Defaults to the model's broker role.
    pub user: Option<String>,
    /// Where the broker's credential comes from.
    pub auth: DbAuth,
    /// Static password for `auth = "password"` (local use and tests).
    pub password: Option<SecretString>,
    /// Secrets Manager secret id for `auth = "secrets-manager"` (RDS JSON format).
    pub secret_id: Option<String>,
    /// `disable`, `require` or `verify-full`.
    pub sslmode: SslMode,
    /// CA bundle (PEM) for verify-full, e.g. the RDS global bundle.
    pub ca_file: Option<PathBuf>,
    /// Pool size (connections per replica).
    pub pool_size: usize,
    /// Server-side `statement_timeout` of every broker statement; the client gives up one second
    /// later and closes the connection.
    pub statement_timeout_ms: u64,
    /// Pooled connections idle this long are closed.
    pub idle_timeout_secs: u64,
    /// Bot processes that may run at once against this database (replicas plus a rolling
    /// update's surge pod): the connection budget is `max_replicas * pool_size` plus one slot
    /// for `pgroles revoke`.
    pub max_replicas: u32,
    /// Host name firefighters should use in their psql string (defaults to `host`).
    pub public_host: Option<String>,
    /// Every other instance of the cluster (Aurora readers), `host:port`, whose firefighter
    /// sessions must end too: each is its own server, a terminate on the writer cannot see them.
    pub instances: Vec<String>,
    /// An Aurora cluster id: its readers (from the RDS API, `DescribeDBClusters` and
    /// `DescribeDBInstances`) are added to `instances` at start.
    pub discover_cluster: Option<String>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            host: "127.0.0.1".into(),
            port: 5432,
            dbname: None,
            user: None,
            auth: DbAuth::Password,
            password: None,
            secret_id: None,
            sslmode: SslMode::VerifyFull,
            ca_file: None,
            pool_size: 4,
            statement_timeout_ms: 5000,
            idle_timeout_secs: 60,
            max_replicas: 3,
            public_host: None,
            instances: Vec::new(),
            discover_cluster: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DbAuth {
    Password,
    SecretsManager,
    Iam,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Require,
    VerifyFull,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://host:port/db`, or `rediss://` for TLS (ElastiCache in-transit encryption).
    /// Keep the password out of it: use `password`.
    pub url: String,
    /// Prefix of every key the bot writes (so replicas of one bot share it, tests isolate).
    pub key_prefix: String,
    /// AUTH password / ElastiCache auth token; overrides any password inside `url`.
    pub password: Option<SecretString>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379".into(),
            key_prefix: "pgroles:".into(),
            password: None,
        }
    }
}

impl std::fmt::Debug for RedisConfig {
    /// Shows the URL with any embedded password replaced, so a misplaced secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redact_url_password(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("password", &self.password)
            .finish()
    }
}

impl RedisConfig {
    /// Connection info for the `redis` crate: `url` plus `password` (which wins when both are set).
    pub fn connection_info(&self) -> anyhow::Result<redis::ConnectionInfo> {
        use anyhow::Context as _;
        use redis::IntoConnectionInfo as _;
        use secrecy::ExposeSecret as _;
        let info = self
            .url
            .as_str()
            .into_connection_info()
            .with_context(|| format!("invalid redis.url {}", redact_url_password(&self.url)))?;
        Ok(match &self.password {
            Some(p) => {
                let settings = info.redis_settings().clone().set_password(p.expose_secret());
                info.set_redis_settings(settings)
            }
            None => info,
        })
    }
}

/// `scheme://user:secret@host` -> `scheme://user:***@host`; other strings unchanged.
pub(crate) fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    if user == userinfo {
        return url.to_string();
    }
    format!("{scheme}://{user}:***@{host}{tail}")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    pub bot_token: Option<SecretString>,
    pub signing_secret: Option<SecretString>,
    /// App-level token for Socket Mode.
    pub app_token: Option<SecretString>,
    pub socket_mode: bool,
    /// Web API base URL, ending in `/` (tests point it at the fake Slack).
    pub api_url: String,
    /// Channel id of the audit channel.
    pub audit_channel: String,
    /// Emoji names (without colons).
    pub approve_emoji: String,
    pub deny_emoji: String,
    /// Users or channels allowed to run `/pgroles verify`.
    pub verify_users: Vec<String>,
    pub verify_channels: Vec<String>,
    /// User group id (`S…`) mentioned in the audit channel when access could not be issued.
    pub alert_group: Option<String>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            bot_token: None,
            signing_secret: None,
            app_token: None,
            socket_mode: false,
            api_url: "https://slack.com/api/".into(),
            audit_channel: String::new(),
            approve_emoji: "white_check_mark".into(),
            deny_emoji: "x".into(),
            verify_users: Vec::new(),
            verify_channels: Vec::new(),
            alert_group: None,
        }
    }
}

impl crate::access::ReactionEmojis {
    /// The approve and deny emojis of `slack.approve_emoji` / `slack.deny_emoji` (built here, so
    /// that `access` does not know the Slack section).
    pub fn from_config(cfg: &SlackConfig) -> crate::access::ReactionEmojis {
        crate::access::ReactionEmojis::new(&cfg.approve_emoji, &cfg.deny_emoji)
    }
}

/// `[pagerduty]`: where and how to ask who is on call. Used only when a level lists schedules
/// in `access.auto_approve_<level>_schedules`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PagerDutyConfig {
    /// REST API base URL (tests point it at the local fake).
    pub api_url: String,
    /// REST API key (read-only is enough), sent as `Authorization: Token token=...`.
    pub token: Option<SecretString>,
    /// Deadline of one whole on-call check (every request and page), in milliseconds.
    pub timeout_ms: u64,
}

impl Default for PagerDutyConfig {
    fn default() -> Self {
        PagerDutyConfig {
            api_url: "https://api.pagerduty.com".into(),
            token: None,
            timeout_ms: 3000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    pub region: Option<String>,
    /// Endpoint override (tests point it at moto on loopback).
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { listen: "0.0.0.0:3000".into() }
    }
}

impl Config {
    /// Parses a TOML document (no env overrides); unknown keys are errors that name the key.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        load::from_toml_text(text, "pgroles.toml")
    }

    /// The database the broker connects to: `database.dbname`, else `model.database`.
    pub fn database_name(&self) -> String {
        self.database.dbname.clone().unwrap_or_else(|| self.model.database.clone())
    }

    /// The host firefighters put in their psql string: `database.public_host`, else `host`.
    pub fn public_host(&self) -> String {
        self.database.public_host.clone().unwrap_or_else(|| self.database.host.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url_password;

    #[test]
    fn url_passwords_are_redacted_but_the_rest_is_kept() {
        assert_eq!(redact_url_password("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact_url_password("rediss://u:p@w@h/1"), "rediss://u:***@h/1");
        assert_eq!(redact_url_password("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact_url_password("redis://user@h"), "redis://user@h");
    }
}
