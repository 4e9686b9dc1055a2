//! The fleet (issue 16): `[targets.<name>]` tables, one per database the bot serves. Each holds
//! the keys of `[database]` plus, optionally, its own `bootstrap_url` (for `pgroles apply
//! --target`) and its own approvers and approval counts. A configuration without `[targets]`
//! keeps working: its `[database]` is the one default target.
//!
//! This module owns the targets' shape, their names and the per-target view of the whole
//! configuration ([`Config::for_target`]): everything downstream (the broker, the instances,
//! verify, apply) takes that view and needs no notion of a fleet. No I/O.

use super::{Config, ConfigError, DatabaseConfig};
pub use crate::access::targets::{target_name_problem, MAX_TARGET_NAME};
use secrecy::SecretString;
use serde::Deserialize;

/// Most targets one bot serves.
pub const MAX_TARGETS: usize = 64;
/// The name of the one target of a configuration without `[targets]`.
pub const DEFAULT_TARGET: &str = "default";

/// Keys a target table has besides `[database]`'s.
pub const TARGET_ONLY_KEYS: &[&str] =
    &["bootstrap_url", "approvers", "approver_group", "approvals_ro", "approvals_rw"];

/// Keys of a target that may come from the environment (and `_FILE`), as
/// `PGROLES_TARGETS_<NAME>_<KEY>`: its secrets.
pub const TARGET_SECRET_KEYS: &[&str] = &["password", "bootstrap_url"];

/// One `[targets.<name>]` table.
#[derive(Debug, Clone, Default)]
pub struct TargetConfig {
    /// The `[database]` keys of this target.
    pub database: DatabaseConfig,
    /// `pgroles apply --target`'s bootstrap connection; defaults to `apply.bootstrap_url`.
    pub bootstrap_url: Option<SecretString>,
    /// Overrides `access.approvers` for this target.
    pub approvers: Option<Vec<String>>,
    /// Overrides `access.approver_group` for this target.
    pub approver_group: Option<String>,
    /// Overrides `access.approvals_ro` for this target.
    pub approvals_ro: Option<u32>,
    /// Overrides `access.approvals_rw` for this target.
    pub approvals_rw: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetOnly {
    bootstrap_url: Option<SecretString>,
    approvers: Option<Vec<String>>,
    approver_group: Option<String>,
    approvals_ro: Option<u32>,
    approvals_rw: Option<u32>,
}

impl<'de> Deserialize<'de> for TargetConfig {
    /// Splits the table: the target's own keys, then the rest as `[database]` (whose unknown
    /// keys are refused as there).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = toml::Table::deserialize(d)?;
        let mut own = toml::Table::new();
        for key in TARGET_ONLY_KEYS {
            if let Some(v) = table.remove(*key) {
                own.insert((*key).to_owned(), v);
            }
        }
        let own: TargetOnly = toml::Value::Table(own).try_into().map_err(D::Error::custom)?;
        let database: DatabaseConfig =
            toml::Value::Table(table).try_into().map_err(D::Error::custom)?;
        Ok(TargetConfig {
            database,
            bootstrap_url: own.bootstrap_url,
            approvers: own.approvers,
            approver_group: own.approver_group,
            approvals_ro: own.approvals_ro,
            approvals_rw: own.approvals_rw,
        })
    }
}

/// The environment variable of a target's secret key.
pub fn target_env_var(target: &str, key: &str) -> String {
    format!("PGROLES_TARGETS_{}_{}", target.replace('-', "_"), key).to_ascii_uppercase()
}

impl Config {
    /// Whether `[targets]` is used (else `[database]` is the one default target).
    pub fn is_fleet(&self) -> bool {
        !self.targets.is_empty()
    }

    /// The names of the targets, sorted; `["default"]` without `[targets]`.
    pub fn target_names(&self) -> Vec<String> {
        if self.is_fleet() {
            self.targets.keys().cloned().collect()
        } else {
            vec![DEFAULT_TARGET.to_owned()]
        }
    }

    /// The configuration as one target sees it: `[database]` is the target's, and so are the
    /// Redis key prefix of its grants, the bootstrap URL and the approval overrides. `None` for an unknown name. Without
    /// `[targets]`, `default` is the configuration itself.
    pub fn for_target(&self, name: &str) -> Option<Config> {
        if !self.is_fleet() {
            return (name == DEFAULT_TARGET).then(|| self.clone());
        }
        let t = self.targets.get(name)?;
        let mut cfg = self.clone();
        cfg.database = t.database.clone();
        cfg.redis.key_prefix = self.target_key_prefix(name);
        // Each target is its own application database: the model is checked and applied there.
        if let Some(db) = &t.database.dbname {
            cfg.model.database = db.clone();
        }
        if t.bootstrap_url.is_some() {
            cfg.apply.bootstrap_url = t.bootstrap_url.clone();
        }
        if let Some(a) = &t.approvers {
            cfg.access.approvers = a.clone();
        }
        if t.approver_group.is_some() {
            cfg.access.approver_group = t.approver_group.clone();
        }
        if let Some(n) = t.approvals_ro {
            cfg.access.approvals_ro = n;
        }
        if let Some(n) = t.approvals_rw {
            cfg.access.approvals_rw = n;
        }
        Some(cfg)
    }

