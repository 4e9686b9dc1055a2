//! The cluster's other instances (Aurora readers, `database.instances`): one small broker pool
//! per instance, logging in as the writer's does (same user, credential source, TLS and pinned
//! session settings; an IAM token is signed for the instance's own host and port), with a short
//! connect timeout; and the calls of `sql/57_instance_sessions.sql`.
//!
//! Owns the SQL text of those calls (bind parameters only) and the mapping of their results.
//! Must not decide when sessions end (that is `grants::instances`).

use super::calls::{ActionAudit, Broker};
use super::connect::{self, BrokerManager};
use super::credential::CredentialSource;
use super::error::BrokerError;
use super::session::{self, Work};
use crate::config::{AwsConfig, DatabaseConfig, DbAuth};
use crate::model::script::quote_ident;
use crate::model::Names;
use anyhow::Context;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// How long a login to another instance may take: an unreachable reader must not hold an
/// expiry up (it is retried by a timer instead).
pub const INSTANCE_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections per instance and process.
pub const INSTANCE_POOL_SIZE: usize = 2;

/// What `end_instance_firefighter_sessions` did on one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstanceEnd {
    /// Sessions signalled.
    pub sessions_ended: i32,
    /// Sessions still there after 5 s (or that could not be signalled).
    pub sessions_left: i32,
}

/// An open firefighter session on one instance (`instance_firefighter_sessions()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSession {
    pub pid: i32,
    /// The firefighter role the session belongs to.
    pub role: String,
    /// The role it logged in as (the firefighter role, or a per-person login).
    pub login: String,
    pub database: Option<String>,
    pub client_addr: Option<String>,
    pub backend_start: Option<DateTime<Utc>>,
    pub state: Option<String>,
}

/// One other instance of the cluster and the broker that reaches it.
#[derive(Debug)]
pub struct Instance {
    /// `host:port`, as configured: the name in notes, metrics and the audit row.
    pub addr: String,
    pub broker: Broker,
}

/// Every configured other instance (empty: a single-instance cluster).
#[derive(Debug, Default, Clone)]
pub struct Instances {
    list: Arc<Vec<Instance>>,
}

impl Instances {
    /// One broker per `(host, port)` of `addrs` and, with `database.discover_cluster`, per
    /// reader the RDS API lists for that cluster, from the writer's configuration `db` (user,
    /// auth, TLS, database). Connects lazily. A discovery that fails stops the start.
    pub async fn from_config(
        db: &DatabaseConfig,
        aws: &AwsConfig,
        names: &Names,
        addrs: &[(String, u16)],
    ) -> anyhow::Result<Instances> {
        let mut addrs = addrs.to_vec();
        let needs_sdk = db.discover_cluster.is_some() || db.auth != DbAuth::Password;
        let sdk = if needs_sdk { Some(crate::aws::sdk_config(aws).await) } else { None };
        if let (Some(cluster), Some(sdk)) = (&db.discover_cluster, &sdk) {
            let members = crate::aws::rds::discover(sdk, cluster)
                .await
                .with_context(|| format!("discovering the instances of {cluster}"))?;
            add_readers(&mut addrs, db, &members);
            tracing::info!(cluster = %cluster, members = members.len(), instances = addrs.len(),
                "discovered the cluster's instances");
        }
        if addrs.is_empty() {
            return Ok(Instances::default());
        }
        let sdk = if db.auth == DbAuth::Password { None } else { sdk };
        let mut list = Vec::with_capacity(addrs.len());
        for (host, port) in &addrs {
            let one = instance_config(db, host, *port);
            let creds =
                CredentialSource::from_config_with_sdk(&one, sdk.as_ref(), &names.broker())?;
            list.push(Instance::new(&one, names, creds)?);
        }
        Ok(Instances { list: Arc::new(list) })
    }

