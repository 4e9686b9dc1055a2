//! The registry of configuration keys: section, name, type. From it come the `PGROLES_*`
//! variable names, the parsing of env values, the unknown-key check with its suggestion, and
//! the tests that keep `docs/configuration.md` and `pgroles.example.toml` complete.
//!
//! This module owns names and value parsing only; it reads no environment and no files.
//! Adding a field to a config struct means adding its line here (a unit test enforces it).

/// How a key's value is written in the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string with a default.
    Str,
    /// An optional string; an empty env value unsets it.
    OptStr,
    /// An optional secret; may also come from `<VAR>_FILE`. Empty unsets it.
    Secret,
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// A non-negative integer no greater than the bound.
    Int(i64),
    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    Bool,
    /// A list of strings, comma-separated in the environment.
    List,
}

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub section: &'static str,
    pub name: &'static str,
    pub kind: Kind,
}

impl Key {
    /// `section.name`, as written in docs and errors.
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }

    /// `PGROLES_SECTION_NAME`.
    pub fn env_var(&self) -> String {
        format!("PGROLES_{}_{}", self.section, self.name).to_ascii_uppercase()
    }

    /// The variables that can set it, for messages: `PGROLES_X` or `PGROLES_X / PGROLES_X_FILE`.
    pub fn env_hint(&self) -> String {
        let var = self.env_var();
        if self.kind == Kind::Secret {
            format!("{var} / {var}_FILE")
        } else {
            var
        }
    }
}

const U16: Kind = Kind::Int(u16::MAX as i64);
const U32: Kind = Kind::Int(u32::MAX as i64);
const U64: Kind = Kind::Int(i64::MAX);

const fn k(section: &'static str, name: &'static str, kind: Kind) -> Key {
    Key { section, name, kind }
}

/// The sections, in file order.
pub const SECTIONS: &[&str] =
    &["model", "apply", "database", "redis", "slack", "access", "aws", "server", "pagerduty"];

/// Every key of [`super::Config`].
pub const KEYS: &[Key] = &[
    k("model", "role_prefix", Kind::Str),
    k("model", "database", Kind::Str),
    k("model", "schema", Kind::Str),
    k("model", "owner", Kind::OptStr),
    k("model", "admin_schema", Kind::Str),
    k("model", "broker_connection_limit", U32),
    k("apply", "bootstrap_url", Kind::Secret),
    k("apply", "mode", Kind::Enum(&["auto", "aurora", "vanilla"])),
    k("apply", "iam_roles", Kind::List),
    k("database", "host", Kind::Str),
    k("database", "port", U16),
    k("database", "dbname", Kind::OptStr),
    k("database", "user", Kind::OptStr),
    k("database", "auth", Kind::Enum(&["password", "secrets-manager", "iam"])),
    k("database", "password", Kind::Secret),
    k("database", "secret_id", Kind::OptStr),
    k("database", "sslmode", Kind::Enum(&["disable", "require", "verify-full"])),
    k("database", "ca_file", Kind::OptStr),
    k("database", "pool_size", U32),
    k("database", "statement_timeout_ms", U64),
    k("database", "idle_timeout_secs", U64),
    k("database", "max_replicas", U32),
    k("database", "public_host", Kind::OptStr),
    k("database", "instances", Kind::List),
    k("database", "discover_cluster", Kind::OptStr),
    k("redis", "url", Kind::Str),
    k("redis", "key_prefix", Kind::Str),
    k("redis", "password", Kind::Secret),
    k("slack", "bot_token", Kind::Secret),
    k("slack", "signing_secret", Kind::Secret),
    k("slack", "app_token", Kind::Secret),
    k("slack", "socket_mode", Kind::Bool),
    k("slack", "api_url", Kind::Str),
    k("slack", "audit_channel", Kind::Str),
    k("slack", "approve_emoji", Kind::Str),
    k("slack", "deny_emoji", Kind::Str),
    k("slack", "verify_users", Kind::List),
    k("slack", "verify_channels", Kind::List),
    k("slack", "alert_group", Kind::OptStr),
    k("access", "incident_pattern", Kind::Str),
    k("access", "incident_example", Kind::Str),
    k("access", "approvers", Kind::List),
    k("access", "approver_group", Kind::OptStr),
    k("access", "admins", Kind::List),
    k("access", "approvals_ro", U32),
    k("access", "approvals_rw", U32),
    k("access", "default_duration_secs", U64),
    k("access", "max_duration_secs", U64),
    k("access", "approval_window_secs", U64),
    k("access", "reminder_before_secs", U64),
    k("access", "status_visibility", Kind::Enum(&["everyone", "approvers"])),
    k("access", "auto_approve_ro_schedules", Kind::List),
    k("access", "auto_approve_rw_schedules", Kind::List),
    k("access", "identity", Kind::Enum(&["per_person", "shared"])),
    k("access", "max_holders_per_level", U32),
    k("access", "require_reason_ro", Kind::Bool),
    k("access", "require_reason_rw", Kind::Bool),
    k("access", "break_glass", Kind::Enum(&["off", "after_timeout", "immediate"])),
    k("access", "break_glass_users", Kind::List),
    k("access", "break_glass_max_secs", U64),
    k("access", "break_glass_review_secs", U64),
    k("access", "break_glass_reminder_secs", U64),
    k("aws", "region", Kind::OptStr),
    k("aws", "endpoint_url", Kind::OptStr),
    k("server", "listen", Kind::Str),
    k("pagerduty", "api_url", Kind::Str),
    k("pagerduty", "token", Kind::Secret),
    k("pagerduty", "timeout_ms", U64),
];

