//! The benchmark's world: the shared bot fixture (`support::bot`) on the PostgreSQL 15 test
//! cluster with one fake Slack, and production-shaped bots in it (`Deps::default()`), each under
//! its own Redis key prefix; and the same configuration as TOML, for a `pgroles serve` child.
//!
//! Owns the bench's bot options. It must not measure anything, and must not touch roles,
//! databases or Redis keys outside its own prefixes (`World::cleanup` deletes them).

use crate::support::bot::{Options, Running, World};
use crate::support::redis;
use pgroles::config::Identity;
use std::sync::Arc;

/// The model (with `orders` and a broker password) on PostgreSQL 15, and the fake Slack.
pub async fn start() -> World {
    World::start(15, "benchbot").await
}

/// Production's options, the timer worker on or off, with `access.identity`.
fn options(run_worker: bool, identity: Identity) -> Options {
    Options {
        tweak: Some(Arc::new(move |_, deps| deps.run_worker = run_worker)),
        identity,
        ..Options::production()
    }
}

/// Builds and runs a bot in this process under a fresh prefix.
pub async fn bot(world: &World, run_worker: bool, identity: Identity) -> anyhow::Result<Running> {
    world.launch(&options(run_worker, identity), &redis::url(), &world.prefix("benchbot")).await
}

/// The configuration of [`bot`] as a TOML file's text, for `pgroles serve --config` (the
/// fake's token and a throwaway signing secret: nothing real), listening on `listen`.
pub fn serve_toml(world: &World, signing_secret: &str, listen: &str) -> anyhow::Result<String> {
    let prefix = world.prefix("benchbot");
    let cfg = world.config(
        &options(false, Identity::default()),
        signing_secret,
        &redis::url(),
        &prefix,
        listen,
    );
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
            "password": world.broker_password,
            "sslmode": "disable",
        },
        "redis": { "url": cfg.redis.url, "key_prefix": cfg.redis.key_prefix },
        "slack": {
            "bot_token": world.fake.bot_token(),
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
