//! RDS IAM authentication tokens: a SigV4-presigned
//! `GET https://{host}:{port}/?Action=connect&DBUser={user}` for service `rds-db`, valid 900 s,
//! used as the password without its `https://`.
//!
//! Owns token generation (with `aws-sigv4`, not `aws-sdk-rds`, to keep the build lean) and a
//! cache that reuses a token for 10 minutes, well inside its 15. [`generate_token`] is pure: the
//! time and credentials are arguments. Tokens are secrets and never logged.

use anyhow::{anyhow, Context};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::SecretString;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Mutex;

/// Signed URL lifetime: RDS accepts at most 15 minutes.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// How long a cached token is handed out for new connections.
pub const TOKEN_REUSE: Duration = Duration::from_secs(600);

/// SigV4 URI encoding: everything but the unreserved `A-Za-z0-9-_.~`.
const SIGV4: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// What a token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub region: String,
}

/// Builds the token for `target`, signed with `credentials` at `now`.
pub fn generate_token(
    target: &TokenTarget,
    credentials: &Credentials,
    now: SystemTime,
) -> anyhow::Result<SecretString> {
    let base = format!(
        "{}:{}/?Action=connect&DBUser={}",
        target.host,
        target.port,
        utf8_percent_encode(&target.user, SIGV4)
    );
    let url = format!("https://{base}");

    let mut settings = SigningSettings::default();
    settings.expires_in = Some(TOKEN_LIFETIME);
    settings.signature_location = SignatureLocation::QueryParams;
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&target.region)
        .name("rds-db")
        .time(now)
        .settings(settings)
        .build()
        .context("building SigV4 parameters")?;
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::empty())
        .context("building the request to sign")?;
    let (instructions, _signature) = sign(request, &params.into())
        .map_err(|e| anyhow!("signing the RDS auth token: {e}"))?
        .into_parts();

    let mut token = base;
    for (name, value) in instructions.params() {
        token.push('&');
        token.push_str(name);
        token.push('=');
        token.extend(utf8_percent_encode(value, SIGV4));
    }
    Ok(SecretString::from(token))
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
        generate_token(&self.target, &creds, SystemTime::now())
    }
}

#[cfg(test)]
#[path = "iam_token_tests.rs"]
mod tests;
