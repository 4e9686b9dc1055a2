//! Configuration errors: each renders as ONE line that names the offending key and, where
//! there is one, the `PGROLES_*` variable that sets it.
//!
//! This module only describes errors; it decides nothing and reads nothing.

use std::path::PathBuf;

/// Why a configuration could not be loaded or is unfit for a command.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type.
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    /// A key the configuration does not have (a typo, usually).
    #[error("{file}: unknown key '{key}'{}", suggestion_text(.suggestion))]
    UnknownKey { file: String, key: String, suggestion: Option<String> },
    /// An environment variable holds an unusable value.
    #[error("{var}: {message}")]
    Env { var: String, message: String },
    /// A secret was given both directly and as a file.
    #[error("both {var} and {var}_FILE are set: use one of them")]
    BothSet { var: String },
    /// The file named by `<VAR>_FILE` could not be read.
    #[error("{var}_FILE: cannot read {path}: {source}")]
    SecretFile {
        var: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A required key has no value for the command being run.
    #[error("missing {key}: set it in pgroles.toml or {env}{}", why_text(.why))]
    Missing { key: String, env: String, why: String },
    /// A key has a value the command cannot use.
    #[error("invalid {key} ({env}): {message}")]
    Invalid { key: String, env: String, message: String },
}

fn suggestion_text(s: &Option<String>) -> String {
    s.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default()
}

fn why_text(why: &str) -> String {
    if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    }
}

impl ConfigError {
    /// The dotted key this error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. }
            | ConfigError::Missing { key, .. }
            | ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}
