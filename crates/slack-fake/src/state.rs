//! The fake Slack's world: registered users, channels, user groups and DMs, the messages the
//! bot posted, ephemerals per user, response_url posts, every API call, pending faults, the
//! trigger_ids handed out and the modal each user has open.
//!
//! Owns the model and its read helpers. It must not do I/O; the HTTP layer (`server`) and the
//! method semantics (`methods`) mutate it under one lock.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A fault to inject into the next call(s) of one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeFault {
    /// HTTP 429, `Retry-After: <secs>`, body `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// That HTTP status with a plain-text body (as Slack's edge does on 5xx).
    Status(u16),
    /// HTTP 200 with `{"ok":false,"error":<code>}`.
    Error(String),
    /// Answer normally, after this many milliseconds.
    Delay(u64),
}

/// One Web API call as the fake received it (token removed from `params`).
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub method: String,
    pub params: Value,
    /// Whether the arguments came as a JSON body (else form or query string).
    pub json_body: bool,
    pub at: SystemTime,
    /// `ok`, Slack's error code, or `http_<status>` for an injected status/rate limit.
    pub outcome: String,
}

/// A message the bot posted in a channel or DM (top level or thread reply).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeMessage {
    pub channel: String,
    pub ts: String,
    /// Parent `ts` for thread replies.
    pub thread_ts: Option<String>,
    pub text: Option<String>,
    pub blocks: Option<Value>,
    /// Who it shows as: the bot user, or the user for an `in_channel` command response.
    pub user: String,
    /// How many times `chat.update` changed it.
    pub edits: u32,
}

/// Where an ephemeral message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EphemeralSource {
    PostEphemeral,
    ResponseUrl,
    CommandAck,
}

/// A message only `user` can see.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeEphemeral {
    pub channel: String,
    pub user: String,
    pub text: Option<String>,
    pub blocks: Option<Value>,
    pub thread_ts: Option<String>,
    pub source: EphemeralSource,
    /// The `message_ts` `chat.postEphemeral` answered (a button on it is pressed with it).
    pub message_ts: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Channel {
    /// `None`: every registered user is a member.
    pub members: Option<BTreeSet<String>>,
    pub bot_member: bool,
}

/// A `response_url` handed out with a slash command.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    pub channel: String,
    pub user: String,
    pub uses: u32,
    pub posts: Vec<Value>,
}

/// A `trigger_id` handed out with an interaction: whose it is, when it was issued (plus any
/// age a test added), and whether a `views.open` already exchanged it.
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub user: String,
    pub issued: Instant,
    pub aged: Duration,
    pub exchanged: bool,
}

impl Trigger {
    pub(crate) fn age(&self) -> Duration {
        self.issued.elapsed() + self.aged
    }
}

/// One view of a user's modal (as stored, with its id) and the errors last shown on it by a
/// `response_action: errors` answer.
#[derive(Debug, Clone)]
pub(crate) struct OpenView {
    pub view: Value,
    pub errors: Option<BTreeMap<String, String>>,
}

/// The whole fake workspace.
#[derive(Debug)]
pub struct Workspace {
    pub(crate) token: String,
    pub(crate) team_id: String,
    pub(crate) bot_user_id: String,
    pub(crate) bot_id: String,
    pub(crate) users: BTreeSet<String>,
    /// Profile emails (`users.info`); a user without one is shown without `profile.email`, as
    /// Slack does for an app without the `users:read.email` scope or a user without an email.
    pub(crate) emails: BTreeMap<String, String>,
    pub(crate) channels: BTreeMap<String, Channel>,
    pub(crate) dms: BTreeMap<String, String>,
    pub(crate) groups: BTreeMap<String, Vec<String>>,
    pub(crate) messages: Vec<FakeMessage>,
    pub(crate) ephemerals: Vec<FakeEphemeral>,
    pub(crate) calls: Vec<RecordedCall>,
    pub(crate) faults: HashMap<String, VecDeque<FakeFault>>,
    pub(crate) hooks: BTreeMap<String, Hook>,
    /// The last view published to each user's App Home (`views.publish`).
    pub(crate) homes: BTreeMap<String, serde_json::Value>,
    /// Every trigger_id handed out, by id.
    pub(crate) triggers: BTreeMap<String, Trigger>,
    /// Each user's open modal: its view stack, the visible view last.
    pub(crate) modals: BTreeMap<String, Vec<OpenView>>,
    last_ts_micros: u64,
    counter: u64,
}

impl Workspace {
    pub(crate) fn new(token: &str) -> Workspace {
        Workspace {
            token: token.to_string(),
            team_id: "T0FAKE0001".into(),
            bot_user_id: "U0FAKEBOT1".into(),
            bot_id: "B0FAKEBOT1".into(),
            users: BTreeSet::new(),
            emails: BTreeMap::new(),
            channels: BTreeMap::new(),
            dms: BTreeMap::new(),
            groups: BTreeMap::new(),
            messages: Vec::new(),
            ephemerals: Vec::new(),
            calls: Vec::new(),
            faults: HashMap::new(),
            hooks: BTreeMap::new(),
            homes: BTreeMap::new(),
            triggers: BTreeMap::new(),
            modals: BTreeMap::new(),
            last_ts_micros: 0,
            counter: 0,
        }
    }

