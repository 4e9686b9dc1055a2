//! The deterministic generator of bad requests (seeded ChaCha `StdRng`): each [`Attack`] has a
//! category, a path, a body and how it is signed; signing happens at send time so that "fresh"
//! means fresh. Categories: bad signatures and timestamps, tampered and oversized bodies,
//! malformed form/JSON under valid signatures, injection and unicode tricks in the incident id
//! and duration, unknown commands, odd event shapes, events for unknown messages, and
//! reactions from non-approvers on a real pending request.
//!
//! Owns what is sent. It must not send (that is `fire`) nor judge the answers.

use crate::payloads::{CATEGORIES, DURATIONS, INJECTIONS, UNICODE};
use crate::support::bot::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;
use slack_fake::{ReactionEvent, SlashCommand};

/// How an attack is signed.
#[derive(Debug, Clone)]
pub enum Signing {
    /// No signature headers at all, or only one of them.
    Unsigned { timestamp: bool, signature: bool },
    /// Signed with `secret` (None: the bot's) at `now + offset` seconds; then, if `tamper`,
    /// byte `tamper.0 % len` is XORed with `tamper.1`.
    Signed { secret: Option<String>, offset: i64, tamper: Option<(usize, u8)> },
    /// A correct signature over a nonsense timestamp header.
    BadTimestamp(String),
}

