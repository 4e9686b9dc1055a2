//! The embedded `sql/` scripts, their order, where each runs, and their variables.
//!
//! The binary applies exactly the files a DBA runs with `psql -f sql/apply.psql`: the same
//! text, the same variables, the same order. This module renders; it executes nothing.

use super::script::{self, Step};
use super::Names;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Where a script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The bootstrap DBA's maintenance database (`postgres`).
    Maintenance,
    /// The application database.
    Database,
}

/// One embedded script.
pub struct ScriptFile {
    pub name: &'static str,
    pub target: Target,
    pub text: &'static str,
}

/// The scripts in apply order (the same order as `sql/apply.psql`).
pub const FILES: &[ScriptFile] = &[
    ScriptFile {
        name: "00_roles.sql",
        target: Target::Maintenance,
        text: include_str!("../../sql/00_roles.sql"),
    },
    ScriptFile {
        name: "05_owner.sql",
        target: Target::Maintenance,
        text: include_str!("../../sql/05_owner.sql"),
    },
    ScriptFile {
        name: "10_database.sql",
        target: Target::Maintenance,
        text: include_str!("../../sql/10_database.sql"),
    },
    ScriptFile {
        name: "60_guardrails.sql",
        target: Target::Maintenance,
        text: include_str!("../../sql/60_guardrails.sql"),
    },
    ScriptFile {
        name: "20_schemas.sql",
        target: Target::Database,
        text: include_str!("../../sql/20_schemas.sql"),
    },
    ScriptFile {
        name: "30_grants.sql",
        target: Target::Database,
        text: include_str!("../../sql/30_grants.sql"),
    },
    ScriptFile {
        name: "40_default_privileges.sql",
        target: Target::Database,
        text: include_str!("../../sql/40_default_privileges.sql"),
    },
    ScriptFile {
        name: "50_broker.sql",
        target: Target::Database,
        text: include_str!("../../sql/50_broker.sql"),
    },
    ScriptFile {
        name: "55_broker_passwords.sql",
        target: Target::Database,
        text: include_str!("../../sql/55_broker_passwords.sql"),
    },
    ScriptFile {
        name: "56_person_logins.sql",
        target: Target::Database,
        text: include_str!("../../sql/56_person_logins.sql"),
    },
    ScriptFile {
        name: "57_instance_sessions.sql",
        target: Target::Database,
        text: include_str!("../../sql/57_instance_sessions.sql"),
    },
    ScriptFile {
        name: "58_history.sql",
        target: Target::Database,
        text: include_str!("../../sql/58_history.sql"),
    },
    ScriptFile {
        name: "59_person_activity.sql",
        target: Target::Database,
        text: include_str!("../../sql/59_person_activity.sql"),
    },
    ScriptFile {
        name: "61_extend.sql",
        target: Target::Database,
        text: include_str!("../../sql/61_extend.sql"),
    },
];

/// Opt-in, after the model (`pgroles apply --harden-cluster`, `psql -v harden_cluster=1`):
/// takes PUBLIC's CONNECT and TEMPORARY on every other database away from the model's roles.
pub const HARDEN_CLUSTER: ScriptFile = ScriptFile {
    name: "70_harden_cluster.sql",
    target: Target::Maintenance,
    text: include_str!("../../sql/70_harden_cluster.sql"),
};

/// Catalog snapshot queries used to report what `apply` changed.
pub const SNAPSHOT_CLUSTER: &str = include_str!("../../sql/queries/snapshot_cluster.sql");
pub const SNAPSHOT_DATABASE: &str = include_str!("../../sql/queries/snapshot_database.sql");
pub const SNAPSHOT_DATABASES: &str = include_str!("../../sql/queries/snapshot_databases.sql");

/// Aurora mode of `pgroles apply` (`apply.mode`): `auto` (detect the `rds_*` roles), `aurora`
/// or `vanilla`. Defined here, beside the scripts it shapes; `config` re-exports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuroraMode {
    Auto,
    Aurora,
    Vanilla,
}

/// Options that shape the rendered scripts besides names.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub mode: AuroraMode,
    /// Which roles get `rds_iam` on Aurora: `broker`, `app`, `migrator`.
    pub iam_roles: Vec<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { mode: AuroraMode::Auto, iam_roles: Vec::new() }
    }
}

