//! Block Kit assembly: turns the access domain's plain sentences into Slack messages (a `text`
//! fallback plus blocks), cut to Slack's limits so that no post fails with `invalid_blocks` or
//! `msg_too_long`.
//!
//! Owns layout and truncation only. The wording lives in [`crate::access::text`] (or is passed
//! in by the workflow); this module must not decide anything, do I/O, or read the clock (times
//! are passed in). Secrets appear only in [`credentials`], whose output (a [`SecretMessage`],
//! zeroizing, never a [`Rendered`]) goes to one ephemeral DM.

use crate::access::text::{format_expiry, request_footer, request_text, request_title};
use crate::access::{ReactionEmojis, Request};
use crate::broker::TempPassword;
use crate::slack::secret_body::format_exact;
use crate::workflow::port::Reply;
use crate::workflow::{APPROVE_ACTION, DENY_ACTION, DONE_ACTION, EXTEND_ACTION, REVIEW_ACTION};
use chrono::{DateTime, Utc};
use slack_morphism::prelude::*;
use zeroize::Zeroizing;

/// Slack's limits (chat.postMessage, Block Kit).
pub const MAX_TEXT_CHARS: usize = 40_000;
pub const MAX_SECTION_CHARS: usize = 3_000;
pub const MAX_HEADER_CHARS: usize = 150;
pub const MAX_CONTEXT_CHARS: usize = 2_000;
pub const MAX_BLOCKS: usize = 50;

/// A message ready for `chat.postMessage`/`chat.update`/`chat.postEphemeral`/a response_url.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The notification and fallback text (always present).
    pub text: String,
    pub blocks: Vec<SlackBlock>,
}

impl Rendered {
    /// Plain text only, no blocks.
    pub fn text(text: &str) -> Rendered {
        Rendered { text: truncate(text, MAX_TEXT_CHARS), blocks: Vec::new() }
    }

    /// The text, plus the same text as section blocks (split at line ends to fit).
    pub fn sections(text: &str) -> Rendered {
        Rendered { text: truncate(text, MAX_TEXT_CHARS), blocks: section_blocks(text) }
    }

    /// A slash-command answer body: `{"response_type": "ephemeral"|"in_channel", text, blocks}`.
    pub fn response_json(&self, in_channel: bool) -> serde_json::Value {
        let mut body = serde_json::json!({
            "response_type": if in_channel { "in_channel" } else { "ephemeral" },
            "text": self.text,
        });
        if !self.blocks.is_empty() {
            body["blocks"] = serde_json::to_value(&self.blocks).unwrap_or_default();
        }
        body
    }
}

impl From<&Reply> for Rendered {
    /// The workflow's reply laid out for Slack, cut to its limits.
    fn from(reply: &Reply) -> Rendered {
        match reply {
            Reply::Text(text) => Rendered::text(text),
            Reply::Sections(text) => Rendered::sections(text),
            Reply::Blocks { text, blocks } => {
                Rendered { text: text.clone(), blocks: blocks.clone() }
            }
            Reply::Nothing => Rendered { text: String::new(), blocks: Vec::new() },
        }
    }
}

/// Cuts `s` to at most `max` characters (never inside a character), ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max || s.chars().count() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(1);
    let mut out: String = s.chars().take(keep).collect();
    out.push('…');
    out
}

/// Text as mrkdwn sections of at most [`MAX_SECTION_CHARS`], split at line ends when possible,
/// at most [`MAX_BLOCKS`] blocks (the last one says that the rest was cut).
/// The App Home view's blocks: per section a header, its text as sections, a divider.
pub fn home_blocks(sections: &[(String, String)]) -> Vec<SlackBlock> {
    let mut blocks = Vec::new();
    for (heading, text) in sections {
        blocks.push(header(heading));
        blocks.extend(section_blocks(text));
        blocks.push(SlackBlock::Divider(SlackDividerBlock::new()));
    }
    blocks
}

pub fn section_blocks(text: &str) -> Vec<SlackBlock> {
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = truncate(line, MAX_SECTION_CHARS);
        let needed = current.chars().count() + line.chars().count() + 1;
        if !current.is_empty() && needed > MAX_SECTION_CHARS {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.trim().is_empty() {
        chunks.push(current);
    }
    if chunks.len() > MAX_BLOCKS {
        chunks.truncate(MAX_BLOCKS - 1);
        chunks.push("(cut to fit Slack's limits)".into());
    }
    chunks.into_iter().filter(|c| !c.trim().is_empty()).map(|c| section(&c)).collect()
}

fn section(text: &str) -> SlackBlock {
    let text = SlackBlockMarkDownText::new(truncate(text, MAX_SECTION_CHARS));
    SlackBlock::Section(SlackSectionBlock::new().with_text(SlackBlockText::MarkDown(text)))
}

fn header(text: &str) -> SlackBlock {
    let plain = SlackBlockPlainText::new(truncate(text, MAX_HEADER_CHARS));
    SlackBlock::Header(SlackHeaderBlock::new(plain.into()))
}

fn context(text: &str) -> SlackBlock {
    let el = SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(truncate(
        text,
        MAX_CONTEXT_CHARS,
    )));
    SlackBlock::Context(SlackContextBlock::new(vec![el]))
}

