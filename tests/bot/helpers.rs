//! `spawn_bot`: the real bot in-process (`Application::build`, port 0) against a fresh role model
//! on a real PostgreSQL, a unique Redis prefix, and the strict fake Slack; plus waits, payload
//! helpers, a tracing capture and secret scans.

use crate::support::{self, model::Model, pg};
use pgroles::config::Config;
use pgroles::server::{Application, Deps};
use pgroles::slack::fake::{FakeEphemeral, FakeMessage, FakeSlack, SentResponse, SlackEventSender};
use secrecy::SecretString;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const AUDIT: &str = "C0AUDIT001";
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
pub const WAIT: Duration = Duration::from_secs(15);

/// Knobs of one test bot.
#[derive(Clone)]
pub struct Options {
    pub pg_version: u32,
    pub default_duration_secs: u64,
    pub reminder_before_secs: u64,
    pub approval_window_secs: u64,
    /// Use this Redis URL instead of the shared one.
    pub redis_url: Option<String>,
    /// Point the broker at a closed port (PostgreSQL down).
    pub database_down: bool,
    /// Approvers also come from the user group `APPROVER_GROUP` (members: `GROUP_MEMBER`).
    pub approver_group: bool,
    /// `slack.alert_group = ALERT_GROUP`.
    pub alert_group: bool,
    /// Last changes to the configuration and the seams before `Application::build`.
    pub tweak: Option<Tweak>,
    /// Notified: the bot shuts down as on SIGTERM (default: it runs until dropped).
    pub stop: Option<Arc<tokio::sync::Notify>>,
    /// Runs after every stored request change (a test stops the bot there).
    pub commit_hook: Option<pgroles::timers::CommitHook>,
}

/// See [`Options::tweak`].
pub type Tweak = Arc<dyn Fn(&mut Config, &mut Deps) + Send + Sync>;

impl Default for Options {
    fn default() -> Self {
        Options {
            pg_version: 15,
            default_duration_secs: 600,
            reminder_before_secs: 60,
            approval_window_secs: 120,
            redis_url: None,
            database_down: false,
            approver_group: false,
            alert_group: false,
            tweak: None,
            stop: None,
            commit_hook: None,
        }
    }
}

pub struct Bot {
    pub fake: FakeSlack,
    pub sender: SlackEventSender,
    pub model: Model,
    pub redis_url: String,
    pub prefix: String,
    pub port: u16,
    pub signing_secret: String,
    /// What `run_until` returned, once it did.
    pub exit: Arc<Mutex<Option<Result<(), String>>>>,
    _task: Abort,
}

