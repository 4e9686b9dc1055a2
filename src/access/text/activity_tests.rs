//! The activity summary's wording and its escaping of hostile statement text.

use super::*;
use crate::access::activity::{
    Availability, KindCount, PersonActivity, StatementKind, TableWritten, TopStatement,
};

fn kind(kind: StatementKind, calls: i64, rows: i64) -> KindCount {
    KindCount { kind, calls, rows, total_ms: 2.0 }
}

fn top(text: &str, calls: i64) -> TopStatement {
    TopStatement { kind: StatementKind::Select, text: text.into(), calls, rows: 1, total_ms: 1.25 }
}

fn activity(tables: Vec<TableWritten>, tops: Vec<TopStatement>) -> PersonActivity {
    PersonActivity::new(
        "my_pg_ff_rw_u0anna1_0badcafe".into(),
        Availability::Available,
        vec![kind(StatementKind::Select, 12, 90), kind(StatementKind::Update, 3, 41)],
        tables,
        tops,
    )
}

#[test]
fn the_summary_counts_kinds_rows_tables_and_lists_the_top_statements() {
    let a = activity(
        vec![TableWritten { table: "public.orders".into(), calls: 3, rows: 41 }],
        vec![top("SELECT * FROM public.orders WHERE id = $1", 12)],
    );
    assert_eq!(
        activity_summary(&a),
        "Activity of `my_pg_ff_rw_u0anna1_0badcafe`: 15 statements: 12 select, 3 update \
         (41 rows); 41 rows affected; tables written: `public.orders`; top:\n\
         • `SELECT * FROM public.orders WHERE id = $1` (12 calls, 1 row, 1.2 ms)"
    );
}

#[test]
fn not_available_partial_and_empty_say_so() {
    let mut a = activity(vec![], vec![]);
    a.availability = Availability::NotAvailable { reason: "pg_stat_statements <x>".into() };
    assert_eq!(
        activity_summary(&a),
        "Activity of `my_pg_ff_rw_u0anna1_0badcafe`: not available (pg_stat_statements &lt;x&gt;)."
    );
    a.availability = Availability::Partial { reason: "admin lacks pg_read_all_stats".into() };
    assert!(activity_summary(&a).contains("(counts only: admin lacks pg_read_all_stats): 15"));
    let empty = PersonActivity::new("l".into(), Availability::Available, vec![], vec![], vec![]);
    assert_eq!(activity_summary(&empty), "Activity of `l`: no statements recorded.");
}

#[test]
fn hostile_text_cannot_mention_link_or_leave_its_code_span() {
    let hostile = "SELECT 1 AS \"<!channel> <@U0BOSS> <https://evil.example|click>` *b* \
                   \n\u{202E}x http://evil.example\"";
    let a = activity(
        vec![TableWritten { table: "\"<!here>`\".t".into(), calls: 1, rows: 1 }],
        vec![top(hostile, 1)],
    );
    let s = activity_summary(&a);
    for bad in ["<!", "<@", "<http", "\u{202E}", "http://", "https://"] {
        assert!(!s.contains(bad), "{bad:?} in {s}");
    }
    assert_eq!(s.matches('<').count(), 0, "{s}");
    // Every backtick opens or closes one of our spans: an even number, none from the text.
    assert_eq!(s.matches('`').count() % 2, 0, "{s}");
    let statement_line = s.lines().last().unwrap();
    assert!(statement_line.starts_with("• `SELECT 1 AS \"&lt;!channel&gt; &lt;@U0BOSS&gt;"));
    assert_eq!(statement_line.matches('`').count(), 2, "{statement_line}");
}

#[test]
fn long_text_and_many_statements_are_bounded() {
    let long = format!("SELECT {}", "x, ".repeat(500));
    let span = code_span(&long, MAX_STATEMENT_CHARS);
    assert_eq!(span.chars().count(), MAX_STATEMENT_CHARS + 2);
    assert!(span.ends_with("…`"));
    let tables =
        (0..15).map(|i| TableWritten { table: format!("t{i:02}"), calls: 1, rows: 1 }).collect();
    let tops = (0..40).map(|i| top(&format!("{long} {i}"), 100 - i)).collect();
    let s = activity_summary(&activity(tables, tops));
    assert!(s.chars().count() <= MAX_SUMMARY_CHARS + 4, "{}", s.chars().count());
    assert!(s.ends_with("\n• …"));
    assert!(s.contains("`t09`, 5 more;"), "{s}");
    assert_eq!(code_span("", 10), "` `");
}
