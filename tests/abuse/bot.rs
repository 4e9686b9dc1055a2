//! The bot in-process (`Application::build` on port 0) against a fresh role model on real
//! PostgreSQL 15, a private Redis and the strict fake Slack; and snapshots of everything an
//! accepted request would change (Redis state keys, firefighter passwords, the audit table).
//!
//! Owns setup and snapshots. It must not generate or send the abuse (that is `gen`/`fire`).

use crate::support::{self, model::Model, pg, redis::OwnRedis};
use pgroles::config::Config;
use pgroles::model::Level;
use pgroles::server::{Application, Deps};
use pgroles::slack::client::RetryPolicy;
use secrecy::SecretString;
use slack_fake::FakeSlack;
use std::collections::BTreeMap;
use std::time::Duration;

pub const AUDIT: &str = "C0AUDIT001";
pub const OTHER_CHANNEL: &str = "C0OTHER001";
pub const REQUESTER: &str = "U0REQ00001";
pub const APPROVER1: &str = "U0APP00001";
pub const APPROVER2: &str = "U0APP00002";
pub const OUTSIDER: &str = "U0OUT00001";
pub const APPROVE: &str = "white_check_mark";
pub const DENY: &str = "x";
pub const PREFIX: &str = "abuse:";

pub struct Bot {
    pub fake: FakeSlack,
    pub model: Model,
    pub redis: OwnRedis,
    pub port: u16,
    pub signing_secret: String,
    pub task: tokio::task::JoinHandle<()>,
}

pub async fn spawn() -> Bot {
    let server = pg::version(15)
        .or_else(|| pg::versions().into_iter().next())
        .expect("a PostgreSQL test cluster");
    let model = Model::new(&server, "abuse");
    model.apply().await;
    let broker_password = model.set_password(&model.names.broker()).await;
    let redis = OwnRedis::spawn();
    let fake = FakeSlack::start().await.expect("fake Slack");
    fake.add_users(&[REQUESTER, APPROVER1, APPROVER2, OUTSIDER]);
    fake.add_channel(AUDIT);
    fake.add_channel(OTHER_CHANNEL);
    let signing_secret = support::random_alnum(32);

    let mut cfg = Config { model: model.names.clone(), ..Config::default() };
    cfg.database = model.broker_db_config(&broker_password);
    cfg.redis.url = redis.url();
    cfg.redis.key_prefix = PREFIX.into();
    cfg.slack.bot_token = Some(SecretString::from(fake.bot_token()));
    cfg.slack.signing_secret = Some(SecretString::from(signing_secret.clone()));
    cfg.slack.api_url = fake.api_url();
    cfg.slack.audit_channel = AUDIT.into();
    cfg.access.approvers = vec![APPROVER1.into(), APPROVER2.into()];
    cfg.access.default_duration_secs = 600;
    cfg.access.max_duration_secs = 3600;
    cfg.access.approval_window_secs = 900;
    cfg.server.listen = "127.0.0.1:0".into();
    let deps = Deps {
        slack_retry: RetryPolicy {
            max_attempts: 2,
            max_wait: Duration::from_secs(1),
            backoff: Duration::from_millis(50),
            call_timeout: Duration::from_secs(3),
        },
        ..Deps::default()
    };
    let app = Application::build(cfg, deps).await.expect("the bot builds");
    let port = app.port();
    let task = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    Bot { fake, model, redis, port, signing_secret, task }
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
    let client = redis::Client::open(bot.redis.url()).expect("redis url");
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
