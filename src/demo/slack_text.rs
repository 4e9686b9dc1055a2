//! Slack messages as a person reads them in the client, for the demo's transcript: Block Kit
//! blocks rendered as plain lines, `<@U…>` mentions and `<#C…>` links replaced by names, mrkdwn
//! escapes undone, code blocks indented, the approve/deny emoji shown as emoji, and a delivered
//! password masked.
//!
//! Pure functions, no I/O. Masking is the one job here that matters for safety: anything that
//! looks like the DM's password line is cut to its first four characters before it is printed.

use regex::{Captures, Regex};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Display names of the workspace's users and channels.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: BTreeMap<String, String>,
    channels: BTreeMap<String, String>,
}

impl Directory {
    pub fn user(mut self, id: &str, name: &str) -> Directory {
        self.users.insert(id.to_owned(), name.to_owned());
        self
    }

    pub fn channel(mut self, id: &str, name: &str) -> Directory {
        self.channels.insert(id.to_owned(), name.to_owned());
        self
    }

    /// `@alice` for a known user id, else `@<id>`.
    pub fn user_name(&self, id: &str) -> String {
        format!("@{}", self.users.get(id).map_or(id, String::as_str))
    }

    /// `#incident-audit` for a known channel id, else `#<id>`.
    pub fn channel_name(&self, id: &str) -> String {
        format!("#{}", self.channels.get(id).map_or(id, String::as_str))
    }

    /// The registered user ids.
    pub fn user_ids(&self) -> impl Iterator<Item = &String> {
        self.users.keys()
    }
}

/// What Slack shows for a message: its blocks when it has any, else its `text`.
/// `blocks` may be a JSON array or (form-encoded calls) a string holding one.
pub fn message_text(text: Option<&str>, blocks: Option<&Value>, dir: &Directory) -> String {
    let parsed;
    let blocks = match blocks {
        Some(Value::String(s)) => {
            parsed = serde_json::from_str::<Value>(s).ok();
            parsed.as_ref()
        }
        other => other,
    };
    let mut lines = Vec::new();
    if let Some(Value::Array(list)) = blocks {
        for block in list {
            block_lines(block, &mut lines);
        }
    }
    let raw = if lines.is_empty() { text.unwrap_or_default().to_owned() } else { lines.join("\n") };
    humanize(&raw, dir)
}

fn block_lines(block: &Value, out: &mut Vec<String>) {
    let text_of = |v: &Value| v.get("text").and_then(Value::as_str).map(str::to_owned);
    match block.get("type").and_then(Value::as_str) {
        Some("header") => out.extend(block.get("text").and_then(text_of)),
        Some("section") => {
            out.extend(block.get("text").and_then(text_of));
            if let Some(Value::Array(fields)) = block.get("fields") {
                out.extend(fields.iter().filter_map(text_of));
            }
        }
        Some("context") => {
            if let Some(Value::Array(elements)) = block.get("elements") {
                let parts: Vec<String> = elements.iter().filter_map(text_of).collect();
                out.push(parts.join(" · "));
            }
        }
        Some("divider") => out.push("────────".into()),
        Some("actions") => {
            if let Some(Value::Array(elements)) = block.get("elements") {
                let buttons: Vec<String> = elements
                    .iter()
                    .filter_map(|e| e.pointer("/text/text").and_then(Value::as_str))
                    .map(|label| format!("[ {label} ]"))
                    .collect();
                out.push(buttons.join(" "));
            }
        }
        _ => {}
    }
}

type Pattern = LazyLock<Option<Regex>>;

