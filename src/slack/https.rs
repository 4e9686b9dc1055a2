//! The HTTPS connector every Slack call uses (the Web API client, the password DM's own POST,
//! Socket Mode): rustls with the ring provider and the webpki roots.
//!
//! Owns only building the connector; it imports nothing of the crate, so the callers do not
//! depend on one another for it.

use std::sync::Arc;

use anyhow::Context;

/// hyper-rustls with the ring provider given explicitly (no process-wide provider needed),
/// the webpki roots, and plain http allowed (`SlackApi::new`'s URL check limits it to loopback).
pub(crate) fn https_connector(
) -> anyhow::Result<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>>
{
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS configuration for Slack")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build())
}
