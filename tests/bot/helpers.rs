//! The bot suite's vocabulary on top of the shared fixture (`support::bot`: `spawn_bot`, the
//! users and channels): sending commands and reactions as Slack does, waiting for what the bot
//! posts, payload helpers, a Redis dump; and the log capture (`support::logs`) for secret scans.

pub use crate::support::bot::*;
pub use crate::support::logs::{capture_logs, logs};
use slack_fake::{FakeEphemeral, FakeMessage, SentResponse};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