// Literal patterns, checked by the unit tests; `None` only if one were invalid.
static USER_LINK: Pattern = LazyLock::new(|| Regex::new(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>").ok());
static CHANNEL_LINK: Pattern =
    LazyLock::new(|| Regex::new(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>").ok());
static URL_LINK: Pattern = LazyLock::new(|| Regex::new(r"<(https?://[^|>]+)(?:\|([^>]*))?>").ok());
static PASSWORD_LINE: Pattern =
    LazyLock::new(|| Regex::new(r"(?i)(password:\s*`?)([A-Za-z0-9]{5,})(`?)").ok());

fn replace(re: &Pattern, s: &str, f: impl Fn(&Captures) -> String) -> String {
    match re.as_ref() {
        Some(re) => re.replace_all(s, |c: &Captures| f(c)).into_owned(),
        None => s.to_owned(),
    }
}

/// mrkdwn to what a reader sees: names for mentions and channels, link labels, unescaped
/// `&lt; &gt; &amp;`, emoji, code blocks on their own indented lines, passwords masked.
pub fn humanize(s: &str, dir: &Directory) -> String {
    let s = replace(&USER_LINK, s, |c| dir.user_name(&c[1]));
    let s = replace(&CHANNEL_LINK, &s, |c| match c.get(2) {
        Some(name) if !name.as_str().is_empty() => format!("#{}", name.as_str()),
        _ => dir.channel_name(&c[1]),
    });
    let s = replace(&URL_LINK, &s, |c| {
        c.get(2).map_or_else(|| c[1].to_owned(), |l| l.as_str().to_owned())
    });
    let s = s
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace(":white_check_mark:", "✅")
        .replace(":x:", "❌");
    mask_passwords(&code_blocks(&s))
}

/// "a```code```b" -> "a\n    code\nb": code blocks as indented lines, as the client sets them
/// apart.
fn code_blocks(s: &str) -> String {
    if !s.contains("```") {
        return s.to_owned();
    }
    let mut out = String::new();
    for (i, part) in s.split("```").enumerate() {
        if i % 2 == 1 {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            for line in part.trim_matches('\n').lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        } else {
            out.push_str(part.strip_prefix('\n').unwrap_or(part));
        }
    }
    out.trim_end().to_owned()
}

/// The first four characters and `…`: how the transcript shows a secret.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…")
}

/// Masks every `Password: \`…\`` value (fails closed: without its pattern nothing is shown).
pub fn mask_passwords(s: &str) -> String {
    match PASSWORD_LINE.as_ref() {
        Some(re) => re
            .replace_all(s, |c: &Captures| format!("{}{}{}", &c[1], mask(&c[2]), &c[3]))
            .into_owned(),
        None => "(message hidden: the password mask is unavailable)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dir() -> Directory {
        Directory::default()
            .user("U0ALICE001", "alice")
            .user("U0BOB00001", "bob")
            .channel("C0INCAUD01", "incident-audit")
    }

    #[test]
    fn mentions_channels_links_and_escapes_read_as_in_the_client() {
        let s = "<@U0ALICE001> asks <@U0BOB00001|bob> in <#C0INCAUD01> &lt;ok&gt; &amp; \
                 <https://x.example/a|the post> :white_check_mark: or :x: <@U0OTHER001>";
        assert_eq!(
            humanize(s, &dir()),
            "@alice asks @bob in #incident-audit <ok> & the post ✅ or ❌ @U0OTHER001"
        );
    }

    #[test]
    fn blocks_are_shown_instead_of_the_fallback_text() {
        let blocks = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "Body <@U0BOB00001>"}},
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "a"}, {"type": "mrkdwn", "text": "b"}]}
        ]);
        let shown = message_text(Some("fallback"), Some(&blocks), &dir());
        assert_eq!(shown, "Title\nBody @bob\n────────\na · b");
        let as_string = Value::String(blocks.to_string());
        assert_eq!(message_text(Some("fallback"), Some(&as_string), &dir()), shown);
        assert_eq!(message_text(Some("only text"), None, &dir()), "only text");
    }

    #[test]
    fn code_blocks_become_indented_lines() {
        assert_eq!(
            code_blocks("Connect with:\n```psql \"host=h\"```\nPassword: x"),
            "Connect with:\n    psql \"host=h\"\nPassword: x"
        );
    }

    #[test]
    fn a_delivered_password_is_masked_to_four_characters() {
        let text = "Password: `AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd`\n(paste it)";
        let shown = humanize(text, &dir());
        assert_eq!(shown, "Password: `AbCd…`\n(paste it)");
        assert!(!shown.contains("EfGh"));
        assert_eq!(mask("secret-value"), "secr…");
    }
}
