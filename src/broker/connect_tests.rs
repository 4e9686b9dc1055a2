use super::*;
use crate::config::SslMode;
use secrecy::SecretString;

fn manager(db: &DatabaseConfig) -> BrokerManager {
    let creds = CredentialSource::Static(DbCredential {
        user: "u".into(),
        password: SecretString::from("p"),
    });
    BrokerManager::new(db, &Names::with_prefix("t_wiring"), Arc::new(creds)).unwrap()
}

#[test]
fn require_mode_connects_with_tls_required_to_the_model_database() {
    let db = DatabaseConfig {
        host: "db.example".into(),
        port: 6432,
        sslmode: SslMode::Require,
        ..DatabaseConfig::default()
    };
    let m = manager(&db);
    assert!(m.uses_tls());
    let c = m.base_config();
    assert_eq!(c.get_ssl_mode(), PgSslMode::Require);
    assert_eq!(c.get_dbname(), Some("t-wiring-db"));
    assert_eq!(c.get_ports(), &[6432]);
    assert_eq!(c.get_application_name(), Some("pgroles-broker"));
    // Credentials are added per login, never stored in the base configuration.
    assert_eq!(c.get_user(), None);
    assert_eq!(c.get_password(), None);
}

#[test]
fn disable_mode_uses_plain_tcp_and_an_explicit_dbname_wins() {
    let db = DatabaseConfig {
        sslmode: SslMode::Disable,
        dbname: Some("other".into()),
        ..DatabaseConfig::default()
    };
    let m = manager(&db);
    assert!(!m.uses_tls());
    assert_eq!(m.base_config().get_ssl_mode(), PgSslMode::Disable);
    assert_eq!(m.base_config().get_dbname(), Some("other"));
}

#[test]
fn verify_full_is_the_default_and_uses_tls() {
    let m = manager(&DatabaseConfig::default());
    assert!(m.uses_tls());
    assert_eq!(m.base_config().get_ssl_mode(), PgSslMode::Require);
}
