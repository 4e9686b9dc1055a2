//! The abuse suite's bot (the shared fixture, `support::bot`, production-shaped on a private
//! Redis) and snapshots of everything an accepted request would change (Redis state keys,
//! firefighter passwords, the audit table, messages and DMs in Slack).
//!
//! Owns the suite's bot options and snapshots. It must not generate or send the abuse (that is
//! `gen`/`fire`).

use crate::support::bot::{spawn_bot, Bot, Options, AUDIT, OTHER_CHANNEL};
use crate::support::pg;
use pgroles::model::Level;
use pgroles::slack::client::RetryPolicy;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const PREFIX: &str = "abuse:";

/// The bot under attack: production seams (with quick Slack retries), a private Redis, the
/// state under [`PREFIX`].
pub async fn spawn() -> Bot {
    spawn_bot(Options {
        own_redis: true,
        prefix: Some(PREFIX.into()),
        tweak: Some(Arc::new(|_, deps| {
            deps.slack_retry = RetryPolicy {
                max_attempts: 2,
                max_wait: Duration::from_secs(1),
                backoff: Duration::from_millis(50),
                call_timeout: Duration::from_secs(3),
            }
        })),
        ..Options::production()
    })
    .await
}

/// What an accepted request would change, captured before and after the abuse.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Every key of the prefix but the idempotency keys of deliveries (`idem:event:`,
    /// `idem:trigger:`),
    /// with its value.
    pub state: BTreeMap<String, String>,
    /// `rolpassword IS NOT NULL`, `rolvaliduntil` of both firefighter roles.
    pub roles: Vec<(String, bool, Option<String>)>,
    pub audit_rows: i64,
    pub top_level_messages: usize,
    pub dm_calls: usize,
}

pub async fn snapshot(bot: &Bot) -> Snapshot {
    let client = redis::Client::open(bot.redis_url.as_str()).expect("redis url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{PREFIX}*")).query_async(&mut conn).await.expect("KEYS");
    let mut state = BTreeMap::new();
    for k in keys {
        let rel = &k[PREFIX.len()..];
        if rel.starts_with("idem:event:") || rel.starts_with("idem:trigger:") {
            continue;
        }
        let kind: String = redis::cmd("TYPE").arg(&k).query_async(&mut conn).await.expect("TYPE");
        let cmd = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&k).clone(),
            "hash" => redis::cmd("HGETALL").arg(&k).clone(),
            "zset" => redis::cmd("ZRANGE").arg(&k).arg(0).arg(-1).arg("WITHSCORES").clone(),
            _ => redis::cmd("TYPE").arg(&k).clone(),
        };
        let value: redis::Value = cmd.query_async(&mut conn).await.expect("read key");
        state.insert(rel.to_owned(), format!("{value:?}"));
    }
    let su = pg::superuser(&bot.model.pg, "postgres").await;
    let names: Vec<String> =
        [Level::Ro, Level::Rw].iter().map(|l| bot.model.names.firefighter(*l)).collect();
    let roles = su
        .query(
            "SELECT rolname::text, rolpassword IS NOT NULL, rolvaliduntil::text FROM pg_authid \
             WHERE rolname = ANY($1) ORDER BY rolname",
            &[&names],
        )
        .await
        .expect("roles")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let db = bot.model.superuser().await;
    let audit_rows: i64 = db
        .query_one(
            &format!(
                "SELECT count(*) FROM {}.firefighter_audit",
                pg::ident(&bot.model.names.admin_schema)
            ),
            &[],
        )
        .await
        .expect("audit")
        .get(0);
    let (top_level_messages, dm_calls) = bot.fake.with(|ws| {
        let dms = ws
            .all_calls()
            .iter()
            .filter(|c| {
                c.method == "conversations.open"
                    || c.params["channel"].as_str().is_some_and(|ch| ch.starts_with('D'))
            })
            .count();
        (ws.messages(AUDIT).len() + ws.messages(OTHER_CHANNEL).len(), dms)
    });
    Snapshot { state, roles, audit_rows, top_level_messages, dm_calls }
}