/// The request message in the audit channel, for the request's current state.
pub fn request_message(
    req: &Request,
    emojis: &ReactionEmojis,
    approvers_hint: &str,
    now: DateTime<Utc>,
) -> Rendered {
    let body = request_text(req, emojis, now);
    let mut blocks = vec![header(&request_title(req)), section(&body)];
    if matches!(req.state(), crate::access::RequestState::Pending) {
        blocks.push(decision_buttons(req.id().as_str()));
    } else if req.awaits_review() {
        blocks.push(review_button(req.id().as_str()));
    }
    blocks.push(context(&request_footer(req, approvers_hint)));
    Rendered { text: truncate(&body, MAX_TEXT_CHARS), blocks }
}

/// Approve and Deny, while a request waits: the same decision as the reactions.
/// The reminder DM: its text, and the holder's buttons for that grant: "I'm done" and
/// "Extend 30m" (value `<level>` or `<level>|<target>`; no secret).
pub fn reminder(text: &str, level: &str, target: Option<&str>) -> Rendered {
    let value = match target {
        Some(t) => format!("{level}|{t}"),
        None => level.to_owned(),
    };
    let button = |action: &str, label: &str| {
        SlackActionBlockElement::Button(
            SlackBlockButtonElement::new(SlackBlockPlainText::new(label.into()).into())
                .with_action_id(SlackActionId(action.into()))
                .with_value(value.clone()),
        )
    };
    let minutes = crate::workflow::EXTEND_BUTTON_SECS / 60;
    let actions = SlackBlock::Actions(
        SlackActionsBlock::new(vec![
            button(DONE_ACTION, "I'm done"),
            button(EXTEND_ACTION, &format!("Extend {minutes}m")),
        ])
        .with_block_id(SlackBlockId("pgroles_holder".into())),
    );
    Rendered { text: truncate(text, MAX_TEXT_CHARS), blocks: vec![section(text), actions] }
}

/// A break-glass grant's Reviewed button, until an approver presses it (or reacts).
fn review_button(request_id: &str) -> SlackBlock {
    let button = SlackBlockButtonElement::new(SlackBlockPlainText::new("Reviewed".into()).into())
        .with_action_id(SlackActionId(REVIEW_ACTION.into()))
        .with_value(request_id.to_owned())
        .with_style(SlackBlockButtonStyle::Primary);
    SlackBlock::Actions(
        SlackActionsBlock::new(vec![SlackActionBlockElement::Button(button)])
            .with_block_id(SlackBlockId("pgroles_review".into())),
    )
}

fn decision_buttons(request_id: &str) -> SlackBlock {
    let button = |action: &str, label: &str, style| {
        SlackActionBlockElement::Button(
            SlackBlockButtonElement::new(SlackBlockPlainText::new(label.into()).into())
                .with_action_id(SlackActionId(action.into()))
                .with_value(request_id.to_owned())
                .with_style(style),
        )
    };
    SlackBlock::Actions(
        SlackActionsBlock::new(vec![
            button(APPROVE_ACTION, "Approve", SlackBlockButtonStyle::Primary),
            button(DENY_ACTION, "Deny", SlackBlockButtonStyle::Danger),
        ])
        .with_block_id(SlackBlockId("pgroles_decision".into())),
    )
}

/// Where and how to connect: what the DM shows next to the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectInfo {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub role: String,
    /// `verify-full` in production.
    pub sslmode: String,
}

impl ConnectInfo {
    /// `psql "host=… port=… dbname=… user=… sslmode=…"` (no password in it).
    pub fn psql(&self) -> String {
        format!(
            "psql \"host={} port={} dbname={} user={} sslmode={}\"",
            self.host, self.port, self.dbname, self.role, self.sslmode
        )
    }
}

/// A message that carries a secret (the password DM). Its text is also its one section block,
/// so there is a single buffer: zeroizing, allocated once at its exact size. No `Clone`,
/// `Display` or `Serialize`; `Debug` is redacted. Sent only by
/// [`crate::slack::client::SlackApi::post_ephemeral_secret`].
pub struct SecretMessage {
    text: Zeroizing<String>,
}

