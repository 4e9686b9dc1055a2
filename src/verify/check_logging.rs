//! Whether the broker's statements would reach the server log with their bind parameters (the
//! SCRAM verifiers it sends): issue 8.
//!
//! Owns the judgement of the broker's effective logging parameters. Run as the broker (the
//! default), verify reads its own session values, which already combine the server's
//! configuration (an Aurora DB cluster parameter group), the database's and the role's settings.
//! Run as another login, it rebuilds them: the broker's stored settings (in this database, then
//! role-wide), then this database's, then the server's value when `pg_settings` says it comes
//! from the server; when it cannot tell, it says so.
//!
//! Pure: rows in, findings out.

use super::catalog::{ParamRow, SettingRow};
use super::check_roles::finding;
use super::check_settings::{alter_role, param_sql};
use super::findings::{ident, literal, Check, Finding, Severity};
use crate::model::expected::{Expected, BROKER_LOG_SETTINGS};

/// The parameters read (kept with the catalog query that reads them).
pub use super::catalog::LOGGING_PARAMS as PARAMS;

/// `pg_settings.source` values that mean "the server's own value", not a role's or database's.
const SERVER_SOURCES: &[&str] =
    &["default", "configuration file", "command line", "environment variable", "override"];

/// One stored value of `key` in `rows` for (role, database), if any.
fn stored<'a>(
    rows: &'a [SettingRow],
    role: Option<&str>,
    database: Option<&str>,
    key: &str,
) -> Option<&'a str> {
    rows.iter()
        .filter(|r| r.role.as_deref() == role && r.database.as_deref() == database)
        .flat_map(|r| r.config.iter())
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

/// A number as PostgreSQL stores it for these parameters (`-1`, `0`, `250ms`, `0.5`); units
/// do not matter here, only the sign and zero.
fn number(v: &str) -> Option<f64> {
    let v = v.trim();
    let end = v
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && *c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(v.len());
    v[..end].parse().ok()
}

/// The broker's effective value of `key`, or None when verify cannot tell.
fn effective(
    exp: &Expected,
    params: &[ParamRow],
    rows: &[SettingRow],
    as_broker: bool,
    key: &str,
) -> Option<String> {
    let param = params.iter().find(|p| p.name == key);
    if as_broker {
        return param.and_then(|p| p.setting.clone());
    }
    let broker = exp.names.broker();
    let db = exp.names.database.as_str();
    stored(rows, Some(&broker), Some(db), key)
        .or_else(|| stored(rows, Some(&broker), None, key))
        .or_else(|| stored(rows, None, Some(db), key))
        .map(str::to_string)
        .or_else(|| {
            param
                .filter(|p| p.source.as_deref().is_some_and(|s| SERVER_SOURCES.contains(&s)))
                .and_then(|p| p.setting.clone())
        })
}

/// What would put the broker's parameters into the log, as `key = value` texts (empty: none).
/// None when a deciding value is unknown.
fn leaks(value: impl Fn(&str) -> Option<String>) -> Option<Vec<String>> {
    let num = |key: &str| -> Option<f64> { value(key).as_deref().and_then(number) };
    let show = |key: &str| format!("{key} = {}", value(key).unwrap_or_default());
    let mut out = Vec::new();
    if num("log_parameter_max_length")? != 0.0 {
        let mut logged = Vec::new();
        if value("log_statement")?.trim() == "all" {
            logged.push(show("log_statement"));
        }
        if num("log_min_duration_statement")? >= 0.0 {
            logged.push(show("log_min_duration_statement"));
        }
        if num("log_min_duration_sample")? >= 0.0 && num("log_statement_sample_rate")? > 0.0 {
            logged.push(show("log_min_duration_sample"));
        }
        if num("log_transaction_sample_rate")? > 0.0 {
            logged.push(show("log_transaction_sample_rate"));
        }
        if !logged.is_empty() {
            logged.push(show("log_parameter_max_length"));
        }
        out.extend(logged);
    }
    if num("log_parameter_max_length_on_error")? != 0.0 {
        out.push(show("log_parameter_max_length_on_error"));
    }
    Some(out)
}

/// A critical finding when the broker's statements would be logged with their parameters;
/// a low one when verify, not running as the broker, cannot tell.
pub fn broker_logging(
    exp: &Expected,
    params: &[ParamRow],
    rows: &[SettingRow],
    session_user: &str,
) -> Vec<Finding> {
    let broker = exp.names.broker();
    let as_broker = session_user == broker;
    let value = |key: &str| effective(exp, params, rows, as_broker, key);
    let fix = BROKER_LOG_SETTINGS
        .iter()
        .map(|(k, v)| {
            format!("{} SET {} = {};", alter_role(&broker, None), param_sql(k), literal(v))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let fix = format!(
        "-- as a superuser (or a login granted SET ON PARAMETER; on Aurora, where the master may \
         not, set log_parameter_max_length = 0 and log_parameter_max_length_on_error = 0 in the \
         DB cluster parameter group)\n{fix}"
    );
    let object = format!("server log of role {}", ident(&broker));
    match leaks(value) {
        Some(found) if found.is_empty() => Vec::new(),
        Some(found) => vec![finding(
            Severity::Critical,
            Check::BrokerLogging,
            object,
            &broker,
            "the broker's statements never logged with their parameters".into(),
            format!("logged with parameters: {}", found.join(", ")),
            fix,
        )],
        None => vec![finding(
            Severity::Low,
            Check::BrokerLogging,
            object,
            &broker,
            "the broker's effective logging settings known".into(),
            format!(
                "unknown: verify ran as {}, not as the broker, and a logging parameter comes \
                 from its own role or database settings",
                ident(session_user)
            ),
            "-- run pgroles verify as the broker (its default connection)".into(),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn leaks_of(pairs: &[(&str, &str)]) -> Option<Vec<String>> {
        let mut m: BTreeMap<&str, &str> = [
            ("log_statement", "none"),
            ("log_min_duration_statement", "-1"),
            ("log_min_duration_sample", "-1"),
            ("log_statement_sample_rate", "1"),
            ("log_transaction_sample_rate", "0"),
            ("log_parameter_max_length", "-1"),
            ("log_parameter_max_length_on_error", "0"),
            ("log_error_verbosity", "default"),
        ]
        .into_iter()
        .collect();
        m.extend(pairs.iter().copied());
        leaks(|k| m.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn statements_logged_with_parameters_leak_unless_parameters_are_cut_to_zero() {
        assert_eq!(leaks_of(&[]), Some(vec![]));
        assert_eq!(leaks_of(&[("log_statement", "all")]).unwrap().len(), 2);
        assert_eq!(leaks_of(&[("log_min_duration_statement", "0")]).unwrap().len(), 2);
        assert_eq!(leaks_of(&[("log_transaction_sample_rate", "0.01")]).unwrap().len(), 2);
        let cut = [("log_statement", "all"), ("log_parameter_max_length", "0")];
        assert_eq!(leaks_of(&cut), Some(vec![]));
        assert_eq!(leaks_of(&[("log_parameter_max_length_on_error", "-1")]).unwrap().len(), 1);
    }

    #[test]
    fn numbers_read_with_units_and_signs() {
        assert_eq!(number("-1"), Some(-1.0));
        assert_eq!(number("250ms"), Some(250.0));
        assert_eq!(number("0.5"), Some(0.5));
        assert_eq!(number("x"), None);
    }
}