    /// The Redis key prefix of a target's grants and timers: the configured prefix itself for
    /// the one default target (as before fleets), `<prefix>target:<name>:` in a fleet.
    pub fn target_key_prefix(&self, name: &str) -> String {
        if self.is_fleet() {
            format!("{}target:{name}:", self.redis.key_prefix)
        } else {
            self.redis.key_prefix.clone()
        }
    }

    /// Names, count, and each target's own checks (`validate`'s per command), with the error's
    /// key rewritten to `targets.<name>.<key>`.
    pub fn validate_targets(
        &self,
        check: impl Fn(&Config) -> Result<(), ConfigError>,
    ) -> Result<(), ConfigError> {
        if !self.is_fleet() {
            return check(self);
        }
        if self.targets.len() > MAX_TARGETS {
            return Err(ConfigError::Invalid {
                key: "targets".into(),
                env: "the config file".into(),
                message: format!("at most {MAX_TARGETS} targets"),
            });
        }
        for name in self.targets.keys() {
            if let Some(message) = target_name_problem(name) {
                return Err(ConfigError::Invalid {
                    key: format!("targets.{name}"),
                    env: "the config file".into(),
                    message,
                });
            }
            let view = self.for_target(name).expect("a listed target");
            check(&view).map_err(|e| retarget(e, name))?;
        }
        Ok(())
    }
}

/// `database.x` / `apply.bootstrap_url` / `access.approvals_ro` in an error becomes the
/// target's own key.
fn retarget(e: ConfigError, name: &str) -> ConfigError {
    let rename = |key: String| -> String {
        let own = key
            .strip_prefix("database.")
            .or_else(|| key.strip_prefix("apply.").filter(|k| *k == "bootstrap_url"))
            .or_else(|| key.strip_prefix("access.").filter(|k| TARGET_ONLY_KEYS.contains(k)));
        match own {
            Some(k) => format!("targets.{name}.{k}"),
            None => key,
        }
    };
    let env_of = |key: &str| match key.rsplit('.').next() {
        Some(k) if TARGET_SECRET_KEYS.contains(&k) => target_env_var(name, k),
        _ => "the config file".into(),
    };
    match e {
        ConfigError::Missing { key, why, .. } => {
            let key = rename(key);
            ConfigError::Missing { env: env_of(&key), key, why }
        }
        ConfigError::Invalid { key, message, .. } => {
            let key = rename(key);
            ConfigError::Invalid { env: env_of(&key), key, message }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: &str = r#"
[access]
approvers = ["U0BOB00001"]
[targets.orders]
host = "127.0.0.1"
port = 5415
password = "x"
sslmode = "disable"
approvals_rw = 2
[targets.billing-eu]
host = "127.0.0.1"
port = 5416
auth = "secrets-manager"
sslmode = "disable"
approver_group = "S0DBA"
"#;

    #[test]
    fn a_fleet_gives_each_target_its_database_and_overrides() {
        let cfg = Config::from_toml(FLEET).unwrap();
        assert_eq!(cfg.target_names(), ["billing-eu", "orders"]);
        let orders = cfg.for_target("orders").unwrap();
        assert_eq!(orders.database.port, 5415);
        assert_eq!(orders.access.approvals_rw, 2);
        assert_eq!(orders.access.approver_group, None);
        assert_eq!(orders.redis.key_prefix, "pgroles:target:orders:");
        let billing = cfg.for_target("billing-eu").unwrap();
        assert_eq!(billing.access.approver_group.as_deref(), Some("S0DBA"));
        assert_eq!(cfg.target_key_prefix("orders"), "pgroles:target:orders:");
        assert!(cfg.for_target("default").is_none());
    }

    #[test]
    fn without_targets_the_database_is_the_default_target() {
        let cfg = Config::from_toml("[database]\nport = 6000\n").unwrap();
        assert_eq!(cfg.target_names(), ["default"]);
        assert_eq!(cfg.for_target("default").unwrap().database.port, 6000);
        assert_eq!(cfg.target_key_prefix("default"), "pgroles:");
    }

    #[test]
    fn unknown_keys_bad_names_and_bad_target_settings_are_refused_with_the_key() {
        let err = Config::from_toml("[targets.a]\nhots = \"h\"\n").unwrap_err().to_string();
        assert!(err.contains("hots"), "{err}");
        let cfg = Config::from_toml(FLEET).unwrap();
        let err = cfg.validate_targets(Config::validate_database).unwrap_err();
        assert_eq!(err.key(), Some("targets.billing-eu.secret_id"), "{err}");
        for bad in ["All", "all", "1x", "a b", "status", &"x".repeat(33)] {
            assert!(target_name_problem(bad).is_some(), "{bad}");
        }
        assert!(target_name_problem("orders-eu_2").is_none());
        assert_eq!(target_env_var("billing-eu", "password"), "PGROLES_TARGETS_BILLING_EU_PASSWORD");
    }
}
