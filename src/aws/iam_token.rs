//! RDS IAM authentication tokens: a SigV4-presigned
//! `GET https://{host}:{port}/?Action=connect&DBUser={user}` for service `rds-db`, valid 900 s,
//! used as the password without its `https://`.
//!
//! Owns the cache that reuses a token for 10 minutes, well inside its 15, and the pure
//! [`generate_token`] (time and credentials are arguments) on top of `aws-sdk-rds`'s
//! `AuthTokenGenerator`; the tests check it against an independent SigV4 computation. Tokens
//! are secrets and never logged.

use anyhow::{anyhow, Context};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_rds::auth_token::{AuthTokenGenerator, Config as TokenConfig};
use aws_smithy_async::time::StaticTimeSource;
use aws_types::region::Region;
use aws_types::SdkConfig;
use secrecy::SecretString;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Mutex;

/// Signed URL lifetime: RDS accepts at most 15 minutes.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// How long a cached token is handed out for new connections.
pub const TOKEN_REUSE: Duration = Duration::from_secs(600);

/// What a token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub region: String,
}

/// Builds the token for `target`, signed with `credentials` at `now`.
pub async fn generate_token(
    target: &TokenTarget,
    credentials: &Credentials,
    now: SystemTime,
) -> anyhow::Result<SecretString> {
    let config = TokenConfig::builder()
        .hostname(&target.host)
        .port(u64::from(target.port))
        .username(&target.user)
        .region(Region::new(target.region.clone()))
        .credentials(credentials.clone())
        .expires_in(TOKEN_LIFETIME.as_secs())
        .build()
        .map_err(|e| anyhow!("the RDS auth token's parameters: {e}"))?;
    let clock = SdkConfig::builder().time_source(StaticTimeSource::new(now)).build();
    let token = AuthTokenGenerator::new(config)
        .auth_token(&clock)
        .await
        .map_err(|e| anyhow!("signing the RDS auth token: {e}"))?;
    Ok(SecretString::from(token.as_str().to_owned()))
}

/// Tokens for one database user, cached for [`TOKEN_REUSE`].
pub struct IamTokenSource {
    target: TokenTarget,
    credentials: SharedCredentialsProvider,
    cached: Mutex<Option<(SecretString, Instant)>>,
}

impl std::fmt::Debug for IamTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamTokenSource").field("target", &self.target).finish()
    }
}

impl IamTokenSource {
    pub fn new(target: TokenTarget, credentials: SharedCredentialsProvider) -> IamTokenSource {
        IamTokenSource { target, credentials, cached: Mutex::new(None) }
    }

    /// From the SDK configuration's credential chain; the region comes from the target.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, target: TokenTarget) -> anyhow::Result<Self> {
        let credentials = sdk
            .credentials_provider()
            .ok_or_else(|| anyhow!("no AWS credentials provider is configured for IAM auth"))?;
        Ok(IamTokenSource::new(target, credentials))
    }

    pub fn target(&self) -> &TokenTarget {
        &self.target
    }

    pub fn user(&self) -> &str {
        &self.target.user
    }

    /// A token younger than [`TOKEN_REUSE`], generating one if needed.
    pub async fn token(&self) -> anyhow::Result<SecretString> {
        let mut cached = self.cached.lock().await;
        if let Some((token, at)) = cached.as_ref() {
            if at.elapsed() < TOKEN_REUSE {
                return Ok(token.clone());
            }
        }
        let fresh = self.generate().await?;
        *cached = Some((fresh.clone(), Instant::now()));
        Ok(fresh)
    }

    /// A new token (after an authentication failure: credentials may have rotated).
    pub async fn refresh(&self) -> anyhow::Result<SecretString> {
        let mut cached = self.cached.lock().await;
        let fresh = self.generate().await?;
        *cached = Some((fresh.clone(), Instant::now()));
        Ok(fresh)
    }

    async fn generate(&self) -> anyhow::Result<SecretString> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .context("loading AWS credentials for the RDS auth token")?;
        generate_token(&self.target, &creds, SystemTime::now()).await
    }
}

#[cfg(test)]
#[path = "iam_token_tests.rs"]
mod tests;
