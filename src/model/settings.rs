//! The role settings the model expects (`ALTER ROLE ... [IN DATABASE ...] SET`): the section 10
//! guardrails in the application database and the broker's role-wide logging settings. Every
//! other stored setting of a model role is drift (issue 5).
//!
//! Owns the expected state only, like [`super::expected`]; `sql/60_guardrails.sql` creates it.

use super::expected::Expected;
use super::Level;

/// The value of a role setting (`ALTER ROLE ... [IN DATABASE ...] SET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    /// A plain value as stored (`5min`).
    Plain(&'static str),
    /// A list of identifiers (search_path), compared element by element (G4).
    Identifiers(Vec<String>),
}

/// One expected role setting. Every other setting of a model role, in any database or
/// role-wide, is drift: any role may change its own defaults, so `verify` is the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingSpec {
    pub role: String,
    /// `None`: role-wide (`ALTER ROLE ... SET`, `pg_db_role_setting.setdatabase = 0`).
    pub database: Option<String>,
    pub key: &'static str,
    pub value: SettingValue,
    /// Absent is not drift: the server may enforce the value instead (the broker's logging
    /// settings, which an Aurora master may have to leave to the DB cluster parameter group;
    /// verify judges their effective values separately). A different value still is drift.
    pub optional: bool,
}

/// Role-wide settings of the broker that keep its statements, their bind parameters (SCRAM
/// verifiers) and the context of its errors out of the server log (issue 8). Superuser-only
/// parameters, but `log_parameter_max_length_on_error` (user-settable): `sql/60_guardrails.sql`
/// sets exactly these, as the bootstrap DBA.
pub const BROKER_LOG_SETTINGS: &[(&str, &str)] = &[
    ("log_statement", "none"),
    ("log_min_duration_statement", "-1"),
    ("log_min_duration_sample", "-1"),
    ("log_transaction_sample_rate", "0"),
    ("log_parameter_max_length", "0"),
    ("log_parameter_max_length_on_error", "0"),
    ("log_error_verbosity", "terse"),
];

impl Expected {
    /// Every setting a model role has: the section 10 guardrails in the application database
    /// and the broker's role-wide logging settings. Nothing else, anywhere.
    pub fn settings(&self) -> Vec<SettingSpec> {
        let n = &self.names;
        let ro = n.firefighter(Level::Ro);
        let rw = n.firefighter(Level::Rw);
        let db = Some(n.database.clone());
        let plain = |role: &String, key: &'static str, v: &'static str| SettingSpec {
            role: role.clone(),
            database: db.clone(),
            key,
            value: SettingValue::Plain(v),
            optional: false,
        };
        let path = |role: String| SettingSpec {
            role,
            database: db.clone(),
            key: "search_path",
            value: SettingValue::Identifiers(vec![n.schema.clone(), "public".into()]),
            optional: false,
        };
        let broker_log = BROKER_LOG_SETTINGS.iter().map(|(key, v)| SettingSpec {
            role: n.broker(),
            database: None,
            key,
            value: SettingValue::Plain(v),
            optional: true,
        });
        let mut out = vec![
            plain(&ro, "statement_timeout", "5min"),
            plain(&ro, "idle_in_transaction_session_timeout", "2min"),
            plain(&rw, "statement_timeout", "5min"),
            plain(&rw, "lock_timeout", "5s"),
            plain(&rw, "idle_in_transaction_session_timeout", "2min"),
            path(n.app()),
            path(n.migrator()),
        ];
        out.extend(broker_log);
        out
    }
}

#[cfg(test)]
mod broker_log_tests {
    use super::*;

    #[test]
    fn the_guardrail_script_sets_exactly_the_broker_log_settings() {
        let script = super::super::render::FILES
            .iter()
            .find(|f| f.name == "60_guardrails.sql")
            .expect("60_guardrails.sql is embedded")
            .text;
        for (key, value) in BROKER_LOG_SETTINGS {
            assert!(script.contains(&format!("['{key}', '{value}']")), "{key} = {value}");
        }
        assert_eq!(script.matches("['log_").count(), BROKER_LOG_SETTINGS.len());
    }
}
