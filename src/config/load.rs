//! Layering: embedded defaults (the `Default` impls), then the TOML file, then `PGROLES_*`
//! environment variables; a secret may also come from the file named by `<VAR>_FILE`.
//!
//! The environment is injected ([`Env`]) so tests never touch the process environment. This
//! module reads the config file and `*_FILE` secret files, nothing else; it does not validate
//! for a command (see `validate`).

use super::keys::{self, Kind, KEYS, NON_CONFIG_PREFIXES, NON_CONFIG_VARS, SECTIONS};
use super::{Config, ConfigError};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A source of environment variables.
pub trait Env {
    /// The value of one variable.
    fn var(&self, name: &str) -> Option<String>;
    /// Names of all variables starting with `PGROLES_` (for typo warnings); may be empty.
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A lookup function; it cannot list names, so it yields no typo warnings.
impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.keys().filter(|k| k.starts_with("PGROLES_")).cloned().collect()
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.keys().filter(|k| k.starts_with("PGROLES_")).cloned().collect()
    }
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn names(&self) -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with("PGROLES_"))
            .collect()
    }
}

/// A loaded configuration and the warnings the caller should log (unknown `PGROLES_*` variables).
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

impl Config {
    /// Defaults, then the file at `path` (if any), then the environment.
    pub fn load(path: Option<&Path>, env: &impl Env) -> Result<Loaded, ConfigError> {
        let mut table = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                parse_file(&text, &path.display().to_string())?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        let targets = apply_target_env(&mut table, env)?;
        let warnings = unknown_env_warnings(env, &targets);
        let config = finish(table, "environment")?;
        Ok(Loaded { config, warnings })
    }

    /// [`Config::load`] with the process environment.
    pub fn load_from_process_env(path: Option<&Path>) -> Result<Loaded, ConfigError> {
        Config::load(path, &ProcessEnv)
    }
}

/// A TOML document alone, no environment.
pub(crate) fn from_toml_text(text: &str, file: &str) -> Result<Config, ConfigError> {
    finish(parse_file(text, file)?, file)
}

fn finish(table: toml::Table, origin: &str) -> Result<Config, ConfigError> {
    if table.contains_key("targets") && table.contains_key("database") {
        return Err(ConfigError::Parse {
            file: origin.to_string(),
            message: "both [database] (or PGROLES_DATABASE_*) and [targets.*] are set: with \
                      targets, each target holds its own database keys"
                .into(),
        });
    }
    let config: Config = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
        ConfigError::Parse { file: origin.to_string(), message: one_line(e.message()) }
    })?;
    config.model.validate().map_err(|message| ConfigError::Invalid {
        key: "model".into(),
        env: "PGROLES_MODEL_*".into(),
        message,
    })?;
    Ok(config)
}

/// Syntax, unknown keys, then types; every error is one line naming the file.
fn parse_file(text: &str, file: &str) -> Result<toml::Table, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| parse_error(text, file, &e))?;
    check_known_keys(&table, file)?;
    toml::from_str::<Config>(text).map_err(|e| parse_error(text, file, &e))?;
    Ok(table)
}

fn check_known_keys(table: &toml::Table, file: &str) -> Result<(), ConfigError> {
    for (section, value) in table {
        if section == "targets" {
            check_target_keys(value, file)?;
            continue;
        }
        if !SECTIONS.contains(&section.as_str()) {
            // A bare key at the top level is usually a key of some section.
            let suggestion = KEYS
                .iter()
                .find(|k| k.name == section)
                .map(|k| k.dotted())
                .or_else(|| keys::suggest(section, SECTIONS.iter().copied()));
            return Err(ConfigError::UnknownKey {
                file: file.into(),
                key: section.clone(),
                suggestion,
            });
        }
        let Some(inner) = value.as_table() else {
            return Err(ConfigError::Parse {
                file: file.into(),
                message: format!("'{section}' must be a table ([{section}])"),
            });
        };
        let names = || KEYS.iter().filter(|k| k.section == section).map(|k| k.name);
        for key in inner.keys() {
            if !names().any(|n| n == key) {
                return Err(ConfigError::UnknownKey {
                    file: file.into(),
                    key: format!("{section}.{key}"),
                    suggestion: keys::suggest(key, names()),
                });
            }
        }
    }
    Ok(())
}

/// `[targets.<name>]`: each a table of `[database]`'s keys and the target's own.
fn check_target_keys(targets: &toml::Value, file: &str) -> Result<(), ConfigError> {
    let not_table = |what: String| ConfigError::Parse {
        file: file.into(),
        message: format!("'{what}' must be a table ([{what}])"),
    };
    let Some(targets) = targets.as_table() else { return Err(not_table("targets".into())) };
    let names = || {
        KEYS.iter()
            .filter(|k| k.section == "database")
            .map(|k| k.name)
            .chain(super::targets::TARGET_ONLY_KEYS.iter().copied())
    };
    for (name, inner) in targets {
        let Some(inner) = inner.as_table() else {
            return Err(not_table(format!("targets.{name}")));
        };
        for key in inner.keys() {
            if !names().any(|n| n == key) {
                return Err(ConfigError::UnknownKey {
                    file: file.into(),
                    key: format!("targets.{name}.{key}"),
                    suggestion: keys::suggest(key, names()),
                });
            }
        }
    }
    Ok(())
}

