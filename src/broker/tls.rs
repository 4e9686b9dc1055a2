//! TLS for the broker's PostgreSQL connection: rustls with the ring provider.
//!
//! Owns the mapping of `sslmode` to a rustls client configuration: `disable` (plain TCP),
//! `require` (encrypted, server certificate NOT verified, like libpq's `require`) and
//! `verify-full` (chain checked against the `ca_file` PEM bundle, e.g. the RDS global bundle,
//! or the webpki roots, and the host name checked). Must not read credentials.

use crate::config::{DatabaseConfig, SslMode};
use anyhow::{anyhow, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// Installs ring as the process-wide rustls provider. With both ring and aws-lc compiled in,
/// rustls cannot pick one by itself; a second call (or another installer) is harmless.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn ring() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration for `cfg.sslmode`, or `None` for `disable`.
pub fn client_config(cfg: &DatabaseConfig) -> anyhow::Result<Option<ClientConfig>> {
    install_crypto_provider();
    let builder = ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let config = match cfg.sslmode {
        SslMode::Disable => return Ok(None),
        SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(ring())))
            .with_no_client_auth(),
        SslMode::VerifyFull => {
            let mut roots = RootCertStore::empty();
            match &cfg.ca_file {
                Some(path) => {
                    let certs = CertificateDer::pem_file_iter(path)
                        .with_context(|| format!("reading CA bundle {}", path.display()))?
                        .collect::<Result<Vec<_>, _>>()
                        .with_context(|| format!("parsing CA bundle {}", path.display()))?;
                    let (added, _ignored) = roots.add_parsable_certificates(certs);
                    if added == 0 {
                        return Err(anyhow!("no usable certificate in {}", path.display()));
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Some(config))
}

/// `sslmode=require`: accepts any server certificate, so the connection is encrypted against
/// passive eavesdropping but NOT authenticated (an active man in the middle is not detected).
/// Handshake signatures are still checked, so the peer must hold the key of the certificate it
/// sent. Use `verify-full` with the RDS CA bundle in production.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn cfg(sslmode: SslMode) -> DatabaseConfig {
        DatabaseConfig { sslmode, ..DatabaseConfig::default() }
    }

    #[test]
    fn disable_builds_no_tls() {
        assert!(client_config(&cfg(SslMode::Disable)).unwrap().is_none());
    }

    #[test]
    fn require_accepts_any_certificate() {
        let c = client_config(&cfg(SslMode::Require)).unwrap().unwrap();
        let v = AcceptAnyServerCert(ring());
        let bogus = CertificateDer::from(vec![0u8; 8]);
        let name = ServerName::try_from("db.example").unwrap();
        assert!(v.verify_server_cert(&bogus, &[], &name, &[], UnixTime::now()).is_ok());
        assert!(!v.supported_verify_schemes().is_empty());
        drop(c);
    }

    #[test]
    fn verify_full_without_ca_file_uses_webpki_roots() {
        assert!(client_config(&cfg(SslMode::VerifyFull)).unwrap().is_some());
    }

    #[test]
    fn verify_full_trusts_the_ca_bundle_file() {
        // A self-signed CA whose key was discarded (src/broker/testdata/test-ca.pem).
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/broker/testdata/test-ca.pem");
        let c = DatabaseConfig { ca_file: Some(path), ..cfg(SslMode::VerifyFull) };
        assert!(client_config(&c).unwrap().is_some());
    }

    #[test]
    fn verify_full_rejects_a_ca_file_without_certificates() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "not a certificate").unwrap();
        let c = DatabaseConfig { ca_file: Some(f.path().into()), ..cfg(SslMode::VerifyFull) };
        let e = client_config(&c).unwrap_err();
        assert!(format!("{e:#}").contains("no usable certificate"), "{e:#}");
        let missing = DatabaseConfig {
            ca_file: Some("/nonexistent/rds-global-bundle.pem".into()),
            ..cfg(SslMode::VerifyFull)
        };
        assert!(client_config(&missing).is_err());
    }
}