    /// A new message ts: `secs.micros`, unique and strictly increasing.
    pub(crate) fn next_ts(&mut self) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
        self.last_ts_micros = now.max(self.last_ts_micros + 1);
        format!("{}.{:06}", self.last_ts_micros / 1_000_000, self.last_ts_micros % 1_000_000)
    }

    /// Shows a reply to a slash command as Slack does: a channel message when `in_channel`,
    /// otherwise an ephemeral message only the invoking user sees.
    pub(crate) fn show_command_reply(
        &mut self,
        channel: &str,
        user: &str,
        text: Option<String>,
        blocks: Option<Value>,
        in_channel: bool,
        source: EphemeralSource,
    ) {
        if in_channel {
            let ts = self.next_ts();
            self.messages.push(FakeMessage {
                channel: channel.to_owned(),
                ts,
                thread_ts: None,
                text,
                blocks,
                user: user.to_owned(),
                edits: 0,
            });
        } else {
            self.ephemerals.push(FakeEphemeral {
                channel: channel.to_owned(),
                user: user.to_owned(),
                text,
                blocks,
                thread_ts: None,
                source,
                message_ts: None,
            });
        }
    }

    /// A new number for ids (DM ids, response URLs, event ids).
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A fresh `trigger_id` for an interaction of `user`, recorded as issued now.
    pub(crate) fn new_trigger(&mut self, user: &str) -> String {
        let id = format!("{}.{}.fake", self.next_seq(), rand::random::<u32>());
        let trigger = Trigger {
            user: user.to_string(),
            issued: Instant::now(),
            aged: Duration::ZERO,
            exchanged: false,
        };
        self.triggers.insert(id.clone(), trigger);
        id
    }

    /// The DM channel with `user`, created on first use (stable afterwards).
    pub(crate) fn dm_of(&mut self, user: &str) -> (String, bool) {
        if let Some(id) = self.dms.get(user) {
            return (id.clone(), true);
        }
        let id = format!("D{:08}", self.next_seq());
        self.dms.insert(user.to_string(), id.clone());
        self.channels.insert(
            id.clone(),
            Channel { members: Some(BTreeSet::from([user.to_string()])), bot_member: true },
        );
        (id, false)
    }

    pub(crate) fn is_member(&self, channel: &Channel, user: &str) -> bool {
        self.users.contains(user) && channel.members.as_ref().is_none_or(|m| m.contains(user))
    }

    /// The bot user id the fake answers `auth.test` with.
    pub fn bot_user_id(&self) -> &str {
        &self.bot_user_id
    }

    /// The team id used in payloads.
    pub fn team_id(&self) -> &str {
        &self.team_id
    }

    /// The view last published to `user`'s App Home.
    pub fn home(&self, user: &str) -> Option<serde_json::Value> {
        self.homes.get(user).cloned()
    }

    /// The modal view `user` sees now (as stored, with its id), if one is open.
    pub fn modal(&self, user: &str) -> Option<Value> {
        self.modals.get(user).and_then(|s| s.last()).map(|v| v.view.clone())
    }

    /// The errors last shown on `user`'s open modal (`response_action: errors`), by block_id.
    pub fn view_errors(&self, user: &str) -> Option<BTreeMap<String, String>> {
        self.modals.get(user).and_then(|s| s.last()).and_then(|v| v.errors.clone())
    }

    /// Top-level messages in `channel`, oldest first.
    pub fn messages(&self, channel: &str) -> Vec<FakeMessage> {
        self.messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.is_none())
            .cloned()
            .collect()
    }

    /// One message by channel and ts.
    pub fn message(&self, channel: &str, ts: &str) -> Option<FakeMessage> {
        self.messages.iter().find(|m| m.channel == channel && m.ts == ts).cloned()
    }

    /// Replies in the thread under `ts`, oldest first.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<FakeMessage> {
        self.messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.as_deref() == Some(ts))
            .cloned()
            .collect()
    }

    /// Ephemeral messages shown to `user`, oldest first.
    pub fn ephemerals(&self, user: &str) -> Vec<FakeEphemeral> {
        self.ephemerals.iter().filter(|e| e.user == user).cloned().collect()
    }

    /// The DM channel id with `user`, if one was opened.
    pub fn dm_channel(&self, user: &str) -> Option<String> {
        self.dms.get(user).cloned()
    }

    /// Messages in the bot's DM with `user` (empty if none was opened).
    pub fn dm_messages(&self, user: &str) -> Vec<FakeMessage> {
        self.dms.get(user).map(|d| self.messages(d)).unwrap_or_default()
    }

    /// Every recorded call of `method`, oldest first.
    pub fn calls(&self, method: &str) -> Vec<RecordedCall> {
        self.calls.iter().filter(|c| c.method == method).cloned().collect()
    }

    /// Every recorded call, oldest first.
    pub fn all_calls(&self) -> Vec<RecordedCall> {
        self.calls.clone()
    }

    /// Bodies posted to one response_url, oldest first.
    pub fn responses(&self, response_url: &str) -> Vec<Value> {
        let id = response_url.rsplit('/').next().unwrap_or_default();
        self.hooks.get(id).map(|h| h.posts.clone()).unwrap_or_default()
    }
}
