//! The activity summary of a per-person login in its request's thread (issue 15): at expiry or
//! revocation, and for `/firefighter activity` while access is live.
//!
//! `12 statements: 8 select, 3 update (41 rows), 1 other; tables written: `public.orders`; top:`
//! then one line per statement. Statement texts and table names are written by the login's
//! holder (hostile): each goes in a code span, cut to a bound, with Slack's three control
//! characters entity-escaped (`<` can then open no mention, channel ping or link), backticks
//! replaced (the span cannot be closed early), control characters flattened and `://` broken
//! with a zero-width space (no auto-link). The whole summary is bounded too. Pure.

use crate::access::activity::{Availability, PersonActivity};

/// At most this many characters of one statement's text.
pub const MAX_STATEMENT_CHARS: usize = 160;
/// At most this many characters of one table name.
pub const MAX_TABLE_CHARS: usize = 80;
/// At most this many tables named; the rest are counted.
pub const MAX_TABLES: usize = 10;
/// At most this many characters in the whole summary.
pub const MAX_SUMMARY_CHARS: usize = 3000;

/// `s` entity-escaped for Slack mrkdwn: `&`, `<`, `>` (what Slack asks of message text).
pub fn escape_mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `s` as an inline code span that nothing in `s` can break out of: at most `max` characters
/// (then `…`), control characters as spaces, backticks as `'`, `&<>` escaped, no link.
pub fn code_span(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| match c {
            '`' => '\'',
            c if c.is_control() => ' ',
            // Bidirectional overrides and zero-width joiners could disguise the text.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' => ' ',
            c => c,
        })
        .collect();
    let flat = flat.trim();
    let cut: String = if flat.chars().count() > max {
        let mut t: String = flat.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    } else {
        flat.to_owned()
    };
    let body = if cut.is_empty() { " ".to_owned() } else { cut };
    format!("`{}`", escape_mrkdwn(&body).replace("://", ":\u{200B}//"))
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The summary for the thread; `None`-free: every state says something.
pub fn activity_summary(a: &PersonActivity) -> String {
    let who = code_span(&a.login, 63);
    let head = match &a.availability {
        Availability::NotAvailable { reason } => {
            return format!("Activity of {who}: not available ({}).", escape_mrkdwn(reason));
        }
        Availability::Partial { reason } => {
            format!(" (counts only: {})", escape_mrkdwn(reason))
        }
        Availability::Available => String::new(),
    };
    if a.statements() == 0 {
        return format!("Activity of {who}: no statements recorded{head}.");
    }
    let kinds: Vec<String> = a
        .kinds
        .iter()
        .map(|k| {
            if k.kind.writes() {
                format!("{} {} ({})", k.calls, k.kind.as_str(), plural(k.rows, "row", "rows"))
            } else {
                format!("{} {}", k.calls, k.kind.as_str())
            }
        })
        .collect();
    let mut out = format!(
        "Activity of {who}{head}: {}: {}; {} affected",
        plural(a.statements(), "statement", "statements"),
        kinds.join(", "),
        plural(a.rows_affected(), "row", "rows"),
    );
    if !a.tables_written.is_empty() {
        let mut names: Vec<String> = a
            .tables_written
            .iter()
            .take(MAX_TABLES)
            .map(|t| code_span(&t.table, MAX_TABLE_CHARS))
            .collect();
        if a.tables_written.len() > MAX_TABLES {
            names.push(format!("{} more", a.tables_written.len() - MAX_TABLES));
        }
        out.push_str(&format!("; tables written: {}", names.join(", ")));
    }
    if a.top.is_empty() {
        out.push('.');
        return out;
    }
    out.push_str("; top:");
    for s in &a.top {
        let line = format!(
            "\n• {} ({}, {}, {:.1} ms)",
            code_span(&s.text, MAX_STATEMENT_CHARS),
            plural(s.calls, "call", "calls"),
            plural(s.rows, "row", "rows"),
            s.total_ms
        );
        if out.chars().count() + line.chars().count() > MAX_SUMMARY_CHARS {
            out.push_str("\n• …");
            break;
        }
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
#[path = "activity_tests.rs"]
mod tests;
