//! Fixtures of the grants tests: a model per test on a real cluster, a grant service over real
//! Redis (shared server under a unique prefix, or a private `OwnRedis`), a recording notifier
//! that keeps the delivered passwords in memory, and a worker that can be stopped.

use crate::support::model::Model;
use crate::support::pg::{self, PgServer};
use chrono::{DateTime, Utc};
use pgroles::access::{IncidentId, RequestId, SlackUserId};
use pgroles::broker::{Broker, CredentialSource, TempPassword};
use pgroles::config::{AwsConfig, DatabaseConfig, DbAuth, RedisConfig};
use pgroles::grants::{
    run, GrantEvent, GrantRecord, GrantService, GrantSettings, IssueRequest, Notifier, RunStats,
};
use pgroles::model::Level;
use pgroles::timers::{self, Clock, DocStore, SystemClock, TimerQueue};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One notification, owned.
#[derive(Debug, Clone)]
pub struct Seen {
    pub kind: &'static str,
    pub grant_id: Option<String>,
    pub holder: Option<String>,
    pub previous_holder: Option<String>,
    pub sessions_ended: Option<i32>,
    pub role: Option<String>,
}

/// Records events and captures delivered passwords (in memory only). `fail` makes delivery fail
/// after capturing the password, so a test can prove it no longer works.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<Seen>>,
    pub passwords: Mutex<Vec<String>>,
    pub fail: AtomicBool,
}

impl Recorder {
    pub fn count(&self, kind: &str) -> usize {
        self.events.lock().unwrap().iter().filter(|e| e.kind == kind).count()
    }

    pub fn of(&self, kind: &str) -> Vec<Seen> {
        self.events.lock().unwrap().iter().filter(|e| e.kind == kind).cloned().collect()
    }

    pub fn last_password(&self) -> String {
        self.passwords.lock().unwrap().last().cloned().expect("a delivered password")
    }
}

#[async_trait::async_trait]
impl Notifier for Recorder {
    async fn deliver(&self, _grant: &GrantRecord, password: &TempPassword) -> anyhow::Result<()> {
        self.passwords.lock().unwrap().push(password.expose_for_delivery().to_owned());
        if self.fail.load(Ordering::SeqCst) {
            anyhow::bail!("the DM could not be posted (test)");
        }
        Ok(())
    }

    async fn notify(&self, event: GrantEvent<'_>) -> anyhow::Result<()> {
        let mut seen = Seen {
            kind: event.name(),
            grant_id: None,
            holder: None,
            previous_holder: None,
            sessions_ended: None,
            role: None,
        };
        match event {
            GrantEvent::Reminder { grant }
            | GrantEvent::Resent { grant }
            | GrantEvent::Extended { grant, .. }
            | GrantEvent::DeliveryFailed { grant, .. }
            | GrantEvent::ExpiryDelayed { grant, .. } => {
                seen.grant_id = Some(grant.id.clone());
                seen.holder = Some(grant.holder.to_string());
            }
            GrantEvent::Expired { grant, sessions_ended, .. }
            | GrantEvent::Revoked { grant, sessions_ended, .. } => {
                seen.grant_id = Some(grant.id.clone());
                seen.holder = Some(grant.holder.to_string());
                seen.sessions_ended = Some(sessions_ended);
            }
            GrantEvent::TakenOver { previous, by } => {
                seen.grant_id = Some(by.id.clone());
                seen.holder = Some(by.holder.to_string());
                seen.previous_holder = Some(previous.holder.to_string());
            }
            GrantEvent::Restored { role, .. } => seen.role = Some(role.to_owned()),
            GrantEvent::OrphanSessionsEnded { role, sessions_ended } => {
                seen.role = Some(role.to_owned());
                seen.sessions_ended = Some(sessions_ended);
            }
            GrantEvent::InstancesUnreachable { grant, .. } => {
                seen.grant_id = Some(grant.id.clone());
            }
            GrantEvent::InstanceSwept { grant, role, sessions_ended, .. } => {
                seen.grant_id = grant.map(|g| g.id.clone());
                seen.role = Some(role.to_owned());
                seen.sessions_ended = sessions_ended;
            }
        }
        self.events.lock().unwrap().push(seen);
        Ok(())
    }
}

