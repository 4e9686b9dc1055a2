//! AWS access: the shared SDK configuration, Secrets Manager (the broker's own password), RDS
//! IAM authentication tokens and Aurora cluster discovery (`aws-sdk-rds`).
//!
//! Owns the AWS HTTP client (rustls with ring, no aws-lc, no native-tls) and credential loading
//! through the default provider chain. Must not talk to PostgreSQL or know about Slack.

pub mod iam_token;
pub mod rds;
pub mod secrets;

use crate::config::AwsConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

pub use iam_token::IamTokenSource;
pub use secrets::{RdsSecret, SecretsManagerSource};

/// Loads the SDK configuration: default credential chain (env, profile, web identity, IMDS),
/// the configured region and optional endpoint override (tests point it at moto over http).
///
/// Calls time out: 3 s to connect, 5 s per attempt, 10 s per operation (retries included).
/// The HTTP client is built explicitly with rustls + ring: the crate's AWS dependencies have
/// their default features off so that no aws-lc or second rustls is compiled.
pub async fn sdk_config(cfg: &AwsConfig) -> SdkConfig {
    sdk_config_with(cfg, None).await
}

/// As [`sdk_config`], with explicit credentials instead of the default chain (tests against
/// moto, or a caller that already holds credentials).
pub async fn sdk_config_with(
    cfg: &AwsConfig,
    credentials: Option<SharedCredentialsProvider>,
) -> SdkConfig {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    // Every AWS call is bounded: a stalled endpoint fails the call instead of hanging it.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(5))
        .operation_timeout(std::time::Duration::from_secs(10))
        .build();
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(http).timeout_config(timeouts);
    if let Some(region) = &cfg.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    if let Some(c) = credentials {
        loader = loader.credentials_provider(c);
    }
    loader.load().await
}
