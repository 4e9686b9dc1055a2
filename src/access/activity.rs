//! What one per-person firefighter login did in the application database (issue 15,
//! "Activity"): the summary `db_admin.person_activity` returns (`sql/59_person_activity.sql`),
//! as a domain value the broker fills and [`super::text::activity`] words for the thread.
//!
//! Owns the type and its invariants (kinds in a fixed order, the top list sorted and bounded).
//! Pure: no I/O. Statement texts and table names come from the database and are written by the
//! login's holder: they are data to escape, never markup (the text module does that).

/// The kinds the database function reports, in the order summaries list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
    Merge,
    /// Utility statements (SET, ALTER ROLE, DO, COPY, ...): counted, text never returned.
    Other,
}

impl StatementKind {
    pub const ALL: [StatementKind; 6] = [
        StatementKind::Select,
        StatementKind::Insert,
        StatementKind::Update,
        StatementKind::Delete,
        StatementKind::Merge,
        StatementKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatementKind::Select => "select",
            StatementKind::Insert => "insert",
            StatementKind::Update => "update",
            StatementKind::Delete => "delete",
            StatementKind::Merge => "merge",
            StatementKind::Other => "other",
        }
    }

    /// The database's spelling; anything else is `Other`.
    pub fn parse(s: &str) -> StatementKind {
        StatementKind::ALL.into_iter().find(|k| k.as_str() == s).unwrap_or(StatementKind::Other)
    }

    /// INSERT, UPDATE, DELETE, MERGE: their rows are rows affected.
    pub fn writes(self) -> bool {
        matches!(
            self,
            StatementKind::Insert
                | StatementKind::Update
                | StatementKind::Delete
                | StatementKind::Merge
        )
    }
}

/// Whether the summary could be read, and how completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// pg_stat_statements is installed and admin reads every login's statements.
    Available,
    /// Installed, but admin lacks `pg_read_all_stats`: counts only (everything is `Other`).
    Partial { reason: String },
    /// Not installed (or not loaded) in the database: nothing to summarise.
    NotAvailable { reason: String },
}

/// Calls and rows of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindCount {
    pub kind: StatementKind,
    pub calls: i64,
    pub rows: i64,
    pub total_ms: f64,
}

/// A table the login wrote to, as written in its statements (unquoted parts lower-cased).
#[derive(Debug, Clone, PartialEq)]
pub struct TableWritten {
    pub table: String,
    pub calls: i64,
    pub rows: i64,
}

/// One of the most called statements, as pg_stat_statements normalized it (constants are
/// `$n`; the database masked every other digit run and returned no text with a quote).
#[derive(Debug, Clone, PartialEq)]
pub struct TopStatement {
    pub kind: StatementKind,
    pub text: String,
    pub calls: i64,
    pub rows: i64,
    pub total_ms: f64,
}

/// The activity of one login in one database.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonActivity {
    pub login: String,
    pub availability: Availability,
    /// In [`StatementKind::ALL`] order, kinds without calls left out.
    pub kinds: Vec<KindCount>,
    /// Most rows first, then by name.
    pub tables_written: Vec<TableWritten>,
    /// Most calls first, then most time.
    pub top: Vec<TopStatement>,
}

impl PersonActivity {
    /// A summary with the given parts, put in the documented order.
    pub fn new(
        login: String,
        availability: Availability,
        mut kinds: Vec<KindCount>,
        mut tables_written: Vec<TableWritten>,
        mut top: Vec<TopStatement>,
    ) -> PersonActivity {
        kinds.retain(|k| k.calls > 0);
        kinds.sort_by_key(|k| k.kind);
        tables_written.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.table.cmp(&b.table)));
        top.sort_by(|a, b| {
            b.calls
                .cmp(&a.calls)
                .then_with(|| b.total_ms.total_cmp(&a.total_ms))
                .then_with(|| a.text.cmp(&b.text))
        });
        PersonActivity { login, availability, kinds, tables_written, top }
    }

    /// Every statement counted.
    pub fn statements(&self) -> i64 {
        self.kinds.iter().map(|k| k.calls).sum()
    }

    /// Rows inserted, updated, deleted or merged.
    pub fn rows_affected(&self) -> i64 {
        self.kinds.iter().filter(|k| k.kind.writes()).map(|k| k.rows).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(kind: StatementKind, calls: i64, rows: i64) -> KindCount {
        KindCount { kind, calls, rows, total_ms: 1.0 }
    }

    #[test]
    fn parts_are_ordered_and_totals_count_only_writes_as_affected() {
        let a = PersonActivity::new(
            "l".into(),
            Availability::Available,
            vec![
                kind(StatementKind::Other, 2, 0),
                kind(StatementKind::Update, 3, 41),
                kind(StatementKind::Select, 12, 500),
                kind(StatementKind::Merge, 0, 0),
            ],
            vec![],
            vec![],
        );
        let order: Vec<_> = a.kinds.iter().map(|k| k.kind).collect();
        assert_eq!(order, [StatementKind::Select, StatementKind::Update, StatementKind::Other]);
        assert_eq!(a.statements(), 17);
        assert_eq!(a.rows_affected(), 41);
        assert_eq!(StatementKind::parse("merge"), StatementKind::Merge);
        assert_eq!(StatementKind::parse("MERGE; drop"), StatementKind::Other);
    }
}