/// `PGROLES_*` variables that are not configuration keys and must not be reported as typos.
/// Command-line options read from the environment (`env = ...` in `src/cli.rs` and the commands
/// it flattens) belong here too: `tests/cli_env.rs` checks that every one is.
pub const NON_CONFIG_VARS: &[&str] =
    &["PGROLES_CONFIG", "PGROLES_LOG", "PGROLES_LOG_FORMAT", "PGROLES_VERIFY_URL"];
/// Prefixes of `PGROLES_*` variables used by tests and scripts.
pub const NON_CONFIG_PREFIXES: &[&str] = &["PGROLES_TEST_", "PGROLES_BENCH_", "PGROLES_DEMO_"];

/// The key with this dotted name.
pub fn find(dotted: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.dotted() == dotted)
}

/// The closest of `candidates` to `wrong`, if it is close enough to be a plausible typo.
pub fn suggest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(wrong, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// Parses an environment value into the TOML value the key expects. `Ok(None)` unsets an
/// optional key. The error is the reason only; the caller names the variable.
pub fn parse_env_value(kind: Kind, raw: &str) -> Result<Option<toml::Value>, String> {
    let s = raw.trim();
    Ok(Some(match kind {
        Kind::Str => toml::Value::String(raw.to_string()),
        Kind::OptStr | Kind::Secret if s.is_empty() => return Ok(None),
        Kind::OptStr | Kind::Secret => toml::Value::String(raw.to_string()),
        Kind::Enum(allowed) => {
            let lower = s.to_ascii_lowercase();
            if !allowed.contains(&lower.as_str()) {
                return Err(format!("expected one of {}, got '{s}'", allowed.join(", ")));
            }
            toml::Value::String(lower)
        }
        Kind::Int(max) => match s.parse::<i64>() {
            Ok(n) if (0..=max).contains(&n) => toml::Value::Integer(n),
            _ => return Err(format!("expected an integer from 0 to {max}, got '{s}'")),
        },
        Kind::Bool => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => toml::Value::Boolean(true),
            "false" | "0" | "no" | "off" => toml::Value::Boolean(false),
            _ => return Err(format!("expected true or false, got '{s}'")),
        },
        Kind::List => toml::Value::Array(
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| toml::Value::String(x.to_string()))
                .collect(),
        ),
    }))
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
