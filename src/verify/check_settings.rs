//! Checks of roles' settings and state: every stored setting of every model role (the section
//! 10 guardrails, search_path compared as identifiers (G4), and nothing else, role-wide or in any
//! database: issue 5), and the firefighters' state: password validity at most 2 hours ahead, and
//! sessions open without an active grant.
//!
//! Pure: catalog rows, the expected model and the current time in, findings out.

use super::catalog::{RoleRow, Session, SettingRow};
use super::check_roles::finding;
use super::findings::{ident, literal, Check, Finding, Severity};
use crate::model::expected::{Expected, SettingValue, MAX_FIREFIGHTER_VALIDITY_SECS};
use chrono::{DateTime, Utc};

/// Clock difference tolerated between this host and the server when judging VALID UNTIL.
const CLOCK_SLACK_SECS: i64 = 60;

/// Milliseconds of a time setting (`5min`, `5s`, `300000`), for comparing equivalent values.
fn millis(v: &str) -> Option<f64> {
    let v = v.trim();
    let split = v.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    Some(n * factor)
}

/// Splits a stored identifier list (`"my-schema", public`) into names, unquoting.
pub fn identifier_list(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c if c.is_whitespace() && !quoted => {}
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// A stored value equals the expected one (time values by value, search_path as identifiers).
fn matches(value: &SettingValue, stored: &str) -> bool {
    match value {
        SettingValue::Plain(v) => {
            stored == *v || (millis(stored).is_some() && millis(stored) == millis(v))
        }
        SettingValue::Identifiers(ids) => identifier_list(stored) == *ids,
    }
}

/// The value as SQL (`'5min'`, `"s", "public"`).
fn value_sql(value: &SettingValue) -> String {
    match value {
        SettingValue::Plain(v) => literal(v),
        SettingValue::Identifiers(ids) => {
            ids.iter().map(|i| ident(i)).collect::<Vec<_>>().join(", ")
        }
    }
}

/// A parameter name as SQL: each dotted part quoted (`"pgaudit"."log"`), so that a name the
/// attacker chose cannot break out of the fix statement.
pub fn param_sql(key: &str) -> String {
    key.split('.').map(ident).collect::<Vec<_>>().join(".")
}

/// `ALTER ROLE "r" [IN DATABASE "d"]`.
pub fn alter_role(role: &str, database: Option<&str>) -> String {
    match database {
        Some(db) => format!("ALTER ROLE {} IN DATABASE {}", ident(role), ident(db)),
        None => format!("ALTER ROLE {}", ident(role)),
    }
}

fn scope(database: Option<&str>) -> String {
    match database {
        Some(db) => format!("in database {}", ident(db)),
        None => "in every database (role-wide)".into(),
    }
}

/// Every stored setting of every model role, compared with [`Expected::settings`]: missing,
/// extra or different values, role-wide (`setdatabase = 0`) or in any database. A role can
/// change its own defaults (`ALTER ROLE CURRENT_USER SET ...`, applied at its next login, so a
/// firefighter's reaches the next holder); a setting on the broker itself is critical.
pub fn role_settings(exp: &Expected, rows: &[SettingRow]) -> Vec<Finding> {
    let model = exp.names.all_roles();
    let broker = exp.names.broker();
    let specs = exp.settings();
    let mut out = Vec::new();
    let mut seen: Vec<(&str, Option<&str>, &str)> = Vec::new();
    for row in rows {
        let Some(role) = row.role.as_deref().filter(|r| model.iter().any(|m| m == r)) else {
            continue;
        };
        let db = row.database.as_deref();
        for kv in &row.config {
            let (key, stored) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            let spec = specs
                .iter()
                .find(|s| s.role == role && s.database.as_deref() == db && s.key == key);
            let object = format!("setting {key} of role {} {}", ident(role), scope(db));
            let severity = |otherwise| if role == broker { Severity::Critical } else { otherwise };
            match spec {
                Some(spec) => {
                    seen.push((&spec.role, spec.database.as_deref(), spec.key));
                    if matches(&spec.value, stored) {
                        continue;
                    }
                    out.push(finding(
                        severity(Severity::High),
                        Check::Guardrail,
                        object,
                        role,
                        format!("{key} = {}", value_sql(&spec.value)),
                        format!("{key} = {stored}"),
                        format!(
                            "{} SET {} = {};",
                            alter_role(role, db),
                            param_sql(key),
                            value_sql(&spec.value)
                        ),
                    ));
                }
                None => out.push(finding(
                    severity(Severity::High),
                    Check::RoleSetting,
                    object,
                    role,
                    "not set".into(),
                    format!("{key} = {stored}"),
                    format!("{} RESET {};", alter_role(role, db), param_sql(key)),
                )),
            }
        }
    }
    for spec in specs.iter().filter(|s| !s.optional) {
        let db = spec.database.as_deref();
        if seen.contains(&(spec.role.as_str(), db, spec.key)) {
            continue;
        }
        out.push(finding(
            Severity::Medium,
            Check::Guardrail,
            format!("setting {} of role {} {}", spec.key, ident(&spec.role), scope(db)),
            &spec.role,
            format!("{} = {}", spec.key, value_sql(&spec.value)),
            "not set".into(),
            format!(
                "{} SET {} = {};",
                alter_role(&spec.role, db),
                param_sql(spec.key),
                value_sql(&spec.value)
            ),
        ));
    }
    out
}

fn hours_minutes(secs: i64) -> String {
    let mins = (secs + 30) / 60;
    match (mins / 60, mins % 60) {
        (h, 0) => format!("{h}h"),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h {m}m"),
    }
}

/// Firefighter passwords valid for more than 2 hours, and sessions open without a grant.
pub fn firefighters(
    exp: &Expected,
    roles: &[RoleRow],
    sessions: &[Session],
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let schema = ident(&exp.names.admin_schema);
    let mut out = Vec::new();
    for role in exp.firefighters() {
        let Some(row) = roles.iter().find(|r| r.name == role) else {
            continue;
        };
        let expire = format!("SELECT {schema}.expire_firefighter_password({});", literal(&role));
        let left = row.valid_until.map(|t| (t - now).num_seconds());
        if row.valid_forever {
            out.push(finding(
                Severity::High,
                Check::FirefighterPassword,
                format!("role {}", ident(&role)),
                &role,
                "password valid for at most 2h".into(),
                "password valid forever (VALID UNTIL infinity)".into(),
                expire.clone(),
            ));
        } else if let Some(left) =
            left.filter(|l| *l > MAX_FIREFIGHTER_VALIDITY_SECS + CLOCK_SLACK_SECS)
        {
            out.push(finding(
                Severity::High,
                Check::FirefighterPassword,
                format!("role {}", ident(&role)),
                &role,
                "password valid for at most 2h".into(),
                format!(
                    "password valid for {} (until {})",
                    hours_minutes(left),
                    row.valid_until.map(|t| t.to_rfc3339()).unwrap_or_default()
                ),
                expire.clone(),
            ));
        }
        let active = row.valid_forever || left.is_some_and(|l| l > 0);
        let open: Vec<&Session> = sessions.iter().filter(|s| s.role == role).collect();
        if active || open.is_empty() {
            continue;
        }
        out.push(finding(
            Severity::Critical,
            Check::FirefighterSession,
            format!("sessions of role {}", ident(&role)),
            &role,
            "no open session without an active grant".into(),
            format!(
                "{} open session(s) while the password is {}: {}",
                open.len(),
                match row.valid_until {
                    Some(t) => format!("expired (since {})", t.to_rfc3339()),
                    None => "not issued (VALID UNTIL unset)".into(),
                },
                open.iter().map(|s| describe_session(s)).collect::<Vec<_>>().join("; ")
            ),
            format!("SELECT {schema}.terminate_firefighter_sessions({});", literal(&role)),
        ));
    }
    out
}

/// `pid 123 from 10.0.0.5 since 2026-...Z (idle)`.
pub fn describe_session(s: &Session) -> String {
    let on = s.instance.as_deref().map(|i| format!(" on instance {i}")).unwrap_or_default();
    format!(
        "pid {}{on} from {} since {} ({})",
        s.pid,
        s.client_addr.as_deref().unwrap_or("local socket"),
        s.since.map(|t| t.to_rfc3339()).unwrap_or_else(|| "?".into()),
        s.state.as_deref().unwrap_or("unknown")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_lists_are_unquoted() {
        assert_eq!(
            identifier_list("\"my-pg-db-schema\", public"),
            vec!["my-pg-db-schema", "public"]
        );
        assert_eq!(identifier_list("\"a\"\"b\",c"), vec!["a\"b", "c"]);
        // G4: a string with quotes inside is one odd name, not the schema.
        assert_eq!(identifier_list("\"\"\"s\"\"\", public"), vec!["\"s\"", "public"]);
    }

    #[test]
    fn parameter_names_chosen_by_a_role_cannot_break_out_of_the_fix() {
        assert_eq!(param_sql("statement_timeout"), "\"statement_timeout\"");
        assert_eq!(param_sql("pgaudit.log"), "\"pgaudit\".\"log\"");
        assert_eq!(param_sql("x\"; DROP ROLE y; --"), "\"x\"\"; DROP ROLE y; --\"");
        assert_eq!(alter_role("r", Some("d\"b")), "ALTER ROLE \"r\" IN DATABASE \"d\"\"b\"");
    }

    #[test]
    fn every_setting_outside_the_model_is_reported_and_the_brokers_is_critical() {
        let n = crate::model::Names::default();
        let exp = Expected::new(&n, 150000);
        let row = |role: String, database: Option<&str>, kv: &[&str]| SettingRow {
            role: Some(role),
            database: database.map(str::to_string),
            config: kv.iter().map(|s| s.to_string()).collect(),
        };
        let ro = n.firefighter(crate::model::Level::Ro);
        let rw = n.firefighter(crate::model::Level::Rw);
        let db = Some(n.database.as_str());
        let mut rows = vec![
            row(
                ro.clone(),
                db,
                &["statement_timeout=300s", "idle_in_transaction_session_timeout=2min"],
            ),
            row(
                rw.clone(),
                db,
                &[
                    "statement_timeout=5min",
                    "lock_timeout=5s",
                    "idle_in_transaction_session_timeout=2min",
                ],
            ),
            row(n.app(), db, &["search_path=\"my-pg-db-schema\", public"]),
            row(n.migrator(), db, &["search_path=\"my-pg-db-schema\", public"]),
            row(n.broker(), None, &["log_statement=none", "log_parameter_max_length=0"]),
            row("someone_else".into(), None, &["work_mem=1GB"]),
        ];
        assert!(role_settings(&exp, &rows).is_empty(), "{:#?}", role_settings(&exp, &rows));
        rows.push(row(ro.clone(), None, &["statement_timeout=0"]));
        rows.push(row(n.broker(), Some("postgres"), &["DateStyle=SQL, MDY"]));
        rows[4].config[0] = "log_statement=all".into();
        let f = role_settings(&exp, &rows);
        assert_eq!(f.len(), 3, "{f:#?}");
        assert!(f.iter().any(|f| f.check == Check::RoleSetting
            && f.severity == Severity::High
            && f.fix == format!("ALTER ROLE {} RESET \"statement_timeout\";", ident(&ro))));
        assert!(f.iter().any(|f| f.severity == Severity::Critical
            && f.check == Check::Guardrail
            && f.fix.ends_with("SET \"log_statement\" = 'none';")));
        assert!(f.iter().any(|f| f.severity == Severity::Critical
            && f.fix.contains("IN DATABASE \"postgres\" RESET \"DateStyle\"")));
        rows.retain(|r| r.role.as_deref() != Some(rw.as_str()));
        let f = role_settings(&exp, &rows);
        assert_eq!(f.iter().filter(|f| f.severity == Severity::Medium).count(), 3, "{f:#?}");
    }

    #[test]
    fn time_settings_compare_by_value() {
        assert_eq!(millis("5min"), millis("300s"));
        assert_eq!(millis("300000"), millis("5min"));
        assert_ne!(millis("5s"), millis("5min"));
    }

    #[test]
    fn durations_read_as_hours_and_minutes() {
        assert_eq!(hours_minutes(3 * 3600 - 5), "3h");
        assert_eq!(hours_minutes(2 * 3600 + 30 * 60), "2h 30m");
    }
}