impl SecretMessage {
    /// The text (fallback and section). Do not log it or copy it into a plain `String`.
    pub fn expose_text(&self) -> &str {
        &self.text
    }

    /// The buffer itself, for tests that check its type and that it never grew.
    pub fn zeroizing_text(&self) -> &Zeroizing<String> {
        &self.text
    }
}

impl std::fmt::Debug for SecretMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretMessage(<redacted>)")
    }
}

/// The ephemeral DM carrying the password: the psql string, the password on its own line, the
/// expiry in UTC and relative. The only rendering that ever contains a secret.
///
/// The text fits one section block (3000 characters): only the part before the password (the
/// incident and connection details, which carry no secret) is cut if it ever had to be.
pub fn credentials(
    level: &str,
    incident: &str,
    info: &ConnectInfo,
    password: &TempPassword,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SecretMessage {
    const TAIL: &str = "(paste it when psql asks, or put it in PGPASSWORD for this shell only). \
                        Do not share it; it stops working when the access ends.";
    let head = format!(
        "Your {level} access for {incident} is ready. It ends at {}.\n\
         Connect with:\n```{}```",
        format_expiry(expires_at, now),
        info.psql(),
    );
    let secret = password.expose_for_delivery();
    // "\nPassword: `" + secret + "`\n" + TAIL, all ASCII.
    let rest = 1 + "Password: `".len() + secret.len() + 2 + TAIL.len();
    let head = truncate(&head, MAX_SECTION_CHARS.saturating_sub(rest));
    SecretMessage { text: format_exact(format_args!("{head}\nPassword: `{secret}`\n{TAIL}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("", 3), "");
    }

    #[test]
    fn long_text_is_split_into_sections_within_limits() {
        let line = "x".repeat(1000);
        let text = vec![line; 400].join("\n");
        let blocks = section_blocks(&text);
        assert!(blocks.len() <= MAX_BLOCKS);
        let json = serde_json::to_value(&blocks).unwrap();
        for b in json.as_array().unwrap() {
            let n = b["text"]["text"].as_str().unwrap().chars().count();
            assert!((1..=MAX_SECTION_CHARS).contains(&n), "{n}");
        }
    }

    #[test]
    fn one_very_long_line_is_cut_to_one_section() {
        let blocks = section_blocks(&"y".repeat(10_000));
        assert_eq!(blocks.len(), 1);
    }

    #[test]
    fn response_json_is_ephemeral_unless_asked() {
        let r = Rendered::sections("hello");
        assert_eq!(r.response_json(false)["response_type"], "ephemeral");
        assert_eq!(r.response_json(true)["response_type"], "in_channel");
        assert_eq!(r.response_json(false)["blocks"][0]["type"], "section");
    }

    #[test]
    fn psql_string_names_every_connection_parameter() {
        let info = ConnectInfo {
            host: "db.example".into(),
            port: 5432,
            dbname: "app".into(),
            role: "pgroles_firefighter_ro".into(),
            sslmode: "verify-full".into(),
        };
        assert_eq!(
            info.psql(),
            "psql \"host=db.example port=5432 dbname=app user=pgroles_firefighter_ro \
             sslmode=verify-full\""
        );
    }

    fn info() -> ConnectInfo {
        ConnectInfo {
            host: "db.example".into(),
            port: 5432,
            dbname: "app".into(),
            role: "pgroles_firefighter_ro".into(),
            sslmode: "verify-full".into(),
        }
    }

    #[test]
    fn credentials_are_one_zeroizing_buffer_with_a_redacted_debug() {
        let p = TempPassword::generate();
        let now = Utc::now();
        let msg = credentials("ro", "INC-42", &info(), &p, now + chrono::Duration::hours(1), now);
        let text: &Zeroizing<String> = msg.zeroizing_text();
        assert_eq!(text.capacity(), text.len(), "allocated once, never grown");
        assert!(text.contains(&format!("\nPassword: `{}`\n", p.expose_for_delivery())));
        assert!(text.starts_with("Your ro access for INC-42 is ready."));
        assert!(text.contains(&info().psql()));
        assert_eq!(format!("{msg:?}"), "SecretMessage(<redacted>)");
    }

    #[test]
    fn credentials_fit_one_section_and_only_the_details_are_ever_cut() {
        let p = TempPassword::generate();
        let now = Utc::now();
        let long = ConnectInfo { host: "h".repeat(5_000), ..info() };
        let msg = credentials("rw", "INC-1", &long, &p, now, now);
        let text = msg.expose_text();
        assert!(text.chars().count() <= MAX_SECTION_CHARS, "{}", text.len());
        assert!(text.contains(&format!("Password: `{}`", p.expose_for_delivery())));
        assert!(text.ends_with("it stops working when the access ends."));
        assert!(text.contains('…'));
    }
}
