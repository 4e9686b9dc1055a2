//! The demo's transcript: what happened, when (seconds since the start), and where, as a
//! person would read it in Slack; plus the checklist of steps and the closing summary.
//!
//! Owns the output (stdout). Slack-side lines come from the fake Slack's records (every
//! `chat.postMessage`/`chat.update` call and every ephemeral, in order); the people's side
//! (slash commands, reactions, psql) is written by the incident script through [`Transcript::say`].
//! Every line goes through [`slack_text::humanize`], which masks passwords. Must not drive the
//! bot or decide whether a step passed: the incident script does.

use super::slack_text::{self, Directory};
use serde_json::Value;
use slack_fake::{EphemeralSource, FakeEphemeral, FakeSlack, RecordedCall, Workspace};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

const INDENT: &str = "         ";

/// One step of the drill and whether it happened.
#[derive(Debug, Clone)]
struct Step {
    name: String,
    outcome: Option<Result<Duration, String>>,
}

#[derive(Default)]
struct Seen {
    calls: usize,
    ephemerals: BTreeMap<String, usize>,
}

/// The running transcript. Cheap to share (`Arc`).
pub struct Transcript {
    start: Instant,
    start_wall: SystemTime,
    dir: Directory,
    bot_name: String,
    seen: Mutex<Seen>,
    /// Calls + ephemerals printed so far, for the watcher's cheap "anything new?" probe.
    printed: AtomicUsize,
    steps: Mutex<Vec<Step>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Entry {
    at: Duration,
    label: String,
    body: String,
    /// One line: `label` is a short tag (`setup`, `psql`) and `body` follows it.
    inline: bool,
}

impl Transcript {
    /// Starts the clock. `steps` is the checklist, in order.
    pub fn new(dir: Directory, bot_name: &str, steps: &[&str]) -> Arc<Transcript> {
        Arc::new(Transcript {
            start: Instant::now(),
            start_wall: SystemTime::now(),
            dir,
            bot_name: bot_name.to_owned(),
            seen: Mutex::new(Seen::default()),
            printed: AtomicUsize::new(0),
            steps: Mutex::new(
                steps.iter().map(|s| Step { name: (*s).to_owned(), outcome: None }).collect(),
            ),
        })
    }

