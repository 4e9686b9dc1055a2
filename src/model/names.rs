//! Names of everything the role model manages, derived from one place.
//!
//! The design's defaults (`my_pg_*`, `"my-pg-db"`, `"my-pg-db-schema"`) come from a role prefix,
//! a database and a schema. Tests use a unique prefix per test so that many models can live in
//! one cluster side by side. This module owns naming only: no I/O, no SQL execution.

use serde::{Deserialize, Serialize};

/// The access levels are the domain's (`access::level`); the model maps each to its role
/// ([`Names::firefighter`]).
pub use crate::access::Level;

/// The names of one deployment of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Names {
    /// Prefix of every role the model creates (`my_pg_`).
    pub role_prefix: String,
    /// The application database (`my-pg-db`).
    pub database: String,
    /// The application schema inside it (`my-pg-db-schema`).
    pub schema: String,
    /// The owner role of this database; defaults to `<prefix>owner`. Section 12 of the design
    /// (another database later) sets a different owner, database and schema.
    pub owner: Option<String>,
    /// Schema holding the broker functions and the audit table.
    pub admin_schema: String,
    /// `CONNECTION LIMIT` of the broker role: at least `database.max_replicas *
    /// database.pool_size + 1` (the bot's connection budget, checked at start).
    pub broker_connection_limit: i32,
}

/// The broker's default `CONNECTION LIMIT`: 3 processes (2 replicas and a surge pod) x a pool
/// of 4, plus one slot for `pgroles revoke`.
pub const DEFAULT_BROKER_CONNECTION_LIMIT: i32 = 13;

impl Default for Names {
    fn default() -> Self {
        Names {
            role_prefix: "my_pg_".into(),
            database: "my-pg-db".into(),
            schema: "my-pg-db-schema".into(),
            owner: None,
            admin_schema: "db_admin".into(),
            broker_connection_limit: DEFAULT_BROKER_CONNECTION_LIMIT,
        }
    }
}

impl Names {
    /// Names for a test or drill: every role and the database carry `prefix`.
    pub fn with_prefix(prefix: &str) -> Names {
        Names {
            role_prefix: format!("{prefix}_"),
            database: format!("{}-db", prefix.replace('_', "-")),
            schema: format!("{}-db-schema", prefix.replace('_', "-")),
            owner: None,
            admin_schema: "db_admin".into(),
            broker_connection_limit: DEFAULT_BROKER_CONNECTION_LIMIT,
        }
    }

    fn role(&self, suffix: &str) -> String {
        format!("{}{}", self.role_prefix, suffix)
    }
    pub fn admin(&self) -> String {
        self.role("admin")
    }
    pub fn owner(&self) -> String {
        self.owner.clone().unwrap_or_else(|| self.role("owner"))
    }
    pub fn migrator(&self) -> String {
        self.role("migrator")
    }
    pub fn app(&self) -> String {
        self.role("app")
    }
    pub fn firefighter(&self, level: Level) -> String {
        match level {
            Level::Ro => self.role("firefighter_ro"),
            Level::Rw => self.role("firefighter_rw"),
        }
    }
    pub fn broker(&self) -> String {
        self.role("password_broker")
    }

    /// Every role of the model, admin first.
    pub fn all_roles(&self) -> Vec<String> {
        vec![
            self.admin(),
            self.owner(),
            self.migrator(),
            self.app(),
            self.firefighter(Level::Ro),
            self.firefighter(Level::Rw),
            self.broker(),
        ]
    }

    /// The start of every per-person firefighter login (issue 15, `sql/56_person_logins.sql`):
    /// `<prefix>ff_`, then the level, `_`, the Slack user id lower-cased, `_`, a short grant id.
    pub fn person_login_prefix(&self) -> String {
        self.role("ff_")
    }

    /// The per-person login of `slack_user` at `level` for grant `short_grant` (8 hex digits),
    /// exactly as `create_person_login` builds it.
    pub fn person_login(&self, level: Level, slack_user: &str, short_grant: &str) -> String {
        format!(
            "{}{}_{}_{}",
            self.person_login_prefix(),
            level.as_str(),
            slack_user.to_ascii_lowercase(),
            short_grant
        )
    }

    /// Maps a role name back to a firefighter level, if it is one of the two.
    pub fn level_of(&self, role: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| self.firefighter(*l) == role)
    }

    /// Checks that names are usable: non-empty, at most 63 bytes (PostgreSQL's NAMEDATALEN-1),
    /// no NUL. Quoting handles every other character.
    pub fn validate(&self) -> Result<(), String> {
        let mut all = self.all_roles();
        all.push(self.database.clone());
        all.push(self.schema.clone());
        all.push(self.admin_schema.clone());
        for n in all {
            if n.is_empty() || n.len() > 63 || n.contains('\0') {
                return Err(format!("invalid name {n:?}: must be 1-63 bytes without NUL"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_reproduce_the_design_names() {
        let n = Names::default();
        assert_eq!(n.admin(), "my_pg_admin");
        assert_eq!(n.owner(), "my_pg_owner");
        assert_eq!(n.migrator(), "my_pg_migrator");
        assert_eq!(n.app(), "my_pg_app");
        assert_eq!(n.firefighter(Level::Ro), "my_pg_firefighter_ro");
        assert_eq!(n.firefighter(Level::Rw), "my_pg_firefighter_rw");
        assert_eq!(n.broker(), "my_pg_password_broker");
        assert_eq!(n.database, "my-pg-db");
        assert_eq!(n.schema, "my-pg-db-schema");
    }
}
