//! Slack Block Kit rendering of a verify report, as a pure function producing blocks.
//!
//! Stays inside Slack's limits whatever the report holds: at most [`MAX_BLOCKS`] blocks, section
//! text at most [`MAX_SECTION_CHARS`] characters, header text at most [`MAX_HEADER_CHARS`]. Many
//! findings are summarised: counts, the worst `top` findings, then "and N more". Text is
//! escaped for mrkdwn (`&`, `<`, `>`). Must not post anything: the Slack client does that.

use super::check_settings::describe_session;
use super::findings::Finding;
use super::report::Report;
use serde_json::{json, Value};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_CHARS: usize = 3000;
pub const MAX_HEADER_CHARS: usize = 150;
/// How many findings are shown by default.
pub const DEFAULT_TOP: usize = 20;
/// Blocks besides the findings: header, summary, divider, "and N more", sessions.
const FIXED_BLOCKS: usize = 5;

/// Escapes the three characters mrkdwn treats as control sequences.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Cuts `s` to at most `max` characters, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    // Do not leave half an entity (`&am`) behind.
    if let Some(amp) = out.rfind('&') {
        if !out[amp..].contains(';') {
            out.truncate(amp);
        }
    }
    out.push('…');
    out
}

fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate(text, MAX_SECTION_CHARS) }
    })
}

fn finding_text(f: &Finding) -> String {
    let role = f.role.as_deref().map(|r| format!(" · role `{}`", escape(r))).unwrap_or_default();
    let mut head = format!(
        "*{}* · {} · {}{role}\n",
        f.severity.as_str().to_uppercase(),
        escape(f.check.as_str()),
        escape(&f.object)
    );
    if let Some(list) = &f.objects {
        if list.count > 1 {
            let more =
                if list.more > 0 { format!(" and {} more", list.more) } else { String::new() };
            head.push_str(&truncate(
                &format!("objects: {}{more}\n", escape(&list.names.join(", "))),
                600,
            ));
        }
    }
    head.push_str(&truncate(&format!("expected: {}\n", escape(&f.expected)), 500));
    head.push_str(&truncate(&format!("actual: {}\n", escape(&f.actual)), 800));
    // The fix goes last, in a code block that always closes.
    let budget = MAX_SECTION_CHARS.saturating_sub(head.chars().count() + 8);
    format!("{head}```{}```", truncate(&escape(&f.fix), budget))
}

/// The blocks for `report`, showing at most `top` findings (worst first).
pub fn blocks(report: &Report, top: usize) -> Vec<Value> {
    let title = if report.findings.is_empty() {
        format!("pgroles verify: no drift in {}", report.database)
    } else {
        format!("pgroles verify: {} in {}", report.headline(), report.database)
    };
    let mut out = vec![
        json!({
            "type": "header",
            "text": { "type": "plain_text", "text": truncate(&title, MAX_HEADER_CHARS) }
        }),
        section(&format!(
            "{}\nPostgreSQL {} · database `{}` · schema `{}` · {} objects checked · {} open firefighter session(s)",
            escape(&report.headline()),
            escape(&report.server_version),
            escape(&report.database),
            escape(&report.schema),
            report.summary.objects_checked,
            report.sessions.len()
        )),
    ];
    if !report.findings.is_empty() {
        out.push(json!({ "type": "divider" }));
    }
    let shown = top.min(MAX_BLOCKS - FIXED_BLOCKS);
    for f in report.findings.iter().take(shown) {
        out.push(section(&finding_text(f)));
    }
    let hidden = report.findings.len().saturating_sub(shown);
    if hidden > 0 {
        out.push(json!({
            "type": "context",
            "elements": [{
                "type": "mrkdwn",
                "text": format!("…and {hidden} more finding(s): run `pgroles verify` for the full list")
            }]
        }));
    }
    if !report.sessions.is_empty() {
        let lines: Vec<String> = report
            .sessions
            .iter()
            .map(|s| format!("• `{}` {}", escape(&s.role), escape(&describe_session(s))))
            .collect();
        out.push(section(&format!("*Open firefighter sessions*\n{}", lines.join("\n"))));
    }
    if !report.unreachable_instances.is_empty() {
        let list: Vec<String> =
            report.unreachable_instances.iter().map(|i| format!("`{}`", escape(i))).collect();
        out.push(section(&format!(
            "*Instances whose sessions could not be listed*: {}",
            list.join(", ")
        )));
    }
    out.truncate(MAX_BLOCKS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_and_never_splits_an_entity() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ab&amp;cd", 5), "ab…");
        assert_eq!(truncate("ééééé", 3).chars().count(), 3);
    }

    #[test]
    fn mrkdwn_control_characters_are_escaped() {
        assert_eq!(escape("<a> & b"), "&lt;a&gt; &amp; b");
    }
}