struct Abort(tokio::task::JoinHandle<()>);
impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
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
    capture_logs();
    let server = pg::version(opts.pg_version)
        .or_else(|| pg::versions().into_iter().next())
        .expect("a PostgreSQL test cluster");
    let model = Model::new(&server, "bot");
    model.apply().await;
    model.migrate_orders().await;
    let broker_password = model.set_password(&model.names.broker()).await;

    let fake = FakeSlack::start().await.expect("fake Slack");
    fake.add_users(&[REQUESTER, APPROVER1, APPROVER2, OUTSIDER, GROUP_MEMBER]);
    fake.add_usergroup(APPROVER_GROUP, &[GROUP_MEMBER]);
    fake.add_channel(AUDIT);
    let signing_secret = support::random_alnum(32);
    let redis_url = opts.redis_url.clone().unwrap_or_else(support::redis::url);
    let prefix = support::redis::prefix("bot");

    let mut cfg = Config { model: model.names.clone(), ..Config::default() };
    cfg.database = model.broker_db_config(&broker_password);
    cfg.database.port = if opts.database_down { support::free_port() } else { server.port };
    cfg.redis.url = redis_url.clone();
    cfg.redis.key_prefix = prefix.clone();
    cfg.slack.bot_token = Some(SecretString::from(fake.bot_token()));
    cfg.slack.signing_secret = Some(SecretString::from(signing_secret.clone()));
    cfg.slack.api_url = fake.api_url();
    cfg.slack.audit_channel = AUDIT.into();
    cfg.slack.verify_users = vec![APPROVER1.into()];
    cfg.access.approvers = vec![APPROVER1.into(), APPROVER2.into()];
    cfg.access.approver_group = opts.approver_group.then(|| APPROVER_GROUP.to_string());
    cfg.slack.alert_group = opts.alert_group.then(|| ALERT_GROUP.to_string());
    cfg.access.default_duration_secs = opts.default_duration_secs;
    cfg.access.max_duration_secs = 3600;
    cfg.access.reminder_before_secs = opts.reminder_before_secs;
    cfg.access.approval_window_secs = opts.approval_window_secs;
    cfg.server.listen = "127.0.0.1:0".into();

    let mut deps =
        Deps { commit_hook: opts.commit_hook.clone(), ..Deps::for_local_drill(&cfg.access) };
    if let Some(tweak) = &opts.tweak {
        tweak(&mut cfg, &mut deps);
    }
    let app = match Application::build(cfg, deps).await {
        Ok(app) => app,
        Err(e) => return Err((model, e)),
    };
    let port = app.port();
    let exit: Arc<Mutex<Option<Result<(), String>>>> = Arc::default();
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
        *exit_slot.lock().unwrap() = Some(res.map_err(|e| format!("{e:#}")));
    });
    let sender = SlackEventSender::new(
        &format!("http://127.0.0.1:{port}"),
        SecretString::from(signing_secret.clone()),
    )
    .with_fake(&fake);
    Ok(Bot {
        fake,
        sender,
        model,
        redis_url,
        prefix,
        port,
        signing_secret,
        exit,
        _task: Abort(task),
    })
}

pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Bot {
    /// Sends a signed `/firefighter` command; checks it was answered within Slack's 3 s.
    pub async fn command(&self, user: &str, text: &str) -> SentResponse {
        self.slash("/firefighter", user, text).await
    }

    /// Sends any signed slash command from the audit channel.
    pub async fn slash(&self, command: &str, user: &str, text: &str) -> SentResponse {
        let cmd = self.fake.slash_command(command, text, user, AUDIT);
        let resp = self.sender.send_command(&cmd).await.expect("command delivered");
        assert!(resp.elapsed < Duration::from_secs(3), "ack took {:?}", resp.elapsed);
        resp
    }

    /// Sends a reaction event (fresh event id); returns the payload (for re-sending).
    pub async fn react(&self, user: &str, emoji: &str, ts: &str) -> serde_json::Value {
        let payload = self.fake.reaction_event(true, user, emoji, AUDIT, ts).to_json(now_secs());
        let resp = self.sender.send_event(&payload).await.expect("event delivered");
        assert_eq!(resp.status, 200, "{}", resp.body);
        payload
    }

    /// The request message in the audit channel, once posted (the n-th, from 0).
    pub async fn request_message(&self, n: usize) -> FakeMessage {
        self.fake
            .wait_for(|ws| ws.messages(AUDIT).get(n).cloned(), WAIT)
            .await
            .expect("the request message is posted")
    }

    /// Waits for a thread reply under `ts` containing `needle`.
    pub async fn thread_note(&self, ts: &str, needle: &str) -> FakeMessage {
        let needle = needle.to_owned();
        self.fake
            .wait_for(
                |ws| ws.thread(AUDIT, ts).into_iter().find(|m| text_of(m).contains(&needle)),
                WAIT,
            )
            .await
            .unwrap_or_else(|_| {
                panic!("thread note {needle:?}; thread: {:#?}", self.thread_texts(ts))
            })
    }

    pub fn thread_texts(&self, ts: &str) -> Vec<String> {
        self.fake.thread(AUDIT, ts).iter().map(text_of).collect()
    }

    /// Waits for an ephemeral shown to `user` containing `needle`.
    pub async fn ephemeral(&self, user: &str, needle: &str) -> FakeEphemeral {
        let (user, needle) = (user.to_owned(), needle.to_owned());
        self.fake
            .wait_for(
                |ws| {
                    ws.ephemerals(&user)
                        .into_iter()
                        .find(|e| e.text.as_deref().unwrap_or_default().contains(&needle))
                },
                WAIT,
            )
            .await
            .unwrap_or_else(|_| {
                panic!("ephemeral {needle:?} for {user}; got {:#?}", self.fake.ephemerals(&user))
            })
    }

    /// Waits for a (non-ephemeral) message in `user`'s DM with the bot containing `needle`.
    pub async fn dm_message(&self, user: &str, needle: &str) -> FakeMessage {
        let (user, needle) = (user.to_owned(), needle.to_owned());
        self.fake
            .wait_for(
                |ws| {
                    let dm = ws.dm_channel(&user)?;
                    ws.messages(&dm).into_iter().find(|m| text_of(m).contains(&needle))
                },
                WAIT,
            )
            .await
            .unwrap_or_else(|_| {
                let dm = self.fake.with(|ws| ws.dm_channel(&user)).unwrap_or_default();
                panic!("DM {needle:?} for {user}; got {:#?}", self.fake.messages(&dm))
            })
    }

    /// Ephemerals shown to `user` in their DM with the bot.
    pub fn dm_ephemerals(&self, user: &str) -> Vec<FakeEphemeral> {
        let dm = self.fake.with(|ws| ws.dm_channel(user));
        self.fake.ephemerals(user).into_iter().filter(|e| Some(&e.channel) == dm.as_ref()).collect()
    }

    /// Everything visible in Slack except DMs: channel messages, threads, non-DM ephemerals,
    /// every API call's parameters.
    pub fn everything_but_dms(&self, user: &str) -> String {
        let dm = self.fake.with(|ws| ws.dm_channel(user)).unwrap_or_default();
        self.fake.with(|ws| {
            let mut out = String::new();
            for m in ws.messages(AUDIT) {
                out.push_str(&format!("{:?}\n", m));
                for r in ws.thread(AUDIT, &m.ts) {
                    out.push_str(&format!("{:?}\n", r));
                }
            }
            for u in [REQUESTER, APPROVER1, APPROVER2, OUTSIDER] {
                for e in ws.ephemerals(u).into_iter().filter(|e| e.channel != dm) {
                    out.push_str(&format!("{:?}\n", e));
                }
            }
            for c in ws.all_calls() {
                if c.method != "chat.postEphemeral" || c.params["channel"] != dm.as_str() {
                    out.push_str(&format!("{} {}\n", c.method, c.params));
                }
            }
            out
        })
    }

    /// Every value under this bot's Redis prefix, as text.
    pub async fn redis_dump(&self) -> String {
        let client = redis::Client::open(self.redis_url.as_str()).expect("redis url");
        let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        let mut out = String::new();
        for k in keys {
            let kind: String =
                redis::cmd("TYPE").arg(&k).query_async(&mut conn).await.expect("TYPE");
            let value: String = match kind.as_str() {
                "string" => {
                    redis::cmd("GET").arg(&k).query_async(&mut conn).await.unwrap_or_default()
                }
                "hash" => {
                    let v: Vec<String> = redis::cmd("HGETALL")
                        .arg(&k)
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    v.join(" ")
                }
                "zset" => {
                    let v: Vec<String> = redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    v.join(" ")
                }
                other => format!("<{other}>"),
            };
            out.push_str(&format!("{k} = {value}\n"));
        }
        out
    }
}

pub fn text_of(m: &FakeMessage) -> String {
    format!("{} {}", m.text.clone().unwrap_or_default(), m.blocks.clone().unwrap_or_default())
}

/// The password in a credentials DM: the text between "Password: `" and the next backtick.
pub fn password_in(e: &FakeEphemeral) -> String {
    let text = e.text.clone().unwrap_or_default();
    let start = text.find("Password: `").expect("a password line") + "Password: `".len();
    let end = text[start..].find('`').expect("closing backtick") + start;
    text[start..end].to_owned()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once) a debug-level subscriber writing into memory, for secret scans.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buf
    });
}

/// Everything logged so far by every test in this binary.
pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned())
        .unwrap_or_default()
}