/// Fast settings for tests: short polls, leases and retries.
pub fn test_settings() -> GrantSettings {
    GrantSettings {
        reminder_before: Duration::from_secs(1),
        lease: Duration::from_secs(5),
        retry_base: Duration::from_millis(200),
        retry_max: Duration::from_secs(1),
        poll_interval: Duration::from_millis(50),
        reconcile_every: Duration::from_secs(3600),
        delayed_notice_every: Duration::from_secs(600),
        // The suite tests the shared roles; tests/grants/person.rs asks for per-person logins.
        identity: pgroles::access::settings::Identity::Shared,
        ..GrantSettings::default()
    }
}

/// One test's world: an applied model, a Redis prefix, a recorder and a service.
pub struct Fixture {
    pub server: PgServer,
    pub model: Model,
    pub broker_pw: String,
    pub redis_url: String,
    pub prefix: String,
    pub recorder: Arc<Recorder>,
    pub service: Arc<GrantService>,
}

impl Fixture {
    /// The shared Redis under a unique prefix; the broker logs in with a static password.
    pub async fn new(server: &PgServer, tag: &str) -> Fixture {
        Fixture::with_redis(server, tag, &crate::support::redis::url()).await
    }

    pub async fn with_redis(server: &PgServer, tag: &str, redis_url: &str) -> Fixture {
        let model = Model::new(server, tag);
        let report = model.apply().await;
        assert!(report.refused.is_empty(), "apply refused: {:?}", report.refused);
        let broker_pw = crate::support::random_alnum(32);
        pg::superuser(server, "postgres")
            .await
            .batch_execute(&format!(
                "ALTER ROLE {} PASSWORD '{broker_pw}'",
                pg::ident(&model.names.broker())
            ))
            .await
            .expect("set the broker password");
        let prefix = crate::support::redis::prefix(tag);
        let recorder = Arc::new(Recorder::default());
        let db = server.static_database_config(&broker_pw);
        let broker =
            Broker::from_config(&db, &AwsConfig::default(), &model.names).await.expect("broker");
        let redis = redis_config(redis_url, &prefix);
        let service = make_service(&redis, broker, recorder.clone(), Arc::new(SystemClock)).await;
        Fixture {
            server: server.clone(),
            model,
            broker_pw,
            redis_url: redis_url.to_owned(),
            prefix,
            recorder,
            service,
        }
    }

    pub fn static_db(&self) -> DatabaseConfig {
        self.server.static_database_config(&self.broker_pw)
    }

    pub fn redis_config(&self) -> RedisConfig {
        redis_config(&self.redis_url, &self.prefix)
    }

    /// Another service over the same Redis prefix and recorder (another replica).
    pub async fn service_with(&self, broker: Broker, clock: Arc<dyn Clock>) -> Arc<GrantService> {
        make_service(&self.redis_config(), broker, self.recorder.clone(), clock).await
    }

    /// A replica with the fixture's broker password and `clock`.
    pub async fn service_with_clock(&self, clock: Arc<dyn Clock>) -> Arc<GrantService> {
        let broker =
            Broker::from_config(&self.static_db(), &AwsConfig::default(), &self.model.names)
                .await
                .expect("broker");
        self.service_with(broker, clock).await
    }

    /// A replica whose broker points at a closed port (PostgreSQL unreachable).
    pub async fn service_without_database(&self) -> Arc<GrantService> {
        let db = DatabaseConfig { port: crate::support::free_port(), ..self.static_db() };
        let broker = Broker::from_config(&db, &AwsConfig::default(), &self.model.names)
            .await
            .expect("broker");
        self.service_with(broker, Arc::new(SystemClock)).await
    }

    /// A broker whose password comes from Secrets Manager (moto).
    pub fn secrets_manager_broker(&self, sdk: &aws_config::SdkConfig, secret_id: &str) -> Broker {
        let db = DatabaseConfig {
            auth: DbAuth::SecretsManager,
            secret_id: Some(secret_id.to_owned()),
            ..self.server.database_config()
        };
        let names = &self.model.names;
        let creds = CredentialSource::from_config_with_sdk(&db, Some(sdk), &names.broker())
            .expect("credential source");
        Broker::with_credentials(&db, names, creds).expect("broker")
    }

    pub fn request(&self, level: Level, holder: &str, duration: Duration) -> IssueRequest {
        IssueRequest {
            level,
            holder: SlackUserId::parse(holder).expect("a Slack user id"),
            incident: IncidentId::try_from("INC-4242".to_owned()).expect("an incident id"),
            approvers: vec![SlackUserId::parse("U0APPROVER").expect("a Slack user id")],
            request_id: Some(RequestId::parse(&format!("req-{holder}")).expect("a request id")),
            duration,
            context: serde_json::json!({"channel": "C1", "ts": "1.2"}),
            takeover: false,
            break_glass: false,
        }
    }