#[derive(Debug, Clone)]
pub struct Attack {
    pub category: &'static str,
    pub method: &'static str,
    pub path: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub signing: Signing,
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

pub struct Generator {
    rng: StdRng,
    signing_secret: String,
    /// `ts` of the real pending request (the target of non-approver reactions).
    pending_ts: String,
    team: String,
    seq: u64,
}

impl Generator {
    pub fn new(seed: u64, signing_secret: &str, pending_ts: &str, team: &str) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            signing_secret: signing_secret.to_owned(),
            pending_ts: pending_ts.to_owned(),
            team: team.to_owned(),
            seq: 0,
        }
    }

    pub fn generate(&mut self, n: usize) -> Vec<Attack> {
        let total: u32 = CATEGORIES.iter().map(|(_, w)| w).sum();
        (0..n)
            .map(|_| {
                let mut pick = self.rng.random_range(0..total);
                let category = CATEGORIES
                    .iter()
                    .find(|(_, w)| {
                        if pick < *w {
                            true
                        } else {
                            pick -= w;
                            false
                        }
                    })
                    .map_or("unsigned", |(c, _)| c);
                self.one(category)
            })
            .collect()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    fn user(&mut self) -> String {
        match self.rng.random_range(0..4) {
            0 => OUTSIDER.into(),
            1 => REQUESTER.into(),
            2 => format!("U{:08X}", self.rng.random::<u32>()),
            _ => self
                .pick(&["", "U", "W0", "B0FAKEBOT1", "U0APP00001 ", "u0app00001", "<U0APP00001>"])
                .into(),
        }
    }

    /// A well-formed slash command body (fresh trigger id).
    fn command(&mut self, command: &str, text: &str) -> Vec<u8> {
        self.seq += 1;
        let user = if self.rng.random_bool(0.5) { REQUESTER.to_owned() } else { self.user() };
        SlashCommand::new(command, text, &user, AUDIT, "http://127.0.0.1:9/hooks/none")
            .with_team(&self.team)
            .with_trigger_id(&format!("{}.{}.abuse", self.seq, self.rng.random::<u32>()))
            .form_body()
            .into_bytes()
    }

    fn request_command(&mut self) -> Vec<u8> {
        self.command("/firefighter", "rw INC-42")
    }

    fn reaction(&mut self, user: &str, emoji: &str, channel: &str, ts: &str) -> Vec<u8> {
        self.seq += 1;
        let added = self.rng.random_bool(0.8);
        ReactionEvent::new(added, user, emoji, channel, ts)
            .with_team(&self.team)
            .with_event_id(&format!("EvAbuse{:010}", self.seq))
            .to_json(crate::fire::now_secs())
            .to_string()
            .into_bytes()
    }

    fn signed(&self) -> Signing {
        Signing::Signed { secret: None, offset: 0, tamper: None }
    }

    fn attack(
        &self,
        category: &'static str,
        path: &str,
        ctype: &'static str,
        body: Vec<u8>,
        signing: Signing,
    ) -> Attack {
        Attack { category, method: "POST", path: path.into(), content_type: ctype, body, signing }
    }

    /// A valid-looking body for either route, for the signature categories.
    fn any_body(&mut self) -> (String, &'static str, Vec<u8>) {
        if self.rng.random_bool(0.5) {
            ("/slack/commands".into(), FORM, self.request_command())
        } else {
            let ts = self.pending_ts.clone();
            ("/slack/events".into(), JSON, self.reaction(APPROVER1, APPROVE, AUDIT, &ts))
        }
    }

    fn one(&mut self, category: &'static str) -> Attack {
        match category {
            "unsigned" => {
                let (path, ct, body) = self.any_body();
                let (timestamp, signature) = match self.rng.random_range(0..3) {
                    0 => (false, false),
                    1 => (true, false),
                    _ => (false, true),
                };
                self.attack(category, &path, ct, body, Signing::Unsigned { timestamp, signature })
            }
            "wrong_secret" => {
                let (path, ct, body) = self.any_body();
                let secret = match self.rng.random_range(0..4) {
                    0 => String::new(),
                    1 => format!("{}x", self.signing_secret),
                    2 => self.signing_secret.to_uppercase(),
                    _ => format!("{:032x}", self.rng.random::<u128>()),
                };
                self.attack(
                    category,
                    &path,
                    ct,
                    body,
                    Signing::Signed { secret: Some(secret), offset: 0, tamper: None },
                )
            }
            "stale_timestamp" | "future_timestamp" => {
                let (path, ct, body) = self.any_body();
                let secs = match self.rng.random_range(0..3) {
                    0 => self.rng.random_range(301..400),
                    1 => self.rng.random_range(400..86_400),
                    _ => self.rng.random_range(86_400..1_000_000_000),
                };
                let offset = if category == "stale_timestamp" { -secs } else { secs };
                self.attack(
                    category,
                    &path,
                    ct,
                    body,
                    Signing::Signed { secret: None, offset, tamper: None },
                )
            }
            "bad_timestamp" => {
                let (path, ct, body) = self.any_body();
                let ts = self.pick(&[
                    "",
                    "abc",
                    "1e9",
                    " 1700000000",
                    "0x10",
                    "-1",
                    "0",
                    "+0",
                    "99999999999999999999",
                    "9223372036854775807",
                    "-99999999999999999999",
                    "1700000000.5",
                    "NaN",
                ]);
                self.attack(category, &path, ct, body, Signing::BadTimestamp(ts.into()))
            }
            "tampered_body" => {
                let (path, ct, body) = self.any_body();
                let at = self.rng.random_range(0..body.len().max(1));
                let bits = 1u8 << self.rng.random_range(0..8);
                self.attack(
                    category,
                    &path,
                    ct,
                    body,
                    Signing::Signed { secret: None, offset: 0, tamper: Some((at, bits)) },
                )
            }
            "oversized_body" => {
                let len = self.rng.random_range(64 * 1024 + 1..200 * 1024);
                let (path, ct) = if self.rng.random_bool(0.5) {
                    ("/slack/commands", FORM)
                } else {
                    ("/slack/events", JSON)
                };
                let mut body = self.request_command();
                body.extend(std::iter::repeat_n(b'a', len));
                let signing = self.signed();
                self.attack(category, path, ct, body, signing)
            }
            "malformed_form" => {
                let body: Vec<u8> = match self.rng.random_range(0..7) {
                    0 => (0..self.rng.random_range(1..300)).map(|_| self.rng.random::<u8>()).collect(),
                    1 => b"%%%%%&&&===".to_vec(),
                    2 => b"command=%2Ffirefighter&text=rw+INC-42".to_vec(),
                    3 => b"{\"command\":\"/firefighter\",\"text\":\"rw INC-42\"}".to_vec(),
                    4 => {
                        let mut b = self.request_command();
                        b.extend_from_slice(b"&command=%2Ffirefighter&user_id=U0APP00001");
                        b
                    }
                    5 => b"text=rw%20INC-42&user_id=&channel_id=&command=&trigger_id=&response_url=&team_id=&team_domain=&channel_name=&user_name=&api_app_id=".to_vec(),
                    _ => b"command=%E0%80%80&text=%FF%FE".to_vec(),
                };
                let signing = self.signed();
                self.attack(category, "/slack/commands", FORM, body, signing)
            }
            "malformed_json" => {
                let body: Vec<u8> = match self.rng.random_range(0..8) {
                    0 => (0..self.rng.random_range(1..300)).map(|_| self.rng.random::<u8>()).collect(),
                    1 => b"{\"type\":\"event_callback\",\"event\":".to_vec(),
                    2 => b"{\"type\":5,\"event_id\":[],\"event\":\"x\"}".to_vec(),
                    3 => format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
                    4 => b"\xEF\xBB\xBF{\"type\":\"event_callback\"}".to_vec(),
                    5 => b"{\"type\":\"event_callback\",\"event_id\":1e999999}".to_vec(),
                    6 => b"null".to_vec(),
                    _ => b"{\"type\":\"event_callback\",\"type\":\"url_verification\",\"challenge\":NaN}".to_vec(),
                };
                let signing = self.signed();
                self.attack(category, "/slack/events", JSON, body, signing)
            }
            "injection" | "unicode_trick" => {
                let level = self.pick(&["rw", "RW", "Rw"]);
                let text = if category == "injection" {
                    match self.rng.random_range(0..4) {
                        0 => format!("{level} {}", self.pick(INJECTIONS)),
                        1 => format!(
                            "{level} INC-4{} {}",
                            self.rng.random_range(0..10),
                            self.pick(DURATIONS)
                        ),
                        2 => {
                            format!("{level} INC-{}", "9".repeat(self.rng.random_range(9..20_000)))
                        }
                        // Past the 200-character cap of a command: a shorter tail after the
                        // duration is a reason (issue 17), which a request may carry.
                        _ => format!(
                            "{level} INC-42 1h {}",
                            "A".repeat(self.rng.random_range(200..30_000))
                        ),
                    }
                } else {
                    format!("{level} {}", self.pick(UNICODE))
                };
                let body = self.command("/firefighter", &text);
                let signing = self.signed();
                self.attack(category, "/slack/commands", FORM, body, signing)
            }
            "unknown_command" => {
                let cmd = self.pick(&[
                    "/firefightr",
                    "/firefighters",
                    "/fire",
                    "/sudo",
                    "",
                    "/",
                    "firefighter",
                    "/firefighter\u{200B}",
                    "/pgroles\u{0000}",
                    "/\u{0406}firefighter",
                ]);
                let text =
                    self.pick(&["rw INC-42", "ro INC-42", "grant rw", "approve", "frobnicate"]);
                let body = self.command(cmd, text);
                let signing = self.signed();
                self.attack(category, "/slack/commands", FORM, body, signing)
            }
            "odd_event" => {
                self.seq += 1;
                let id = format!("EvOdd{:010}", self.seq);
                let ts = self.pending_ts.clone();
                let body = match self.rng.random_range(0..7) {
                    0 => {
                        json!({"type": "event_callback", "event": {"type": "reaction_added", "user": APPROVER1, "reaction": APPROVE, "item": {"type": "message", "channel": AUDIT, "ts": ts}}})
                    }
                    1 => {
                        json!({"type": "event_callback", "event_id": id, "event": {"type": "message", "user": REQUESTER, "text": "/firefighter rw INC-42", "channel": AUDIT}})
                    }
                    2 => {
                        json!({"type": "event_callback", "event_id": id, "event": {"type": "reaction_added", "user": APPROVER1, "reaction": APPROVE, "item": {"type": "file", "file": "F1"}}})
                    }
                    3 => {
                        json!({"type": "event_callback", "event_id": id, "event": {"type": "reaction_added", "user": null, "reaction": APPROVE, "item": {"type": "message", "channel": AUDIT, "ts": ts}}})
                    }
                    4 => {
                        json!({"type": "url_verification", "challenge": "A".repeat(self.rng.random_range(1..20_000))})
                    }
                    5 => json!({"type": "app_rate_limited", "minute_rate_limited": 1}),
                    _ => {
                        json!({"type": "event_callback", "event_id": id, "event": {"type": "app_mention", "user": OUTSIDER, "text": "<@U0FAKEBOT1> rw INC-42"}})
                    }
                };
                let signing = self.signed();
                self.attack(category, "/slack/events", JSON, body.to_string().into_bytes(), signing)
            }
            "unknown_message_event" => {
                let ts = format!(
                    "{}.{:06}",
                    self.rng.random_range(1_000_000_000..1_900_000_000u64),
                    self.rng.random_range(0..1_000_000)
                );
                let channel = self.pick(&[AUDIT, OTHER_CHANNEL, "D0000001", "C0NOPE0001"]);
                let user = self.pick(&[APPROVER1, APPROVER2]);
                let body = self.reaction(user, APPROVE, channel, &ts);
                let signing = self.signed();
                self.attack(category, "/slack/events", JSON, body, signing)
            }
            "non_approver_reaction" => {
                let user = match self.rng.random_range(0..3) {
                    0 => OUTSIDER.to_owned(),
                    1 => REQUESTER.to_owned(),
                    _ => self.user(),
                };
                // The requester's deny is a cancel; only others get to try it.
                let emoji =
                    if user != REQUESTER && self.rng.random_bool(0.2) { DENY } else { APPROVE };
                let ts = self.pending_ts.clone();
                let body = self.reaction(&user, emoji, AUDIT, &ts);
                let signing = self.signed();
                self.attack(category, "/slack/events", JSON, body, signing)
            }
            _ => {
                let body = self.request_command();
                let signing = self.signed();
                let (method, path) = match self.rng.random_range(0..6) {
                    0 => ("GET", "/slack/commands"),
                    1 => ("PUT", "/slack/events"),
                    2 => ("POST", "/slack/COMMANDS"),
                    3 => ("POST", "/slack/commands/../events"),
                    4 => ("POST", "/slack/interactivity"),
                    _ => ("DELETE", "/healthz"),
                };
                Attack {
                    category: "wrong_route",
                    method,
                    path: path.into(),
                    content_type: FORM,
                    body,
                    signing,
                }
            }
        }
    }
}
