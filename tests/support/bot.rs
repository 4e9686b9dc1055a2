//! The one bot fixture of the tests and benches: the real bot in-process (`Application::build`,
//! port 0) against a fresh role model on a real PostgreSQL, a Redis key prefix of its own and
//! the strict fake Slack (`slack_fake`), with the users, user group and channels every suite uses.
//!
//! [`World`] is what bots share (the model, the fake, the broker's password); [`World::config`]
//! is a bot's configuration and [`World::launch`] runs one bot in it ([`Running`]);
//! [`spawn_bot`] does both for a test that wants a bot of its own ([`Bot`]). [`Options`] holds the
//! knobs: the drill's quick timings by default, production's with [`Options::production`].
//! Owns setup and teardown only: waits and payload helpers belong to the suites (tests/bot),
//! snapshots to the abuse suite, measurements to the benches.

use super::{logs, model::Model, pg, redis::OwnRedis};
use pgroles::config::{Config, Identity};
use pgroles::server::{Application, Deps};
use pgroles::workflow::Workflow;
use secrecy::SecretString;
use slack_fake::{FakeSlack, SlackEventSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const AUDIT: &str = "C0AUDIT001";
/// A second channel the bot is in (requests are only taken in `AUDIT`).
pub const OTHER_CHANNEL: &str = "C0OTHER001";
pub const REQUESTER: &str = "U0REQ00001";
pub const APPROVER1: &str = "U0APP00001";
pub const APPROVER2: &str = "U0APP00002";
pub const OUTSIDER: &str = "U0OUT00001";
/// A member of the approver user group (not listed as an approver by id).
pub const GROUP_MEMBER: &str = "U0GRP00001";
pub const APPROVER_GROUP: &str = "S0APPROVE1";
/// The user group alerted when access could not be issued.
pub const ALERT_GROUP: &str = "S0ALERT001";
pub const APPROVE: &str = "white_check_mark";
pub const DENY: &str = "x";
pub const WAIT: Duration = Duration::from_secs(15);

/// Knobs of one bot.
#[derive(Clone)]
pub struct Options {
    pub pg_version: u32,
    pub default_duration_secs: u64,
    pub reminder_before_secs: u64,
    pub approval_window_secs: u64,
    /// `slack.verify_users` (who may run `/pgroles verify`).
    pub verify_users: Vec<String>,
    /// Use this Redis URL instead of the shared one.
    pub redis_url: Option<String>,
    /// Run the bot on a private `redis-server` of its own (kept alive by the [`Bot`]).
    pub own_redis: bool,
    /// This Redis key prefix instead of a fresh one.
    pub prefix: Option<String>,
    /// Point the broker at a closed port (PostgreSQL down).
    pub database_down: bool,
    /// Approvers also come from the user group `APPROVER_GROUP` (members: `GROUP_MEMBER`).
    pub approver_group: bool,
    /// `slack.alert_group = ALERT_GROUP`.
    pub alert_group: bool,
    /// Start from production's seams and timings (`Deps::default()`) instead of the drill's
    /// (`Deps::for_local_drill`).
    pub production_deps: bool,
    /// Capture the logs of the whole binary at debug level (`logs::logs`), for secret scans.
    pub capture_logs: bool,
    /// Last changes to the configuration and the seams before `Application::build`.
    pub tweak: Option<Tweak>,
    /// Notified: the bot shuts down as on SIGTERM (default: it runs until dropped).
    pub stop: Option<Arc<tokio::sync::Notify>>,
    /// Runs after every stored request change (a test stops the bot there).
    pub commit_hook: Option<pgroles::timers::CommitHook>,
    /// `access.identity`: the suites test the shared roles unless they ask for per-person logins.
    pub identity: Identity,
}

/// See [`Options::tweak`].
pub type Tweak = Arc<dyn Fn(&mut Config, &mut Deps) + Send + Sync>;

impl Default for Options {
    /// The drill's quick timings, APPROVER1 may verify, logs captured.
    fn default() -> Self {
        Options {
            pg_version: 15,
            default_duration_secs: 600,
            reminder_before_secs: 60,
            approval_window_secs: 120,
            verify_users: vec![APPROVER1.into()],
            redis_url: None,
            own_redis: false,
            prefix: None,
            database_down: false,
            approver_group: false,
            alert_group: false,
            production_deps: false,
            capture_logs: true,
            tweak: None,
            stop: None,
            commit_hook: None,
            identity: Identity::Shared,
        }
    }
}

impl Options {
    /// Production-shaped: `Deps::default()`, the configuration's default reminder and approval
    /// window, nobody may verify, logs left to the caller.
    pub fn production() -> Self {
        let access = Config::default().access;
        Options {
            reminder_before_secs: access.reminder_before_secs,
            approval_window_secs: access.approval_window_secs,
            verify_users: Vec::new(),
            production_deps: true,
            capture_logs: false,
            ..Options::default()
        }
    }
}

/// What bots share: a role model applied on a test cluster (with `orders` and the broker's
/// password) and the fake Slack with the fixture's users, user group and channels.
pub struct World {
    pub model: Model,
    pub fake: FakeSlack,
    pub broker_password: String,
    prefixes: Mutex<Vec<String>>,
}

impl World {
    /// Applies a fresh model named after `name` on PostgreSQL `pg_version` (or the first
    /// cluster of `PGROLES_TEST_PG`) and starts the fake Slack.
    pub async fn start(pg_version: u32, name: &str) -> World {
        let server = pg::version(pg_version)
            .or_else(|| pg::versions().into_iter().next())
            .expect("a PostgreSQL test cluster");
        let model = Model::new(&server, name);
        model.apply().await;
        model.migrate_orders().await;
        let broker_password = model.set_password(&model.names.broker()).await;
        let fake = FakeSlack::start().await.expect("fake Slack");
        fake.add_users(&[REQUESTER, APPROVER1, APPROVER2, OUTSIDER, GROUP_MEMBER]);
        fake.add_usergroup(APPROVER_GROUP, &[GROUP_MEMBER]);
        fake.add_channel(AUDIT);
        fake.add_channel(OTHER_CHANNEL);
        World { model, fake, broker_password, prefixes: Mutex::default() }
    }

    /// A fresh key prefix on the shared Redis, deleted by [`World::cleanup`].
    pub fn prefix(&self, tag: &str) -> String {
        let prefix = super::redis::prefix(tag);
        self.prefixes.lock().unwrap_or_else(|p| p.into_inner()).push(prefix.clone());
        prefix
    }

    /// A bot's configuration: this world's model, database and fake Slack, `redis_url` under
    /// `prefix`, listening on `listen`.
    pub fn config(
        &self,
        opts: &Options,
        signing_secret: &str,
        redis_url: &str,
        prefix: &str,
        listen: &str,
    ) -> Config {
        let mut cfg = Config { model: self.model.names.clone(), ..Config::default() };
        cfg.database = self.model.broker_db_config(&self.broker_password);
        if opts.database_down {
            cfg.database.port = super::free_port();
        }
        cfg.redis.url = redis_url.to_owned();
        cfg.redis.key_prefix = prefix.to_owned();
        cfg.slack.bot_token = Some(SecretString::from(self.fake.bot_token()));
        cfg.slack.signing_secret = Some(SecretString::from(signing_secret.to_owned()));
        cfg.slack.api_url = self.fake.api_url();
        cfg.slack.audit_channel = AUDIT.into();
        cfg.slack.verify_users = opts.verify_users.clone();
        cfg.access.approvers = vec![APPROVER1.into(), APPROVER2.into()];
        cfg.access.approver_group = opts.approver_group.then(|| APPROVER_GROUP.to_string());
        cfg.slack.alert_group = opts.alert_group.then(|| ALERT_GROUP.to_string());
        cfg.access.default_duration_secs = opts.default_duration_secs;
        cfg.access.max_duration_secs = 3600;
        cfg.access.reminder_before_secs = opts.reminder_before_secs;
        cfg.access.approval_window_secs = opts.approval_window_secs;
        cfg.access.identity = opts.identity;
        cfg.server.listen = listen.into();
        cfg
    }

    /// Builds a bot as `pgroles serve` does (port 0, a fresh signing secret) and runs it until
    /// `opts.stop` is notified or the [`Running`] is dropped.
    pub async fn launch(
        &self,
        opts: &Options,
        redis_url: &str,
        prefix: &str,
    ) -> anyhow::Result<Running> {
        if opts.capture_logs {
            logs::capture_logs();
        }
        let signing_secret = super::random_alnum(32);
        let mut cfg = self.config(opts, &signing_secret, redis_url, prefix, "127.0.0.1:0");
        let mut deps =
            if opts.production_deps { Deps::default() } else { Deps::for_local_drill(&cfg.access) };
        deps.commit_hook = opts.commit_hook.clone();
        if let Some(tweak) = &opts.tweak {
            tweak(&mut cfg, &mut deps);
        }
        let app = Application::build(cfg, deps).await?;
        let port = app.port();
        let workflow = app.workflow().clone();
        let exit: Exit = Arc::default();
        let exit_slot = exit.clone();
        let stop = opts.stop.clone();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                match stop {
                    Some(stop) => stop.notified().await,
                    None => std::future::pending().await,
                }
            };
            let res = app.run_until(shutdown).await;
            *exit_slot.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(res.map_err(|e| format!("{e:#}")));
        });
        let sender = SlackEventSender::new(
            &format!("http://127.0.0.1:{port}"),
            SecretString::from(signing_secret.clone()),
        )
        .with_fake(&self.fake);
        Ok(Running { port, sender, signing_secret, workflow, exit, task: Abort(task) })
    }

    /// Deletes every key under the prefixes handed out by [`World::prefix`] and drops the model.
    pub async fn cleanup(self) {
        let prefixes = self.prefixes.lock().map(|p| p.clone()).unwrap_or_default();
        if let Ok(mut c) = redis::Client::open(super::redis::url()).and_then(|c| c.get_connection())
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

/// What `run_until` returned, once it did.
pub type Exit = Arc<Mutex<Option<Result<(), String>>>>;

struct Abort(tokio::task::JoinHandle<()>);
impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One running bot; it stops when dropped.
pub struct Running {
    pub port: u16,
    /// Signed deliveries to this bot, acks shown in the world's fake.
    pub sender: SlackEventSender,
    pub signing_secret: String,
    pub workflow: Workflow,
    pub exit: Exit,
    task: Abort,
}

impl Running {
    /// The bot's task has not ended (nor panicked).
    pub fn is_running(&self) -> bool {
        !self.task.0.is_finished()
    }
}

/// A test's own bot in its own world.
pub struct Bot {
    pub fake: FakeSlack,
    pub sender: SlackEventSender,
    pub model: Model,
    pub redis_url: String,
    pub prefix: String,
    pub port: u16,
    pub signing_secret: String,
    pub workflow: Workflow,
    pub exit: Exit,
    task: Abort,
    _redis: Option<OwnRedis>,
}

impl Bot {
    /// The bot's task has not ended (nor panicked).
    pub fn is_running(&self) -> bool {
        !self.task.0.is_finished()
    }
}

pub async fn spawn_bot(opts: Options) -> Bot {
    match try_spawn_bot(opts).await {
        Ok(bot) => bot,
        Err((model, e)) => {
            model.drop().await;
            panic!("the bot builds: {e:#}");
        }
    }
}

/// [`spawn_bot`], returning the model and the error when `Application::build` refuses.
pub async fn try_spawn_bot(opts: Options) -> Result<Bot, (Model, anyhow::Error)> {
    let world = World::start(opts.pg_version, "bot").await;
    let own_redis = opts.own_redis.then(OwnRedis::spawn);
    let redis_url = match (&own_redis, &opts.redis_url) {
        (Some(own), _) => own.url(),
        (None, Some(url)) => url.clone(),
        (None, None) => super::redis::url(),
    };
    let prefix = opts.prefix.clone().unwrap_or_else(|| super::redis::prefix("bot"));
    let run = match world.launch(&opts, &redis_url, &prefix).await {
        Ok(run) => run,
        Err(e) => return Err((world.model, e)),
    };
    let World { model, fake, .. } = world;
    let Running { port, sender, signing_secret, workflow, exit, task } = run;
    Ok(Bot {
        fake,
        sender,
        model,
        redis_url,
        prefix,
        port,
        signing_secret,
        workflow,
        exit,
        task,
        _redis: own_redis,
    })
}