/// A rendered script.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub name: &'static str,
    pub target: Target,
    pub steps: Vec<Step>,
}

/// The psql variables of the scripts, the same names `sql/apply.psql` sets.
pub fn variables(names: &Names, opts: &RenderOptions) -> anyhow::Result<BTreeMap<String, String>> {
    use super::Level::{Ro, Rw};
    let mut iam = Vec::new();
    for r in &opts.iam_roles {
        iam.push(match r.as_str() {
            "broker" => names.broker(),
            "app" => names.app(),
            "migrator" => names.migrator(),
            other => anyhow::bail!(
                "apply.iam_roles: unknown role {other:?} (expected broker, app or migrator)"
            ),
        });
    }
    let mode = match opts.mode {
        AuroraMode::Auto => "auto",
        AuroraMode::Aurora => "aurora",
        AuroraMode::Vanilla => "vanilla",
    };
    let ff_roles = format!("{},{}", names.firefighter(Ro), names.firefighter(Rw));
    Ok([
        ("admin", names.admin()),
        ("owner", names.owner()),
        ("migrator", names.migrator()),
        ("app", names.app()),
        ("ff_ro", names.firefighter(Ro)),
        ("ff_rw", names.firefighter(Rw)),
        ("ff_roles", ff_roles),
        ("broker", names.broker()),
        ("ff_login_prefix", names.person_login_prefix()),
        ("database", names.database.clone()),
        ("schema", names.schema.clone()),
        ("admin_schema", names.admin_schema.clone()),
        ("mode", mode.to_string()),
        ("iam_roles", iam.join(",")),
        ("broker_connlimit", names.broker_connection_limit.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

/// Renders every script in apply order.
pub fn render(names: &Names, opts: &RenderOptions) -> anyhow::Result<Vec<Rendered>> {
    names.validate().map_err(anyhow::Error::msg)?;
    let vars = variables(names, opts)?;
    FILES
        .iter()
        .map(|f| {
            Ok(Rendered {
                name: f.name,
                target: f.target,
                steps: script::parse(f.name, f.text, &vars)?,
            })
        })
        .collect()
}

/// Renders [`HARDEN_CLUSTER`].
pub fn render_harden(names: &Names, opts: &RenderOptions) -> anyhow::Result<Rendered> {
    names.validate().map_err(anyhow::Error::msg)?;
    let vars = variables(names, opts)?;
    let f = &HARDEN_CLUSTER;
    Ok(Rendered { name: f.name, target: f.target, steps: script::parse(f.name, f.text, &vars)? })
}

/// The rendered statements as one psql-free SQL text (what `pgroles sql` prints).
pub fn to_sql_text(rendered: &[Rendered], names: &Names) -> String {
    let mut out = String::new();
    for r in rendered {
        let db = match r.target {
            Target::Maintenance => "the maintenance database".to_string(),
            Target::Database => script::quote_ident(&names.database),
        };
        out.push_str(&format!("-- {} (connected to {db} as the bootstrap DBA)\n", r.name));
        for s in &r.steps {
            match s {
                Step::Sql(t) => out.push_str(&format!("{t}\n")),
                Step::Gexec(t) => out.push_str(&format!("{t}\n\\gexec\n")),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_script_renders_with_default_names() {
        let rendered = render(&Names::default(), &RenderOptions::default()).unwrap();
        assert_eq!(rendered.len(), FILES.len());
        let text = to_sql_text(&rendered, &Names::default());
        assert!(text.contains(
            "CREATE SCHEMA IF NOT EXISTS \"my-pg-db-schema\" AUTHORIZATION \"my_pg_owner\""
        ));
        assert!(text.contains("SET search_path = \"my-pg-db-schema\", public"), "G4 fix rendered");
        let vars = variables(&Names::default(), &RenderOptions::default()).unwrap();
        for name in vars.keys() {
            let (lit, ident) = (format!(":'{name}'"), format!(":\"{name}\""));
            assert!(!text.contains(&lit) && !text.contains(&ident), "{name} left unrendered");
        }
    }

    #[test]
    fn unknown_iam_role_is_rejected_by_name() {
        let opts = RenderOptions { mode: AuroraMode::Auto, iam_roles: vec!["firefighter".into()] };
        let err = render(&Names::default(), &opts).unwrap_err().to_string();
        assert!(err.contains("firefighter"), "{err}");
    }
}
