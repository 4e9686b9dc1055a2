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
use std::sync::{Arc, RwLock};
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

/// Every other instance (empty: a single-instance cluster): the listed ones and, with
/// `database.discover_cluster`, the cluster's readers, re-read by [`Instances::refresh`].
/// Clones share one list.
#[derive(Debug, Default, Clone)]
pub struct Instances {
    list: Arc<RwLock<Arc<Vec<Arc<Instance>>>>>,
    discovery: Option<Arc<Discovery>>,
}

/// What a refresh needs: the writer's configuration, the listed instances, the cluster.
#[derive(Debug)]
struct Discovery {
    db: DatabaseConfig,
    names: Names,
    listed: Vec<(String, u16)>,
    cluster: String,
    sdk: aws_config::SdkConfig,
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
        let needs_sdk = db.discover_cluster.is_some() || db.auth != DbAuth::Password;
        let sdk = if needs_sdk { Some(crate::aws::sdk_config(aws).await) } else { None };
        let discovery = match (&db.discover_cluster, &sdk) {
            (Some(cluster), Some(sdk)) => Some(Arc::new(Discovery {
                db: db.clone(),
                names: names.clone(),
                listed: addrs.to_vec(),
                cluster: cluster.clone(),
                sdk: sdk.clone(),
            })),
            _ => None,
        };
        let instances = Instances { list: Arc::default(), discovery };
        let mut all = addrs.to_vec();
        if let Some(d) = &instances.discovery {
            all = d.addrs().await?;
        }
        instances.set(build(db, sdk.as_ref(), names, &all, &[])?);
        Ok(instances)
    }

    /// From ready instances (tests).
    pub fn from_list(list: Vec<Instance>) -> Instances {
        let list = list.into_iter().map(Arc::new).collect();
        Instances { list: Arc::new(RwLock::new(Arc::new(list))), discovery: None }
    }

    /// The instances now (a refresh replaces the list; this one stays as it is).
    pub fn current(&self) -> Arc<Vec<Arc<Instance>>> {
        self.list.read().map(|l| l.clone()).unwrap_or_default()
    }

    fn set(&self, list: Vec<Arc<Instance>>) {
        if let Ok(mut l) = self.list.write() {
            *l = Arc::new(list);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.current().is_empty()
    }

    pub fn len(&self) -> usize {
        self.current().len()
    }

    /// The instance known as `addr`.
    pub fn get(&self, addr: &str) -> Option<Arc<Instance>> {
        self.current().iter().find(|i| i.addr == addr).cloned()
    }

    /// Whether [`Instances::refresh`] asks the RDS API (`database.discover_cluster`).
    pub fn discovers(&self) -> bool {
        self.discovery.is_some()
    }

    /// Asks the RDS API again: readers that appeared are added, gone ones dropped, the others
    /// kept with their connections. Returns whether the list changed. On an error the list
    /// stays as it was.
    pub async fn refresh(&self) -> anyhow::Result<bool> {
        let Some(d) = &self.discovery else { return Ok(false) };
        let addrs = d.addrs().await?;
        let old = self.current();
        let named: Vec<String> = addrs.iter().map(|(h, p)| addr_of(h, *p)).collect();
        if named.len() == old.len() && old.iter().all(|i| named.contains(&i.addr)) {
            return Ok(false);
        }
        let sdk = (d.db.auth != DbAuth::Password).then_some(&d.sdk);
        let list = build(&d.db, sdk, &d.names, &addrs, &old)?;
        tracing::info!(cluster = %d.cluster, before = old.len(), now = list.len(),
            instances = %named.join(","), "the cluster's instances changed");
        self.set(list);
        Ok(true)
    }
}

impl Discovery {
    /// The listed instances and the cluster's readers now.
    async fn addrs(&self) -> anyhow::Result<Vec<(String, u16)>> {
        let members = crate::aws::rds::discover(&self.sdk, &self.cluster)
            .await
            .with_context(|| format!("discovering the instances of {}", self.cluster))?;
        let mut addrs = self.listed.clone();
        add_readers(&mut addrs, &self.db, &members);
        tracing::info!(cluster = %self.cluster, members = members.len(), instances = addrs.len(),
            "discovered the cluster's instances");
        Ok(addrs)
    }
}

/// An instance per address, reusing those of `keep` with the same address.
fn build(
    db: &DatabaseConfig,
    sdk: Option<&aws_config::SdkConfig>,
    names: &Names,
    addrs: &[(String, u16)],
    keep: &[Arc<Instance>],
) -> anyhow::Result<Vec<Arc<Instance>>> {
    let sdk = if db.auth == DbAuth::Password { None } else { sdk };
    let mut list = Vec::with_capacity(addrs.len());
    for (host, port) in addrs {
        if let Some(same) = keep.iter().find(|i| i.addr == addr_of(host, *port)) {
            list.push(same.clone());
            continue;
        }
        let one = instance_config(db, host, *port);
        let creds = CredentialSource::from_config_with_sdk(&one, sdk, &names.broker())?;
        list.push(Arc::new(Instance::new(&one, names, creds)?));
    }
    Ok(list)
}

/// `host:port`, with brackets around an IPv6 host.
fn addr_of(host: &str, port: u16) -> String {
    let host = host.trim_matches(['[', ']']);
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
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
        Ok(Instance { addr: addr_of(&db.host, db.port), broker: Broker::new(pool, names.clone()) })
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