    pub fn dir(&self) -> &Directory {
        &self.dir
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Prints a header line (no timestamp).
    pub fn heading(&self, text: &str) {
        emit(&format!("{}\n", slack_text::mask_passwords(text)));
    }

    /// Prints what a person did or saw outside Slack, now.
    pub fn say(&self, label: &str, body: &str) {
        let (label, body) = (label.to_owned(), body.to_owned());
        self.print(&[Entry { at: self.elapsed(), label, body, inline: false }]);
    }

    /// One line tagged `tag` (`setup`, `psql`), now.
    pub fn line(&self, tag: &str, text: &str) {
        let (label, body) = (tag.to_owned(), text.to_owned());
        self.print(&[Entry { at: self.elapsed(), label, body, inline: true }]);
    }

    /// Marks step `name` as done now.
    pub fn done(&self, name: &str) {
        let at = self.elapsed();
        self.set(name, Ok(at));
    }

    /// Marks step `name` as failed, with why.
    pub fn failed(&self, name: &str, why: &str) {
        self.set(name, Err(slack_text::mask_passwords(why)));
        self.line("✗", &format!("{name}: {why}"));
    }

    fn set(&self, name: &str, outcome: Result<Duration, String>) {
        let mut steps = lock(&self.steps);
        match steps.iter_mut().find(|s| s.name == name) {
            Some(step) => step.outcome = Some(outcome),
            None => steps.push(Step { name: name.to_owned(), outcome: Some(outcome) }),
        }
    }

    /// Prints everything new in the fake Slack, in order.
    pub fn sync(&self, fake: &FakeSlack) {
        let mut seen = lock(&self.seen);
        let users: Vec<String> = self.dir.user_ids().cloned().collect();
        let (calls, ephemerals) = fake.with(|ws| {
            let calls: Vec<RecordedCall> = settled(ws).into_iter().skip(seen.calls).collect();
            let eph: Vec<(String, Vec<FakeEphemeral>)> = users
                .iter()
                .map(|u| {
                    let skip = seen.ephemerals.get(u).copied().unwrap_or(0);
                    (u.clone(), ws.ephemerals(u).into_iter().skip(skip).collect())
                })
                .collect();
            (calls, eph)
        });
        let now = self.elapsed();
        let mut entries = Vec::new();
        seen.calls += calls.len();
        let mut new_items = calls.len();
        for call in &calls {
            entries.extend(self.call_entry(call));
        }
        for (user, list) in ephemerals {
            *seen.ephemerals.entry(user).or_default() += list.len();
            new_items += list.len();
            entries.extend(list.iter().map(|e| self.ephemeral_entry(e, now)));
        }
        self.printed.fetch_add(new_items, Ordering::SeqCst);
        entries.sort_by_key(|e| e.at);
        self.print(&entries);
    }

    /// Has the fake recorded anything not printed yet? (Called under the fake's lock.)
    fn has_new(&self, ws: &Workspace) -> bool {
        let eph: usize = self.dir.user_ids().map(|u| ws.ephemerals(u).len()).sum();
        settled(ws).len() + eph > self.printed.load(Ordering::SeqCst)
    }

    /// Prints Slack activity as it happens, until the returned task is aborted.
    pub fn watch(self: &Arc<Self>, fake: &FakeSlack) -> tokio::task::JoinHandle<()> {
        let (me, fake) = (self.clone(), fake.clone());
        tokio::spawn(async move {
            loop {
                let probe = |ws: &Workspace| me.has_new(ws).then_some(());
                if fake.wait_for(probe, Duration::from_secs(1)).await.is_ok() {
                    me.sync(&fake);
                }
            }
        })
    }

    fn since_start(&self, at: SystemTime) -> Duration {
        at.duration_since(self.start_wall).unwrap_or_default()
    }

    fn call_entry(&self, call: &RecordedCall) -> Option<Entry> {
        if call.outcome != "ok" {
            return Some(Entry {
                at: self.since_start(call.at),
                label: format!("Slack refused {}", call.method),
                body: call.outcome.clone(),
                inline: false,
            });
        }
        let p = &call.params;
        let channel = p.get("channel").and_then(Value::as_str).unwrap_or_default();
        let place = self.place(channel);
        let label = match call.method.as_str() {
            "chat.postMessage" if p.get("thread_ts").is_some_and(|t| !t.is_null()) => {
                format!("{place} › thread · {}", self.bot_name)
            }
            "chat.postMessage" => format!("{place} · {}", self.bot_name),
            "chat.update" => format!("{place} · {} updated the request message", self.bot_name),
            _ => return None,
        };
        let text = p.get("text").and_then(Value::as_str);
        let body = slack_text::message_text(text, p.get("blocks"), &self.dir);
        Some(Entry { at: self.since_start(call.at), label, body, inline: false })
    }

    fn ephemeral_entry(&self, e: &FakeEphemeral, now: Duration) -> Entry {
        let who = self.dir.user_name(&e.user);
        let how = match e.source {
            EphemeralSource::CommandAck => "reply to the command",
            EphemeralSource::ResponseUrl => "reply",
            EphemeralSource::PostEphemeral => "ephemeral",
        };
        let label = format!("{} · {how}, only {who} sees this", self.place(&e.channel));
        let body = slack_text::message_text(e.text.as_deref(), e.blocks.as_ref(), &self.dir);
        Entry { at: now, label, body, inline: false }
    }

    /// `#incident-audit`, or `DM with pgroles` for a direct-message channel.
    fn place(&self, channel: &str) -> String {
        if channel.starts_with('D') {
            format!("DM with {}", self.bot_name)
        } else {
            self.dir.channel_name(channel)
        }
    }

    fn print(&self, entries: &[Entry]) {
        let mut out = String::new();
        for e in entries {
            let time = format!("+{:.2}s", e.at.as_secs_f64());
            if e.inline {
                let text = slack_text::humanize(&e.body, &self.dir);
                out.push_str(&format!("{time:<8} {:<8} {text}\n", e.label));
                continue;
            }
            out.push_str(&format!("{time:<8} {}\n", e.label));
            for line in slack_text::humanize(&e.body, &self.dir).lines() {
                out.push_str(INDENT);
                out.push_str(line);
                out.push('\n');
            }
        }
        emit(&out);
    }

    /// The checklist and the total time; `true` if every step happened.
    pub fn summary(&self) -> bool {
        let steps = lock(&self.steps).clone();
        let total = self.elapsed();
        let mut out = String::from("\nSummary\n");
        let mut ok = 0;
        for s in &steps {
            let line = match &s.outcome {
                Some(Ok(at)) => {
                    ok += 1;
                    format!("  ✓ {:<52} +{:.2}s\n", s.name, at.as_secs_f64())
                }
                Some(Err(why)) => format!("  ✗ {:<52} failed: {why}\n", s.name),
                None => format!("  ✗ {:<52} did not happen\n", s.name),
            };
            out.push_str(&line);
        }
        out.push_str(&format!(
            "{ok} of {} steps happened in {:.1}s.\n",
            steps.len(),
            total.as_secs_f64()
        ));
        emit(&out);
        ok == steps.len()
    }
}

fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not fail the drill.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The calls the fake has answered, up to the first still in flight: a call is printed once, so it
/// waits until its outcome is known (printing it while "pending" would show a refusal that was not).
fn settled(ws: &Workspace) -> Vec<RecordedCall> {
    ws.all_calls().into_iter().take_while(|c| c.outcome != "pending").collect()
}

#[cfg(test)]
#[path = "transcript_tests.rs"]
mod tests;