    pub fn role(&self, level: Level) -> String {
        self.model.names.firefighter(level)
    }

    /// Logs in as the firefighter of `level` over TCP.
    pub async fn login(
        &self,
        level: Level,
        password: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        pg::login(&self.server, &self.model.names.database, &self.role(level), password).await
    }

    /// Asserts the login is refused with 28P01 (password authentication failed).
    pub async fn assert_login_refused(&self, level: Level, password: &str) {
        let code = self
            .login(level, password)
            .await
            .err()
            .and_then(|e| e.code().map(|c| c.code().to_owned()));
        assert_eq!(code.as_deref(), Some("28P01"), "login as {level} should be refused");
    }

    /// `rolvaliduntil` of the firefighter role, read by the superuser (as text).
    pub async fn valid_until(&self, level: Level) -> Option<DateTime<Utc>> {
        pg::superuser(&self.server, "postgres")
            .await
            .query_one(
                "SELECT CASE WHEN rolvaliduntil IN ('infinity', '-infinity') THEN NULL \
                 ELSE rolvaliduntil END FROM pg_roles WHERE rolname = $1",
                &[&self.role(level)],
            )
            .await
            .expect("pg_roles")
            .get(0)
    }

    /// Audit rows `(event, sessions_ended, who)`, oldest first, via `firefighter_audit_recent`;
    /// `who` is the requester of an issue, the actor (`p_actor`) of an expire or terminate.
    pub async fn audit(&self) -> Vec<(String, Option<i32>, String)> {
        let names = &self.model.names;
        pg::superuser(&self.server, &names.database)
            .await
            .query(
                &format!(
                    "SELECT event, sessions_ended, coalesce(requester, '') FROM \
                     {}.firefighter_audit_recent(1000) \
                     ORDER BY id",
                    pg::ident(&names.admin_schema)
                ),
                &[],
            )
            .await
            .expect("firefighter_audit_recent")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    }

    /// Every key of the prefix with its whole value (GET, HGETALL, ZRANGE, ...), as text.
    pub fn redis_dump(&self) -> String {
        let client = redis::Client::open(self.redis_url.as_str()).expect("redis url");
        let mut conn = client.get_connection().expect("redis connection");
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{}*", self.prefix)).query(&mut conn).unwrap();
        let mut out = String::new();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
            let value: Vec<String> = match kind.as_str() {
                "string" => vec![redis::cmd("GET").arg(&key).query(&mut conn).unwrap()],
                "hash" => redis::cmd("HGETALL").arg(&key).query(&mut conn).unwrap(),
                "zset" => redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(&mut conn)
                    .unwrap(),
                "set" => redis::cmd("SMEMBERS").arg(&key).query(&mut conn).unwrap(),
                "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).query(&mut conn).unwrap(),
                _ => vec![],
            };
            out.push_str(&format!("{key} ({kind}): {}\n", value.join(" ")));
        }
        out
    }

    /// Drops the model and the prefix's keys.
    pub async fn cleanup(self) {
        if let Ok(mut conn) =
            redis::Client::open(self.redis_url.as_str()).and_then(|c| c.get_connection())
        {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{}*", self.prefix))
                .query(&mut conn)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query(&mut conn);
            }
        }
        self.model.drop().await;
    }
}

fn redis_config(url: &str, prefix: &str) -> RedisConfig {
    RedisConfig { url: url.to_owned(), key_prefix: prefix.to_owned(), ..RedisConfig::default() }
}

async fn make_service(
    redis: &RedisConfig,
    broker: Broker,
    recorder: Arc<Recorder>,
    clock: Arc<dyn Clock>,
) -> Arc<GrantService> {
    let conn = timers::connect(redis).await.expect("connect to Redis");
    Arc::new(GrantService::new(
        broker,
        TimerQueue::new(conn.clone(), &redis.key_prefix),
        DocStore::new(conn, &redis.key_prefix),
        recorder,
        clock,
        test_settings(),
    ))
}

/// A running `grants::run`, stopped on demand.
pub struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<RunStats>,
}

pub fn spawn_worker(service: Arc<GrantService>) -> Running {
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let queue = service.queue().clone();
    let handle = tokio::spawn(run(
        service,
        queue,
        async move {
            let _ = rx.await;
        },
        None,
    ));
    Running { stop, handle }
}

impl Running {
    pub async fn stop(self) -> RunStats {
        let _ = self.stop.send(());
        self.handle.await.expect("worker task")
    }
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if cond().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
