//! The firefighter history as people read it after the fact (issue 17): the rows of
//! `db_admin.firefighter_history` and their rendering as text (a terminal), JSON (tools) or CSV
//! (a spreadsheet for the auditor).
//!
//! Owns the row type, the query bounds ([`HistoryQuery`], clamped exactly as the database
//! clamps them) and the three formats. Pure: no I/O, no clock. Text a caller once stored
//! (incident, requester) is treated as hostile: control characters never reach a terminal,
//! and a CSV cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) is
//! prefixed with `'` and quoted ([`csv_cell`]).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// The window in days and the number of rows, as `firefighter_history` clamps them.
pub const DEFAULT_DAYS: i32 = 7;
pub const MAX_DAYS: i32 = 366;
pub const DEFAULT_ROWS: i32 = 100;
pub const MAX_ROWS: i32 = 1000;
/// The longest incident or user filter the database accepts.
pub const MAX_FILTER_CHARS: usize = 200;

/// One audit row, with the per-person login's level, owner and end where it is about one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `issue`, `expire`, `terminate` or `extend`.
    pub event: String,
    pub role: String,
    pub level: Option<String>,
    /// Whose access it is (the per-person login's owner, or an issue row's requester).
    pub person: Option<String>,
    pub incident: Option<String>,
    /// Who asked (issue) or who ended it (expire, terminate).
    pub requester: Option<String>,
    pub approvers: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub sessions_ended: Option<i32>,
    /// The database login that wrote the row (the broker).
    pub actor: String,
    /// How the per-person login ended: `dropped`, `disabled`, `gone`; `None` while live.
    pub login_outcome: Option<String>,
}

/// What to read: the last `days` days, optionally one incident or one user, at most `max_rows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub days: i32,
    pub incident: Option<String>,
    pub user: Option<String>,
    pub max_rows: i32,
}

impl HistoryQuery {
    /// A query with the bounds applied (days 1..=366, rows 1..=1000) and filters checked.
    pub fn new(
        days: Option<i64>,
        incident: Option<String>,
        user: Option<String>,
        max_rows: Option<i64>,
    ) -> Result<HistoryQuery, String> {
        for (name, f) in [("incident", &incident), ("user", &user)] {
            if f.as_ref().is_some_and(|f| f.chars().count() > MAX_FILTER_CHARS) {
                return Err(format!("the {name} filter is longer than {MAX_FILTER_CHARS}"));
            }
        }
        let clamp = |v: Option<i64>, default: i32, max: i32| {
            v.map_or(default, |v| v.clamp(1, i64::from(max)) as i32)
        };
        Ok(HistoryQuery {
            days: clamp(days, DEFAULT_DAYS, MAX_DAYS),
            incident: incident.filter(|s| !s.is_empty()),
            user: user.filter(|s| !s.is_empty()),
            max_rows: clamp(max_rows, DEFAULT_ROWS, MAX_ROWS),
        })
    }
}

/// How to print the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryFormat {
    Text,
    Json,
    Csv,
}

impl HistoryFormat {
    pub fn parse(s: &str) -> Option<HistoryFormat> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Some(HistoryFormat::Text),
            "json" => Some(HistoryFormat::Json),
            "csv" => Some(HistoryFormat::Csv),
            _ => None,
        }
    }
}

/// The rows in `format`, ending with a newline.
pub fn render(rows: &[HistoryRow], format: HistoryFormat) -> String {
    match format {
        HistoryFormat::Text => text(rows),
        HistoryFormat::Json => json_text(rows),
        HistoryFormat::Csv => csv(rows),
    }
}

fn stamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_stamp(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(stamp).unwrap_or_default()
}

/// `s` for a terminal: every control or format character (escape sequences, CR, bidi marks)
/// shown as `\u{..}`.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let invisible = matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
        if c.is_control() || invisible {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// What happened, in words, for the text format.
fn what(r: &HistoryRow) -> String {
    let safe = |o: &Option<String>| terminal_safe(o.as_deref().unwrap_or("?"));
    match r.event.as_str() {
        "issue" => {
            let approved = if r.approvers.is_empty() {
                "no approver recorded".to_string()
            } else {
                format!("approved by {}", terminal_safe(&r.approvers.join(", ")))
            };
            format!(
                "issued to {} (asked by {}), {approved}, until {}",
                safe(&r.person),
                safe(&r.requester),
                opt_stamp(&r.ends_at.or(r.expires_at))
            )
        }
        "terminate" => format!(
            "{} session(s) ended by {}{}",
            r.sessions_ended.unwrap_or(0),
            safe(&r.requester),
            r.login_outcome
                .as_ref()
                .map(|o| format!(", login {}", terminal_safe(o)))
                .unwrap_or_default()
        ),
        "expire" => format!("password expired by {}", safe(&r.requester)),
        "extend" => format!(
            "extended by {} until {}",
            safe(&r.requester),
            opt_stamp(&r.ends_at.or(r.expires_at))
        ),
        other => terminal_safe(other),
    }
}

fn text(rows: &[HistoryRow]) -> String {
    if rows.is_empty() {
        return "No firefighter history in this window.\n".to_string();
    }
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!(
            "{}  {:<9}  {:<2}  {:<12}  {}  [{}]\n",
            stamp(&r.at),
            terminal_safe(&r.event),
            r.level.as_deref().map(terminal_safe).unwrap_or_else(|| "-".into()),
            r.incident.as_deref().map(terminal_safe).unwrap_or_else(|| "-".into()),
            what(r),
            terminal_safe(&r.role),
        ));
    }
    out
}

fn row_json(r: &HistoryRow) -> Value {
    json!({
        "id": r.id, "at": stamp(&r.at), "event": r.event, "role": r.role, "level": r.level,
        "person": r.person, "incident": r.incident, "requester": r.requester,
        "approvers": r.approvers, "expires_at": r.expires_at.as_ref().map(stamp),
        "ends_at": r.ends_at.as_ref().map(stamp), "sessions_ended": r.sessions_ended,
        "actor": r.actor, "login_outcome": r.login_outcome,
    })
}

fn json_text(rows: &[HistoryRow]) -> String {
    let list: Vec<Value> = rows.iter().map(row_json).collect();
    let mut s = serde_json::to_string_pretty(&Value::Array(list)).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 14] = [
    "id",
    "at",
    "event",
    "role",
    "level",
    "person",
    "incident",
    "requester",
    "approvers",
    "expires_at",
    "ends_at",
    "sessions_ended",
    "actor",
    "login_outcome",
];

/// One CSV cell (RFC 4180), guarded against formula injection: a cell starting with `=`, `+`,
/// `-`, `@`, tab or CR is prefixed with `'` (a spreadsheet then shows it as text); a cell with
/// a comma, quote, CR, LF or the prefix is quoted, inner quotes doubled.
pub fn csv_cell(raw: &str) -> String {
    let guarded = raw.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let cell = if guarded { format!("'{raw}") } else { raw.to_string() };
    if guarded || cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

fn csv(rows: &[HistoryRow]) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for r in rows {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let cells = [
            r.id.to_string(),
            stamp(&r.at),
            r.event.clone(),
            r.role.clone(),
            opt(&r.level),
            opt(&r.person),
            opt(&r.incident),
            opt(&r.requester),
            r.approvers.join(" "),
            opt_stamp(&r.expires_at),
            opt_stamp(&r.ends_at),
            r.sessions_ended.map(|n| n.to_string()).unwrap_or_default(),
            r.actor.clone(),
            opt(&r.login_outcome),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
