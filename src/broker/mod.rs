//! The password broker: temporary passwords, their SCRAM verifiers, and the calls to the
//! `db_admin` functions over the broker's own pooled, credential-refreshing connection.
//!
//! Module map:
//! - [`password`]: `TempPassword` (CSPRNG, redacted, zeroized) and `ScramVerifier`.
//! - [`credential`]: the broker's login: static password, Secrets Manager or IAM token.
//! - [`tls`]: `sslmode` -> rustls (ring) client configuration.
//! - [`connect`]: the deadpool manager that logs in with a fresh credential, retrying once.
//! - [`session`]: a borrowed connection whose every statement has a deadline.
//! - [`calls`]: `Broker::{issue, expire, terminate_sessions, sessions, role_valid_until}`.
//! - [`person`]: per-person logins (issue 15): `Broker::{create_person_login,
//!   renew_person_login, end_person_login, person_logins}`.
//! - [`instances`]: the cluster's other instances (Aurora readers, issue 16): a broker per
//!   instance and `Broker::{end_instance_sessions, instance_sessions,
//!   record_instance_sessions_ended}`.
//! - [`history`]: `Broker::history` (issue 17, `firefighter_history`) and `pgroles history`.
//! - [`activity`]: `Broker::person_activity` (issue 15): a per-person login's statements, read
//!   from pg_stat_statements through `db_admin.person_activity`.
//! - [`budget`]: the connection budget and the startup check against `rolconnlimit`.
//! - [`error`]: `BrokerError` (`Unavailable`, `Refused`, `Unexpected`) and its user text.
//!
//! This module must not decide policy (who may approve, how long): callers do.

pub mod activity;
pub mod budget;
pub mod calls;
pub mod connect;
pub mod credential;
pub mod error;
pub mod extend;
pub mod history;
pub mod instances;
pub mod password;
pub mod person;
pub mod session;
pub mod tls;

pub use calls::{ceil_to_second, ActionAudit, Broker, FirefighterSession, IssueAudit, Issued};
pub use credential::{CredentialSource, DbCredential};
pub use error::BrokerError;
pub use instances::{Instance, InstanceEnd, InstanceSession, Instances};
pub use password::{ScramVerifier, TempPassword};
pub use person::{minutes_until, short_grant_id, PersonLogin, PersonLoginEnd, PersonLoginRow};

use crate::config::{AwsConfig, DatabaseConfig};
use crate::model::Names;
use std::sync::Arc;

impl Broker {
    /// Builds the broker from configuration: credential source by `db.auth`, TLS by
    /// `db.sslmode`, a pool of `db.pool_size`. Connects lazily (first call).
    pub async fn from_config(
        db: &DatabaseConfig,
        aws: &AwsConfig,
        names: &Names,
    ) -> anyhow::Result<Broker> {
        let creds = CredentialSource::from_config(db, aws, &names.broker()).await?;
        Broker::with_credentials(db, names, creds)
    }

    /// As [`from_config`](Self::from_config) with an explicit credential source.
    pub fn with_credentials(
        db: &DatabaseConfig,
        names: &Names,
        creds: CredentialSource,
    ) -> anyhow::Result<Broker> {
        let manager = connect::BrokerManager::new(db, names, Arc::new(creds))?;
        let pool = connect::build_pool(manager, db.pool_size)?;
        Ok(Broker::new(pool, names.clone()))
    }
}
