//! The result of one verification and its renderings: human-readable text (grouped by
//! severity) and the stable JSON document described in `docs/verify-json.md`. Also the exit
//! code mapping: 0 clean, 1 drift, 2 could not verify.
//!
//! Pure: builds and renders, no I/O. Must not run checks.

use super::catalog::Session;
use super::check_settings::describe_session;
use super::findings::{Finding, Severity};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt::Write as _;

/// Version of the JSON document; bumped on any incompatible change.
pub const JSON_VERSION: u32 = 1;

/// Exit code: the database matches the model.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: drift found.
pub const EXIT_DRIFT: u8 = 1;
/// Exit code: could not verify (connection, permissions, wrong database).
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Clean,
    Drift,
}

/// Finding counts by severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    /// Tables, views, sequences and routines examined in the two schemas.
    pub objects_checked: u64,
    pub open_firefighter_sessions: usize,
}

/// One verification of one database.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub status: Status,
    pub generated_at: DateTime<Utc>,
    pub server_version: String,
    pub database: String,
    pub schema: String,
    pub summary: Summary,
    /// Worst first.
    pub findings: Vec<Finding>,
    /// Every open firefighter session (drift or not), on the other instances too.
    pub sessions: Vec<Session>,
    /// Other instances whose sessions could not be listed (`host:port`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreachable_instances: Vec<String>,
}

impl Report {
    /// Builds a report; sorts findings worst first (then by check and object).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        generated_at: DateTime<Utc>,
        server_version: String,
        database: String,
        schema: String,
        mut findings: Vec<Finding>,
        sessions: Vec<Session>,
        objects_checked: u64,
    ) -> Report {
        findings.sort_by(|a, b| {
            (a.severity, a.check, &a.object, &a.role)
                .cmp(&(b.severity, b.check, &b.object, &b.role))
        });
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let summary = Summary {
            total: findings.len(),
            critical: count(Severity::Critical),
            high: count(Severity::High),
            medium: count(Severity::Medium),
            low: count(Severity::Low),
            objects_checked,
            open_firefighter_sessions: sessions.len(),
        };
        Report {
            version: JSON_VERSION,
            status: if findings.is_empty() { Status::Clean } else { Status::Drift },
            generated_at,
            server_version,
            database,
            schema,
            summary,
            findings,
            sessions,
            unreachable_instances: Vec::new(),
        }
    }

    /// 0 when clean, 1 when there is drift. (2, could not verify, comes from an error.)
    pub fn exit_code(&self) -> u8 {
        if self.findings.is_empty() {
            EXIT_CLEAN
        } else {
            EXIT_DRIFT
        }
    }

    /// `3 findings: 1 critical, 2 high` or `no drift`.
    pub fn headline(&self) -> String {
        if self.findings.is_empty() {
            return "no drift: the database matches the role model".into();
        }
        let parts: Vec<String> = Severity::ALL
            .into_iter()
            .map(|s| (s, self.findings.iter().filter(|f| f.severity == s).count()))
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        format!(
            "{} finding{}: {}",
            self.findings.len(),
            if self.findings.len() == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| error_json(&e.to_string(), self.generated_at))
    }

    /// Human-readable text, grouped by severity.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pgroles verify: database {:?}, schema {:?}, PostgreSQL {}, {}",
            self.database,
            self.schema,
            self.server_version,
            self.generated_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        let _ =
            writeln!(out, "{} ({} objects checked)", self.headline(), self.summary.objects_checked);
        for sev in Severity::ALL {
            let group: Vec<&Finding> = self.findings.iter().filter(|f| f.severity == sev).collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{} ({})", sev.as_str().to_uppercase(), group.len());
            for f in group {
                write_finding(&mut out, f);
            }
        }
        if !self.sessions.is_empty() {
            let _ = writeln!(out, "\nOpen firefighter sessions:");
            for s in &self.sessions {
                let _ = writeln!(out, "  {}: {}", s.role, describe_session(s));
            }
        }
        if !self.unreachable_instances.is_empty() {
            let list = self.unreachable_instances.join(", ");
            let _ = writeln!(out, "\nInstances whose sessions could not be listed: {list}");
        }
        out
    }
}

fn write_finding(out: &mut String, f: &Finding) {
    let role = f.role.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default();
    let _ = writeln!(out, "- {}{role} ({})", f.object, f.check.as_str());
    if let Some(list) = &f.objects {
        if list.count > 1 {
            let more =
                if list.more > 0 { format!(" and {} more", list.more) } else { String::new() };
            let _ = writeln!(out, "    objects:  {}{more}", list.names.join(", "));
        }
    }
    let _ = writeln!(out, "    expected: {}", f.expected);
    let _ = writeln!(out, "    actual:   {}", f.actual);
    let mut lines = f.fix.lines();
    if let Some(first) = lines.next() {
        let _ = writeln!(out, "    fix:      {first}");
        for l in lines {
            let _ = writeln!(out, "              {l}");
        }
    }
}

/// The JSON document for "could not verify".
pub fn error_json(reason: &str, at: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "version": JSON_VERSION,
        "status": "error",
        "generated_at": at,
        "error": reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::findings::Check;

    fn finding(sev: Severity, object: &str) -> Finding {
        Finding {
            severity: sev,
            check: Check::SchemaAcl,
            object: object.into(),
            role: Some("PUBLIC".into()),
            expected: "nothing".into(),
            actual: "CREATE".into(),
            fix: "REVOKE CREATE ON SCHEMA \"s\" FROM PUBLIC CASCADE;".into(),
            objects: None,
        }
    }

    #[test]
    fn findings_sort_worst_first_and_exit_code_is_one() {
        let r = Report::new(
            Utc::now(),
            "16.4".into(),
            "db".into(),
            "s".into(),
            vec![finding(Severity::Low, "a"), finding(Severity::Critical, "b")],
            vec![],
            3,
        );
        assert_eq!(r.findings[0].severity, Severity::Critical);
        assert_eq!(r.exit_code(), EXIT_DRIFT);
        assert_eq!(r.summary.critical, 1);
        let json = r.to_json();
        assert_eq!(json["version"], 1);
        assert_eq!(json["status"], "drift");
        assert_eq!(json["findings"][0]["severity"], "critical");
        assert!(r.to_text().contains("CRITICAL (1)"));
    }

    #[test]
    fn clean_report_exits_zero() {
        let r = Report::new(Utc::now(), "17".into(), "d".into(), "s".into(), vec![], vec![], 0);
        assert_eq!(r.exit_code(), EXIT_CLEAN);
        assert_eq!(r.to_json()["status"], "clean");
    }
}
