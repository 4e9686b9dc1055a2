//! Applying the role model in tests: a fresh model per test under a unique prefix, applied as
//! the vanilla superuser or an emulated Aurora master, plus logins as its real roles.

use super::pg::{self, PgServer};
use pgroles::config::AuroraMode;
use pgroles::model::apply::{self, ApplyReport};
use pgroles::model::{Names, RenderOptions};
use std::str::FromStr;
use tokio_postgres::{Client, Config, NoTls};

/// One applied model in one cluster.
pub struct Model {
    pub pg: PgServer,
    pub prefix: String,
    pub names: Names,
    pub bootstrap_url: String,
}

impl Model {
    /// Names for `tag` on `pg`, nothing applied yet.
    pub fn new(pg: &PgServer, tag: &str) -> Model {
        let prefix = pg::unique_prefix(tag);
        Model {
            pg: pg.clone(),
            names: Names::with_prefix(&prefix),
            bootstrap_url: pg.url.clone(),
            prefix,
        }
    }

    /// Applies as the cluster's superuser (plain PostgreSQL).
    pub async fn apply(&self) -> ApplyReport {
        self.apply_as(&self.bootstrap_url, AuroraMode::Vanilla, &[]).await.expect("apply")
    }

    pub async fn apply_as(
        &self,
        url: &str,
        mode: AuroraMode,
        iam: &[&str],
    ) -> anyhow::Result<ApplyReport> {
        let cfg = Config::from_str(url)?;
        let opts = RenderOptions { mode, iam_roles: iam.iter().map(|s| s.to_string()).collect() };
        apply::apply(&cfg, NoTls, &self.names, &opts).await
    }

    /// A superuser connection to the application database.
    pub async fn superuser(&self) -> Client {
        pg::superuser(&self.pg, &self.names.database).await
    }

    /// Gives `role` a fresh random password (as the superuser) and returns it. A role created
    /// expired (the firefighter roles) gets an hour of validity (within the model's 2-hour cap, so
    /// verify does not report it) so the password logs in.
    pub async fn set_password(&self, role: &str) -> String {
        let password = super::random_alnum(40);
        let su = pg::superuser(&self.pg, "postgres").await;
        su.batch_execute(&format!("ALTER ROLE {} PASSWORD '{password}'", pg::ident(role)))
            .await
            .expect("set password");
        let expired: bool = su
            .query_one(
                "SELECT coalesce(rolvaliduntil < now(), false) FROM pg_roles WHERE rolname = $1",
                &[&role],
            )
            .await
            .expect("read VALID UNTIL")
            .get(0);
        if expired {
            let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
            su.batch_execute(&format!("ALTER ROLE {} VALID UNTIL '{until}'", pg::ident(role)))
                .await
                .expect("lift VALID UNTIL");
        }
        password
    }

    /// Gives `role` a password (as the superuser) and logs in with it over TCP.
    pub async fn login_as(&self, role: &str) -> Client {
        let password = self.set_password(role).await;
        pg::login(&self.pg, &self.names.database, role, &password).await.expect("login")
    }

    /// How the bot reaches this model as the broker: a static password, loopback, no TLS.
    pub fn broker_db_config(&self, password: &str) -> pgroles::config::DatabaseConfig {
        self.pg.static_database_config(password)
    }

    /// Creates `orders` the way a migration does: migrator, SET ROLE owner, DDL.
    pub async fn migrate_orders(&self) -> Client {
        let migrator = self.login_as(&self.names.migrator()).await;
        let schema = pg::ident(&self.names.schema);
        migrator
            .batch_execute(&format!(
                "SET ROLE {owner};
                 CREATE TABLE {schema}.orders (
                   id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                   order_no text NOT NULL UNIQUE,
                   status text NOT NULL DEFAULT 'created',
                   amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
                   created_at timestamptz NOT NULL DEFAULT now(),
                   updated_at timestamptz NOT NULL DEFAULT now());
                 CREATE INDEX orders_status_created_at_idx ON {schema}.orders (status, created_at DESC);
                 INSERT INTO {schema}.orders (order_no, amount) VALUES ('ORD-1001', 10), ('ORD-1002', 20);
                 RESET ROLE;",
                owner = pg::ident(&self.names.owner())
            ))
            .await
            .expect("migration as owner");
        migrator
    }

    pub async fn drop(self) {
        pg::drop_model(&self.pg, &self.prefix).await;
    }
}

/// The server's message of a failed statement.
pub fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string())
}

/// Runs `sql` and returns the server's error message, panicking if it succeeded.
pub async fn must_fail(client: &Client, sql: &str) -> String {
    match client.batch_execute(sql).await {
        Ok(()) => panic!("expected failure, but succeeded: {sql}"),
        Err(e) => db_message(&e),
    }
}
