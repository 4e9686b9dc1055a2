//! The incident the demo plays, step by step: Alice asks for `ro` access, reacts to her own
//! request (it does not count), Bob presses Approve, the password arrives in Alice's DM, she logs in
//! for real, reads `orders`, is refused an UPDATE, gets the reminder, the access expires and her
//! open session is ended, a new login is refused, and Bob runs `/pgroles verify`. Between the
//! login and the reminder Alice asks for more time and Bob approves it; at the end a second grant
//! is released early (`lifecycle`).
//!
//! Owns the people's side (signed slash commands and reactions through
//! [`SlackEventSender`](slack_fake::SlackEventSender), the firefighter's psql session)
//! and the judgement of each step. The bot is driven only the way Slack drives it. The password
//! is held as a `SecretString` and printed only masked.

use super::stage::{db_message, Bot, Target, GRANT_SECS};
use super::transcript::Transcript;
use super::{slack_text, step, ALICE, AUDIT, BOB, INCIDENT};
use crate::model::script::quote_ident;
use crate::model::Names;
use secrecy::{ExposeSecret, SecretString};
use slack_fake::{FakeEphemeral, FakeMessage, Workspace};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_postgres::Client;

pub(super) const WAIT: Duration = Duration::from_secs(15);
const APPROVE: &str = "white_check_mark";

/// A step that did not happen: its name and why.
pub(super) struct Missed(pub &'static str, pub String);

/// Plays the incident; every step is recorded in `t` as done or failed.
pub async fn play(t: &Transcript, bot: &Bot, target: &Target, names: &Names) {
    let play = Play { t, bot, target, names };
    if let Err(Missed(step, why)) = play.run().await {
        // Let the bot's last posts land, so the transcript shows them before the failure.
        tokio::time::sleep(Duration::from_millis(300)).await;
        t.sync(&bot.fake);
        t.failed(step, &why);
    }
}

pub(super) struct Play<'a> {
    pub t: &'a Transcript,
    pub bot: &'a Bot,
    target: &'a Target,
    names: &'a Names,
}

fn text_of(text: Option<&str>, blocks: Option<&serde_json::Value>) -> String {
    format!("{} {}", text.unwrap_or_default(), blocks.map(|b| b.to_string()).unwrap_or_default())
}

fn message_has(m: &FakeMessage, needle: &str) -> bool {
    text_of(m.text.as_deref(), m.blocks.as_ref()).contains(needle)
}

fn ephemeral_has(e: &FakeEphemeral, needle: &str) -> bool {
    text_of(e.text.as_deref(), e.blocks.as_ref()).contains(needle)
}