/// `file line N: section.key: message`, without echoing the value (it may be a secret).
fn parse_error(text: &str, file: &str, e: &toml::de::Error) -> ConfigError {
    let Some(span) = e.span() else {
        return ConfigError::Parse { file: file.into(), message: one_line(e.message()) };
    };
    let start = span.start.min(text.len());
    let lines: Vec<&str> = text[..start].split('\n').collect();
    let line_no = lines.len();
    let current = text.lines().nth(line_no - 1).unwrap_or("");
    let section = lines
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(['[', ']', ' ']));
    let key = current.split_once('=').map(|(k, _)| k.trim()).filter(|k| !k.is_empty());
    let message = one_line(e.message());
    let message = match (section, key) {
        (Some(s), Some(k)) => format!("{s}.{k}: {message}"),
        (None, Some(k)) => format!("{k}: {message}"),
        _ => message,
    };
    ConfigError::Parse { file: format!("{file} line {line_no}"), message }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn apply_env(table: &mut toml::Table, env: &impl Env) -> Result<(), ConfigError> {
    for key in KEYS {
        let var = key.env_var();
        let direct = env.var(&var);
        let from_file =
            if key.kind == Kind::Secret { env.var(&format!("{var}_FILE")) } else { None };
        let raw = match (direct, from_file) {
            (Some(_), Some(_)) => return Err(ConfigError::BothSet { var }),
            (Some(v), None) => v,
            (None, Some(path)) => read_secret_file(&var, &path)?,
            (None, None) => continue,
        };
        let value = keys::parse_env_value(key.kind, &raw)
            .map_err(|message| ConfigError::Env { var: var.clone(), message })?;
        let section =
            table.entry(key.section).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(section) = section.as_table_mut() else {
            return Err(ConfigError::Parse {
                file: "config".into(),
                message: format!("'{}' must be a table", key.section),
            });
        };
        match value {
            Some(v) => section.insert(key.name.to_string(), v),
            None => section.remove(key.name),
        };
    }
    Ok(())
}

/// A target's secrets from `PGROLES_TARGETS_<NAME>_<KEY>` (or `_FILE`); returns the variables
/// that may be set (known to the typo check).
fn apply_target_env(table: &mut toml::Table, env: &impl Env) -> Result<Vec<String>, ConfigError> {
    use super::targets::{target_env_var, TARGET_SECRET_KEYS};
    let mut known = Vec::new();
    let Some(targets) = table.get_mut("targets").and_then(toml::Value::as_table_mut) else {
        return Ok(known);
    };
    for (name, target) in targets.iter_mut() {
        let Some(target) = target.as_table_mut() else { continue };
        for key in TARGET_SECRET_KEYS {
            let var = target_env_var(name, key);
            let raw = match (env.var(&var), env.var(&format!("{var}_FILE"))) {
                (Some(_), Some(_)) => return Err(ConfigError::BothSet { var }),
                (Some(v), None) => Some(v),
                (None, Some(path)) => Some(read_secret_file(&var, &path)?),
                (None, None) => None,
            };
            if let Some(raw) = raw.filter(|r| !r.trim().is_empty()) {
                target.insert((*key).to_owned(), toml::Value::String(raw));
            }
            known.push(format!("{var}_FILE"));
            known.push(var);
        }
    }
    Ok(known)
}

/// The file's contents with trailing newlines (`\n`, `\r\n`) removed.
fn read_secret_file(var: &str, path: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        var: var.to_string(),
        path: path.into(),
        source,
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

fn unknown_env_warnings(env: &impl Env, targets: &[String]) -> Vec<String> {
    let mut known: Vec<String> = NON_CONFIG_VARS.iter().map(|s| s.to_string()).collect();
    known.extend(targets.iter().cloned());
    for key in KEYS {
        known.push(key.env_var());
        if key.kind == Kind::Secret {
            known.push(format!("{}_FILE", key.env_var()));
        }
    }
    let mut names = env.names();
    names.sort();
    names
        .into_iter()
        .filter(|n| n.starts_with("PGROLES_"))
        .filter(|n| !known.contains(n) && !NON_CONFIG_PREFIXES.iter().any(|p| n.starts_with(p)))
        .map(|n| match keys::suggest(&n, known.iter().map(String::as_str)) {
            Some(s) => format!("{n} is not a pgroles setting (did you mean {s}?); ignored"),
            None => format!("{n} is not a pgroles setting; ignored"),
        })
        .collect()
}
