//! The broker's database credential from AWS Secrets Manager, in the RDS secret format
//! `{"username","password","host","port","dbname"}`.
//!
//! Owns fetching, parsing and caching the secret; [`SecretsManagerSource::refresh`] re-reads it
//! (after a rotation the cached password stops working). Must never put the secret's content in
//! an error, a log line or Debug output: parse errors report only line and column.

use anyhow::{anyhow, Context};
use aws_config::SdkConfig;
use secrecy::SecretString;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::Mutex;

/// A database secret in the RDS format. `password` is the only required field.
#[derive(Debug, Clone)]
pub struct RdsSecret {
    pub username: Option<String>,
    pub password: SecretString,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
}

#[derive(Deserialize)]
struct RawSecret {
    username: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<serde_json::Value>,
    dbname: Option<String>,
}

impl RdsSecret {
    /// Parses the secret string. Errors never quote the input.
    pub fn parse(json: &str) -> anyhow::Result<RdsSecret> {
        let raw: RawSecret = serde_json::from_str(json).map_err(|e| {
            anyhow!(
                "the secret is not RDS-format JSON (error at line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let password = raw.password.ok_or_else(|| anyhow!("the secret has no \"password\""))?;
        // RDS writes the port as a number; hand-made secrets often use a string.
        let port = match raw.port {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        Ok(RdsSecret {
            username: raw.username,
            password: SecretString::from(password),
            host: raw.host,
            port,
            dbname: raw.dbname,
        })
    }
}

/// A cached Secrets Manager secret.
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    cached: Mutex<Option<Arc<RdsSecret>>>,
}

impl std::fmt::Debug for SecretsManagerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerSource").field("secret_id", &self.secret_id).finish()
    }
}

impl SecretsManagerSource {
    pub fn new(sdk: &SdkConfig, secret_id: impl Into<String>) -> SecretsManagerSource {
        SecretsManagerSource {
            client: aws_sdk_secretsmanager::Client::new(sdk),
            secret_id: secret_id.into(),
            cached: Mutex::new(None),
        }
    }

    /// The cached secret, fetched on first use.
    pub async fn get(&self) -> anyhow::Result<Arc<RdsSecret>> {
        let mut cached = self.cached.lock().await;
        if let Some(s) = cached.as_ref() {
            return Ok(Arc::clone(s));
        }
        let fresh = Arc::new(self.fetch().await?);
        *cached = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    /// Fetches the secret again and replaces the cache (after an authentication failure).
    pub async fn refresh(&self) -> anyhow::Result<Arc<RdsSecret>> {
        let mut cached = self.cached.lock().await;
        let fresh = Arc::new(self.fetch().await?);
        *cached = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    async fn fetch(&self) -> anyhow::Result<RdsSecret> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e)))
            .with_context(|| format!("reading secret {:?} from Secrets Manager", self.secret_id))?;
        let text = out.secret_string().ok_or_else(|| {
            anyhow!(
                "secret {:?} has no SecretString (binary secrets are not supported)",
                self.secret_id
            )
        })?;
        RdsSecret::parse(text).with_context(|| format!("parsing secret {:?}", self.secret_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn parses_the_rds_secret_format() {
        let s = RdsSecret::parse(
            r#"{"engine":"postgres","username":"my_pg_password_broker","password":"pw-1",
                "host":"db.example","port":5432,"dbname":"my-pg-db"}"#,
        )
        .unwrap();
        assert_eq!(s.username.as_deref(), Some("my_pg_password_broker"));
        assert_eq!(s.password.expose_secret(), "pw-1");
        assert_eq!(s.host.as_deref(), Some("db.example"));
        assert_eq!(s.port, Some(5432));
        assert_eq!(s.dbname.as_deref(), Some("my-pg-db"));
    }

    #[test]
    fn accepts_a_port_written_as_a_string_and_a_password_only_secret() {
        let s = RdsSecret::parse(r#"{"password":"x","port":"6432"}"#).unwrap();
        assert_eq!(s.port, Some(6432));
        assert!(s.username.is_none());
    }

    #[test]
    fn parse_errors_never_quote_the_secret() {
        let e = RdsSecret::parse(r#"{"password": 12345678, "username": "u"}"#).unwrap_err();
        assert!(!format!("{e:#}").contains("12345678"), "{e:#}");
        let e = RdsSecret::parse(r#"{"username":"u"}"#).unwrap_err();
        assert!(format!("{e:#}").contains("no \"password\""));
        let s = RdsSecret::parse(r#"{"password":"hunter2hunter2"}"#).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