impl Play<'_> {
    async fn run(&self) -> Result<(), Missed> {
        let ts = self.request().await?;
        self.own_reaction(&ts).await?;
        let (login, password) = self.approval(&ts).await?;
        let session = self.firefighter(&login, &password).await?;
        self.extend(&ts).await?;
        self.reminder(&ts).await?;
        self.expiry(&ts, &session, &login, &password).await?;
        self.verify().await?;
        self.release().await
    }

    pub(super) fn ok(&self, step: &'static str) {
        self.t.done(step);
    }

    /// Prints what Slack shows so far, then a line from the people's side.
    pub(super) fn say(&self, label: &str, body: &str) {
        self.t.sync(&self.bot.fake);
        self.t.say(label, body);
    }

    /// Prints what Slack shows so far, then one tagged line.
    fn line(&self, tag: &str, text: &str) {
        self.t.sync(&self.bot.fake);
        self.t.line(tag, text);
    }

    pub(super) async fn wait<T>(
        &self,
        step: &'static str,
        timeout: Duration,
        what: &str,
        probe: impl Fn(&Workspace) -> Option<T>,
    ) -> Result<T, Missed> {
        let found = self.bot.fake.wait_for(probe, timeout).await;
        self.t.sync(&self.bot.fake);
        found.map_err(|_| Missed(step, format!("{what} did not appear within {timeout:?}")))
    }

    pub(super) fn thread_note<'p>(
        &self,
        ts: &'p str,
        needle: &'p str,
    ) -> impl Fn(&Workspace) -> Option<FakeMessage> + 'p {
        move |ws: &Workspace| ws.thread(AUDIT, ts).into_iter().find(|m| message_has(m, needle))
    }

    async fn request(&self) -> Result<String, Missed> {
        let step = step::REQUEST;
        let text = format!("ro {INCIDENT}");
        let alice = self.t.dir().user_name(ALICE);
        self.say(&format!("{alice} in #incident-audit"), &format!("/firefighter {text}"));
        let cmd = self.bot.fake.slash_command("/firefighter", &text, ALICE, AUDIT);
        let ack = self.bot.sender.send_command(&cmd).await;
        match ack {
            Ok(a) if a.status == 200 && a.elapsed < Duration::from_secs(3) => {}
            Ok(a) => {
                return Err(Missed(
                    step,
                    format!("the bot answered HTTP {} in {:?}", a.status, a.elapsed),
                ))
            }
            Err(e) => return Err(Missed(step, format!("{e:#}"))),
        }
        let request = self
            .wait(step, WAIT, "the request message", |ws| {
                ws.messages(AUDIT).into_iter().find(|m| message_has(m, INCIDENT))
            })
            .await?;
        // Alice follows the link in the bot's reply before reacting, as a person would.
        self.wait(step, WAIT, "the reply with the request's link", |ws| {
            ws.ephemerals(ALICE).into_iter().find(|e| ephemeral_has(e, "is posted"))
        })
        .await?;
        self.ok(step);
        Ok(request.ts)
    }

    async fn react(&self, user: &str, ts: &str) -> Result<(), String> {
        self.react_to(user, ts, "the request").await
    }

    pub(super) async fn react_to(&self, user: &str, ts: &str, what: &str) -> Result<(), String> {
        let name = self.t.dir().user_name(user);
        self.say(&format!("{name} reacted ✅ to {what}"), "");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let payload = self
            .bot
            .fake
            .reaction_event(true, user, APPROVE, AUDIT, ts)
            .to_json(i64::try_from(now).unwrap_or(i64::MAX));
        match self.bot.sender.send_event(&payload).await {
            Ok(r) if r.status == 200 => Ok(()),
            Ok(r) => Err(format!("the bot answered the reaction with HTTP {}", r.status)),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    /// `user` presses the request message's Approve button (a signed `block_actions`).
    pub(super) async fn press_approve(&self, user: &str, ts: &str) -> Result<(), String> {
        let name = self.t.dir().user_name(user);
        self.say(&format!("{name} pressed [ Approve ] on the request"), "");
        let fake = &self.bot.fake;
        let payload = fake
            .block_action(user, AUDIT, ts, crate::workflow::APPROVE_ACTION)
            .map_err(|e| format!("{e:#}"))?;
        match self.bot.sender.send_interaction(&payload).await {
            Ok(r) if r.status == 200 => Ok(()),
            Ok(r) => Err(format!("the bot answered the button with HTTP {}", r.status)),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    async fn own_reaction(&self, ts: &str) -> Result<(), Missed> {
        let step = step::OWN_REACTION;
        self.react(ALICE, ts).await.map_err(|e| Missed(step, e))?;
        self.wait(step, WAIT, "the 'does not count' note", self.thread_note(ts, "does not count"))
            .await?;
        let leaked = self
            .bot
            .fake
            .with(|ws| ws.ephemerals(ALICE).iter().any(|e| ephemeral_has(e, "Password")));
        if leaked {
            return Err(Missed(
                step,
                "a password was issued on the requester's own approval".into(),
            ));
        }
        self.ok(step);
        Ok(())
    }

    /// Bob approves; returns the login named in the DM's psql line (Alice's own login, or the
    /// shared role with `access.identity = "shared"`) and the password.
    async fn approval(&self, ts: &str) -> Result<(String, SecretString), Missed> {
        let step = step::DELIVERED;
        self.press_approve(BOB, ts).await.map_err(|e| Missed(step, e))?;
        let dm = self
            .wait(step, WAIT, "the password DM", |ws| {
                let dm = ws.dm_channel(ALICE)?;
                ws.ephemerals(ALICE)
                    .into_iter()
                    .find(|e| e.channel == dm && ephemeral_has(e, "Password: `"))
            })
            .await?;
        let text = dm.text.unwrap_or_default();
        let password = text
            .split_once("Password: `")
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(p, _)| SecretString::from(p.to_owned()))
            .ok_or_else(|| Missed(step, "the DM has no password line".into()))?;
        let login = text
            .split_once(" user=")
            .and_then(|(_, rest)| rest.split_once(' '))
            .map(|(login, _)| login.to_owned())
            .ok_or_else(|| Missed(step, "the DM has no psql line with user=".into()))?;
        self.wait(step, WAIT, "the 'Access issued' note", self.thread_note(ts, "Access issued"))
            .await?;
        self.ok(step);
        Ok((login, password))
    }

    fn orders(&self) -> String {
        format!("{}.orders", quote_ident(&self.names.schema))
    }

    async fn firefighter(&self, role: &str, password: &SecretString) -> Result<Client, Missed> {
        let db = &self.names.database;
        let step = step::LOGIN;
        let shown = slack_text::mask(password.expose_secret());
        self.line(
            "psql",
            &format!(
                "$ PGPASSWORD={shown} psql \"host={} port={} dbname={db} user={role} sslmode=disable\"",
                self.target.host, self.target.port
            ),
        );
        let ff = self
            .target
            .login(db, role, password.expose_secret())
            .await
            .map_err(|e| Missed(step, format!("login refused: {}", db_message(&e))))?;
        let who = ff
            .query_one("SELECT current_user::text, pg_backend_pid()", &[])
            .await
            .map_err(|e| Missed(step, db_message(&e)))?;
        let (user, pid): (String, i32) = (who.get(0), who.get(1));
        self.t.line("psql", &format!("connected as {user} (session pid {pid})"));
        self.ok(step);

        let step = step::SELECT;
        let select = format!("SELECT order_no, status FROM {} ORDER BY id;", self.orders());
        self.t.line("psql", &format!("=> {select}"));
        let rows = ff.query(&select, &[]).await.map_err(|e| Missed(step, db_message(&e)))?;
        let listed: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {}", r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect();
        self.t.line("psql", &format!("{} ({} rows)", listed.join(", "), rows.len()));
        self.ok(step);

        let step = step::UPDATE;
        let update = format!(
            "UPDATE {} SET status = 'cancelled' WHERE order_no = 'ORD-1001';",
            self.orders()
        );
        self.t.line("psql", &format!("=> {update}"));
        match ff.batch_execute(&update).await {
            Ok(()) => return Err(Missed(step, "the UPDATE succeeded as ro".into())),
            Err(e) => {
                let msg = db_message(&e);
                self.t.line("psql", &msg);
                if !msg.contains("permission denied for table orders") {
                    return Err(Missed(step, format!("unexpected error: {msg}")));
                }
            }
        }
        self.ok(step);
        Ok(ff)
    }

    async fn reminder(&self, ts: &str) -> Result<(), Missed> {
        let step = step::REMINDER;
        let timeout = Duration::from_secs(GRANT_SECS) + WAIT;
        self.wait(step, timeout, "the reminder note", self.thread_note(ts, "Reminder sent"))
            .await?;
        self.wait(step, WAIT, "the reminder DM", |ws| {
            ws.ephemerals(ALICE).into_iter().find(|e| ephemeral_has(e, "ends at"))
        })
        .await?;
        self.ok(step);
        Ok(())
    }

    async fn expiry(
        &self,
        ts: &str,
        ff: &Client,
        role: &str,
        password: &SecretString,
    ) -> Result<(), Missed> {
        let step = step::EXPIRED;
        let timeout = Duration::from_secs(GRANT_SECS) + WAIT;
        let note = self
            .wait(step, timeout, "the expiry note", self.thread_note(ts, "Password expired"))
            .await?;
        if !message_has(&note, "1 session ended") {
            return Err(Missed(step, "the expiry note does not say 1 session ended".into()));
        }
        self.wait(step, WAIT, "the request message showing the expiry", |ws| {
            ws.message(AUDIT, ts).filter(|m| message_has(m, "Access expired"))
        })
        .await?;
        self.ok(step);

        let step = step::SESSION_ENDED;
        self.line("psql", "=> SELECT 1;");
        match tokio::time::timeout(Duration::from_secs(5), ff.query_one("SELECT 1", &[])).await {
            Ok(Ok(_)) => return Err(Missed(step, "the old session still answers".into())),
            Ok(Err(e)) => self.t.line("psql", &closed_message(&e)),
            Err(_) => self.t.line("psql", "(no answer: the server closed the session)"),
        }
        self.ok(step);

        let step = step::LOGIN_REFUSED;
        let shown = slack_text::mask(password.expose_secret());
        self.line(
            "psql",
            &format!(
                "$ PGPASSWORD={shown} psql \"... user={role} ...\"   (the same password again)"
            ),
        );
        match self.target.login(&self.names.database, role, password.expose_secret()).await {
            Ok(_) => return Err(Missed(step, "the expired password still logs in".into())),
            Err(e) => self.t.line("psql", &format!("psql: {}", db_message(&e))),
        }
        self.ok(step);
        Ok(())
    }

    async fn verify(&self) -> Result<(), Missed> {
        let step = step::VERIFY;
        let bob = self.t.dir().user_name(BOB);
        self.say(&format!("{bob} in #incident-audit"), "/pgroles verify");
        let cmd = self.bot.fake.slash_command("/pgroles", "verify", BOB, AUDIT);
        match self.bot.sender.send_command(&cmd).await {
            Ok(a) if a.status == 200 => {}
            Ok(a) => return Err(Missed(step, format!("the bot answered HTTP {}", a.status))),
            Err(e) => return Err(Missed(step, format!("{e:#}"))),
        }
        let report = self
            .wait(step, WAIT, "the verify report", |ws| {
                ws.ephemerals(BOB).into_iter().find(|e| ephemeral_has(e, "pgroles verify"))
            })
            .await?;
        if !ephemeral_has(&report, "no drift") {
            return Err(Missed(step, "the report shows drift (see above)".into()));
        }
        self.ok(step);
        Ok(())
    }
}

/// What psql prints when the server ended the session.
fn closed_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(_) => db_message(e),
        None if e.is_closed() => {
            "server closed the connection unexpectedly (terminated by the bot at expiry)".into()
        }
        None => e.to_string(),
    }
}