    /// From ready instances (tests).
    pub fn from_list(list: Vec<Instance>) -> Instances {
        Instances { list: Arc::new(list) }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Instance> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The instance configured as `addr`.
    pub fn get(&self, addr: &str) -> Option<&Instance> {
        self.list.iter().find(|i| i.addr == addr)
    }
}

/// Adds each reader of `members` with an endpoint that is neither listed nor the writer.
pub fn add_readers(
    addrs: &mut Vec<(String, u16)>,
    db: &DatabaseConfig,
    members: &[crate::aws::rds::ClusterMember],
) {
    for m in members.iter().filter(|m| !m.writer) {
        let Some((host, port)) = &m.endpoint else {
            tracing::warn!(instance = %m.id, "a cluster member has no endpoint yet; skipped");
            continue;
        };
        let same = |(h, p): &(String, u16)| h.eq_ignore_ascii_case(host) && p == port;
        if same(&(db.host.clone(), db.port)) || addrs.iter().any(same) {
            continue;
        }
        addrs.push((host.clone(), *port));
    }
}

/// The writer's configuration pointed at another instance, with a small pool.
pub fn instance_config(db: &DatabaseConfig, host: &str, port: u16) -> DatabaseConfig {
    DatabaseConfig {
        host: host.trim_matches(['[', ']']).to_owned(),
        port,
        pool_size: INSTANCE_POOL_SIZE.min(db.pool_size.max(1)),
        instances: Vec::new(),
        discover_cluster: None,
        ..db.clone()
    }
}

impl Instance {
    /// A broker for the instance `db` points at, logging in with `creds`.
    pub fn new(
        db: &DatabaseConfig,
        names: &Names,
        creds: CredentialSource,
    ) -> anyhow::Result<Instance> {
        let manager = BrokerManager::new(db, names, Arc::new(creds))?
            .with_connect_timeout(INSTANCE_CONNECT_TIMEOUT);
        let pool = connect::build_pool(manager, db.pool_size)?;
        let host = if db.host.contains(':') { format!("[{}]", db.host) } else { db.host.clone() };
        Ok(Instance {
            addr: format!("{host}:{}", db.port),
            broker: Broker::new(pool, names.clone()),
        })
    }
}

fn admin(b: &Broker) -> String {
    quote_ident(&b.names().admin_schema)
}

fn unexpected(what: &str, e: tokio_postgres::Error) -> BrokerError {
    BrokerError::Unexpected(anyhow::anyhow!("reading {what}: {e}"))
}

impl Broker {
    /// On the instance this broker reaches: ends the sessions of `role` (a firefighter role or a
    /// recorded per-person login) that started before `started_before`. Writes nothing (safe on
    /// a read-only standby).
    pub async fn end_instance_sessions(
        &self,
        role: &str,
        started_before: DateTime<Utc>,
    ) -> Result<InstanceEnd, BrokerError> {
        let sql = format!(
            "SELECT sessions_ended, sessions_left FROM \
             {}.end_instance_firefighter_sessions($1::name, $2::timestamptz)",
            admin(self)
        );
        let mut conn = session::session(self.pool(), Work::Ending).await?;
        let row = conn.query_one(&sql, &[&role, &started_before], &[]).await?;
        Ok(InstanceEnd {
            sessions_ended: row.try_get::<_, i32>(0).map_err(|e| unexpected("the count", e))?,
            sessions_left: row.try_get::<_, i32>(1).map_err(|e| unexpected("the count", e))?,
        })
    }

    /// The firefighter sessions (roles and per-person logins) open on the instance this broker
    /// reaches.
    pub async fn instance_sessions(&self) -> Result<Vec<InstanceSession>, BrokerError> {
        let sql = format!(
            "SELECT pid, role::text, login::text, datname::text, client_addr, backend_start, \
             state FROM {}.instance_firefighter_sessions()",
            admin(self)
        );
        let mut conn = session::session(self.pool(), Work::General).await?;
        let rows = conn.query(&sql, &[]).await?;
        rows.iter()
            .map(|r| {
                Ok(InstanceSession {
                    pid: r.try_get(0)?,
                    role: r.try_get(1)?,
                    login: r.try_get(2)?,
                    database: r.try_get(3)?,
                    client_addr: r.try_get(4)?,
                    backend_start: r.try_get(5)?,
                    state: r.try_get(6)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(|e| unexpected("instance sessions", e))
    }

    /// On the writer: one audit row with the count per instance (`{"host:port": n}`, or
    /// `"unreachable"`).
    pub async fn record_instance_sessions_ended(
        &self,
        role: &str,
        audit: &ActionAudit,
        counts: &serde_json::Value,
    ) -> Result<(), BrokerError> {
        let sql = format!(
            "SELECT {}.record_instance_sessions_ended($1::name, $2::text, $3::text, $4::text::jsonb)",
            admin(self)
        );
        let counts = counts.to_string();
        let mut conn = session::session(self.pool(), Work::Ending).await?;
        conn.execute(&sql, &[&role, &audit.incident, &audit.actor, &counts]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_inherits_the_writers_login_but_not_its_instances_or_pool() {
        let db = DatabaseConfig {
            host: "writer".into(),
            pool_size: 8,
            instances: vec!["r1:5433".into()],
            user: Some("b".into()),
            ..DatabaseConfig::default()
        };
        let one = instance_config(&db, "[::1]", 5433);
        assert_eq!((one.host.as_str(), one.port, one.pool_size), ("::1", 5433, 2));
        assert!(one.instances.is_empty());
        assert_eq!(one.user.as_deref(), Some("b"));
        assert_eq!(one.sslmode, db.sslmode);
    }
}
