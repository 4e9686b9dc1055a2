//! Unit tests of the history formats: bounds, CSV quoting and formula guard, terminal safety.

use super::*;
use chrono::TimeZone;

fn row(incident: &str, requester: &str) -> HistoryRow {
    let at = Utc.with_ymd_and_hms(2026, 12, 5, 19, 3, 0).unwrap();
    HistoryRow {
        id: 7,
        at,
        event: "issue".into(),
        role: "my_pg_ff_ro_u0anna1_0badcafe".into(),
        level: Some("ro".into()),
        person: Some("U0ANNA1".into()),
        incident: Some(incident.into()),
        requester: Some(requester.into()),
        approvers: vec!["U0BEN22".into(), "U0CAT33".into()],
        expires_at: Some(at + chrono::Duration::minutes(30)),
        ends_at: Some(at + chrono::Duration::minutes(30)),
        sessions_ended: None,
        actor: "my_pg_password_broker".into(),
        login_outcome: None,
    }
}

#[test]
fn query_bounds_are_the_databases() {
    let q = HistoryQuery::new(Some(i64::MAX), None, Some(String::new()), Some(-5)).unwrap();
    assert_eq!((q.days, q.max_rows, q.user), (MAX_DAYS, 1, None));
    let q = HistoryQuery::new(None, Some("INC-1".into()), None, None).unwrap();
    assert_eq!((q.days, q.max_rows), (DEFAULT_DAYS, DEFAULT_ROWS));
    assert!(HistoryQuery::new(None, Some("x".repeat(201)), None, None).is_err());
    assert!(HistoryQuery::new(None, None, Some("é".repeat(200)), None).is_ok());
}

#[test]
fn csv_cells_that_a_spreadsheet_would_run_are_prefixed_and_quoted() {
    assert_eq!(csv_cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
    for bad in ["+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
        let cell = csv_cell(bad);
        assert!(cell.starts_with("\"'"), "{bad:?} -> {cell}");
    }
    assert_eq!(csv_cell("INC-123"), "INC-123");
    assert_eq!(csv_cell("a,b"), "\"a,b\"");
    assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    assert_eq!(csv_cell(""), "");
}

#[test]
fn csv_has_a_header_and_one_guarded_line_per_row() {
    let out = render(&[row("=cmd|' /C calc'!A0", "U0ANNA1")], HistoryFormat::Csv);
    let lines: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(lines[0], CSV_HEADER.join(","));
    assert!(lines[1].contains(",\"'=cmd|' /C calc'!A0\","), "{}", lines[1]);
    assert!(lines[1].contains(",U0BEN22 U0CAT33,"), "{}", lines[1]);
    assert!(lines[1].starts_with("7,2026-12-05T19:03:00Z,issue,"), "{}", lines[1]);
    assert_eq!(lines.len(), 3, "header, one row, the final empty split");
}

#[test]
fn json_is_an_array_of_objects_with_utc_stamps() {
    let out = render(&[row("INC-1", "U0ANNA1")], HistoryFormat::Json);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["at"], "2026-12-05T19:03:00Z");
    assert_eq!(v[0]["approvers"][1], "U0CAT33");
    assert_eq!(v[0]["sessions_ended"], Value::Null);
}

#[test]
fn text_shows_no_control_characters() {
    let out = render(&[row("INC-1\u{1b}[2J\r", "U0\u{202E}X")], HistoryFormat::Text);
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert!(out.contains("INC-1\\u{1b}[2J\\u{d}"), "{out}");
    assert!(out.contains("approved by U0BEN22, U0CAT33"), "{out}");
    assert_eq!(render(&[], HistoryFormat::Text), "No firefighter history in this window.\n");
    assert_eq!(HistoryFormat::parse("CSV"), Some(HistoryFormat::Csv));
    assert_eq!(HistoryFormat::parse("xml"), None);
}
