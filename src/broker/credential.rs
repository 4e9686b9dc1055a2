//! Where the broker's own database credential comes from: a static password, a Secrets Manager
//! secret (RDS format) or an RDS IAM token.
//!
//! Owns the choice by `DatabaseConfig::auth`, the cached current credential and its forced
//! refresh (used once after an authentication failure). Must not open database connections.

use crate::aws::iam_token::TokenTarget;
use crate::aws::{IamTokenSource, SecretsManagerSource};
use crate::config::{AwsConfig, DatabaseConfig, DbAuth};
use anyhow::{anyhow, Context};
use aws_config::SdkConfig;
use secrecy::SecretString;

/// A user name and password to log in with.
#[derive(Debug, Clone)]
pub struct DbCredential {
    pub user: String,
    pub password: SecretString,
}

/// The configured source of [`DbCredential`]s.
#[derive(Debug)]
pub enum CredentialSource {
    Static(DbCredential),
    /// The secret's `username` wins over the configured user (the password belongs to it);
    /// host, port and database always come from the configuration.
    SecretsManager {
        source: SecretsManagerSource,
        default_user: String,
    },
    Iam(IamTokenSource),
}

impl CredentialSource {
    /// Builds the source for `db.auth`. `default_user` is the model's broker role, used when
    /// `db.user` is not set. AWS configuration (default credential chain) is loaded only for the
    /// AWS-backed modes.
    pub async fn from_config(
        db: &DatabaseConfig,
        aws: &AwsConfig,
        default_user: &str,
    ) -> anyhow::Result<CredentialSource> {
        let sdk = match db.auth {
            DbAuth::Password => None,
            DbAuth::SecretsManager | DbAuth::Iam => Some(crate::aws::sdk_config(aws).await),
        };
        CredentialSource::from_config_with_sdk(db, sdk.as_ref(), default_user)
    }

    /// As [`from_config`](Self::from_config) with an already loaded SDK configuration
    /// (required for `secrets-manager` and `iam`).
    pub fn from_config_with_sdk(
        db: &DatabaseConfig,
        sdk: Option<&SdkConfig>,
        default_user: &str,
    ) -> anyhow::Result<CredentialSource> {
        let user = db.user.clone().unwrap_or_else(|| default_user.to_owned());
        let need_sdk = || sdk.ok_or_else(|| anyhow!("database.auth = {:?} needs AWS", db.auth));
        Ok(match db.auth {
            DbAuth::Password => {
                let password = db.password.clone().ok_or_else(|| {
                    anyhow!("database.auth = \"password\" needs database.password")
                })?;
                CredentialSource::Static(DbCredential { user, password })
            }
            DbAuth::SecretsManager => {
                let id = db.secret_id.clone().ok_or_else(|| {
                    anyhow!("database.auth = \"secrets-manager\" needs database.secret_id")
                })?;
                CredentialSource::SecretsManager {
                    source: SecretsManagerSource::new(need_sdk()?, id),
                    default_user: user,
                }
            }
            DbAuth::Iam => {
                let sdk = need_sdk()?;
                let region = sdk
                    .region()
                    .map(|r| r.to_string())
                    .ok_or_else(|| anyhow!("database.auth = \"iam\" needs aws.region"))?;
                let target = TokenTarget { host: db.host.clone(), port: db.port, user, region };
                CredentialSource::Iam(IamTokenSource::from_sdk(sdk, target)?)
            }
        })
    }

    /// The current credential (cached by the AWS-backed sources).
    pub async fn current(&self) -> anyhow::Result<DbCredential> {
        match self {
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::SecretsManager { source, default_user } => {
                let s = source.get().await.context("broker credential from Secrets Manager")?;
                Ok(DbCredential {
                    user: s.username.clone().unwrap_or_else(|| default_user.clone()),
                    password: s.password.clone(),
                })
            }
            CredentialSource::Iam(src) => Ok(DbCredential {
                user: src.user().to_owned(),
                password: src.token().await.context("RDS IAM auth token")?,
            }),
        }
    }

    /// Re-reads the credential, bypassing caches. A static password cannot change: it is
    /// returned as is (the retry will fail the same way and the error reaches the caller).
    pub async fn refresh(&self) -> anyhow::Result<DbCredential> {
        match self {
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::SecretsManager { source, default_user } => {
                let s = source.refresh().await.context("broker credential from Secrets Manager")?;
                Ok(DbCredential {
                    user: s.username.clone().unwrap_or_else(|| default_user.clone()),
                    password: s.password.clone(),
                })
            }
            CredentialSource::Iam(src) => Ok(DbCredential {
                user: src.user().to_owned(),
                password: src.refresh().await.context("RDS IAM auth token")?,
            }),
        }
    }

    /// Whether [`refresh`](Self::refresh) can yield something new.
    pub fn can_refresh(&self) -> bool {
        !matches!(self, CredentialSource::Static(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[tokio::test]
    async fn static_password_uses_the_model_broker_role_by_default() {
        let db = DatabaseConfig {
            password: Some(SecretString::from("s3cret-static")),
            ..DatabaseConfig::default()
        };
        let src = CredentialSource::from_config(&db, &AwsConfig::default(), "t_x_password_broker")
            .await
            .unwrap();
        let c = src.current().await.unwrap();
        assert_eq!(c.user, "t_x_password_broker");
        assert_eq!(c.password.expose_secret(), "s3cret-static");
        assert!(!src.can_refresh());
        assert!(!format!("{src:?}").contains("s3cret-static"));
    }

    #[tokio::test]
    async fn each_auth_mode_names_its_missing_setting() {
        let aws = AwsConfig::default();
        let e = CredentialSource::from_config(&DatabaseConfig::default(), &aws, "b").await;
        assert!(format!("{:#}", e.unwrap_err()).contains("database.password"));
        let db = DatabaseConfig { auth: DbAuth::SecretsManager, ..DatabaseConfig::default() };
        let e = CredentialSource::from_config(&db, &aws, "b").await;
        assert!(format!("{:#}", e.unwrap_err()).contains("database.secret_id"));
    }

    #[tokio::test]
    async fn iam_mode_signs_for_the_configured_host_port_user_and_region() {
        let db = DatabaseConfig {
            auth: DbAuth::Iam,
            host: "db.example".into(),
            port: 6543,
            user: Some("iam_user".into()),
            ..DatabaseConfig::default()
        };
        let aws = AwsConfig { region: Some("eu-central-1".into()), endpoint_url: None };
        let src = CredentialSource::from_config(&db, &aws, "b").await.unwrap();
        let CredentialSource::Iam(iam) = &src else { panic!("not IAM: {src:?}") };
        let expected = TokenTarget {
            host: "db.example".into(),
            port: 6543,
            user: "iam_user".into(),
            region: "eu-central-1".into(),
        };
        assert_eq!(iam.target(), &expected);
        assert!(src.can_refresh());

        // The token such a source hands out, with fixed credentials.
        let creds = aws_credential_types::Credentials::new("AKID", "SECRET", None, None, "t");
        let src = CredentialSource::Iam(IamTokenSource::new(
            expected,
            aws_credential_types::provider::SharedCredentialsProvider::new(creds),
        ));
        let c = src.current().await.unwrap();
        assert_eq!(c.user, "iam_user");
        let token = c.password.expose_secret();
        assert!(token.starts_with("db.example:6543/?Action=connect&DBUser=iam_user&"), "{token}");
        assert!(token.contains("%2Feu-central-1%2Frds-db%2Faws4_request"));
    }
}
