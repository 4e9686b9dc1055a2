//! Issue, log in, and let the worker end it: on every cluster with a static broker password, and
//! with the broker's password from Secrets Manager (moto).

use crate::fixture::{eventually, spawn_worker, Fixture};
use crate::support::pg;
use pgroles::model::Level;
use std::time::Duration;

/// Issues a 2 s grant, logs in, runs the worker until it expires, checks everything after.
async fn issue_login_and_expire(fx: &Fixture, level: Level) {
    let v = fx.server.version;
    let rec = fx
        .service
        .issue(fx.request(level, "U0HOLDER", Duration::from_secs(2)))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {v}: issue: {e:?}"));
    assert_eq!(rec.role, fx.role(level));
    assert!(
        rec.db_valid_until >= rec.expires_at
            && rec.db_valid_until <= rec.expires_at + chrono::Duration::seconds(1),
        "VALID UNTIL is the grant's end to the second (I11-6)"
    );
    assert_eq!(fx.service.active(level).await.unwrap().map(|g| g.id), Some(rec.id.clone()));

    // The holder logs in over TCP with the delivered password and keeps the session open.
    let password = fx.recorder.last_password();
    let session = fx
        .login(level, &password)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {v}: firefighter login: {e}"));
    let who: String = session.query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
    assert_eq!(who, fx.role(level));

    let worker = spawn_worker(fx.service.clone());
    let expired =
        eventually(Duration::from_secs(20), || async { fx.recorder.count("expired") == 1 }).await;
    let stats = worker.stop().await;
    assert!(expired, "PostgreSQL {v}: no Expired notification; worker {stats:?}");
    assert_eq!(fx.recorder.of("expired")[0].sessions_ended, Some(1));
    assert_eq!(fx.recorder.of("expired")[0].grant_id.as_deref(), Some(rec.id.as_str()));
    assert_eq!(fx.recorder.count("reminder"), 1, "reminder 1 s before the end");

    // The open session was terminated, and the password no longer logs in.
    assert!(session.query_one("SELECT 1", &[]).await.is_err(), "PostgreSQL {v}: session survived");
    fx.assert_login_refused(level, &password).await;
    assert!(fx.valid_until(level).await.expect("a VALID UNTIL") < rec.granted_at);

    // Audit: issue, expire, terminate (1 session), the last two by the timer.
    let audit = fx.audit().await;
    let events: Vec<&str> = audit.iter().map(|(e, _, _)| e.as_str()).collect();
    assert_eq!(events, ["issue", "expire", "terminate"], "PostgreSQL {v}: {audit:?}");
    assert_eq!(audit[2].1, Some(1));
    assert_eq!(audit[1].2, "timer");

    // Nothing is left in Redis for the grant.
    assert!(fx.service.active(level).await.unwrap().is_none());
    assert!(fx.service.queue().pending().await.unwrap().is_empty(), "PostgreSQL {v}");
}

#[tokio::test]
async fn a_delivered_password_works_until_the_worker_expires_it_on_every_cluster() {
    for server in pg::versions() {
        let fx = Fixture::new(&server, "grantexp").await;
        issue_login_and_expire(&fx, Level::Ro).await;
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn a_broker_password_from_secrets_manager_issues_and_expires_grants() {
    let moto = crate::support::moto::Moto::spawn();
    let aws = pgroles::config::AwsConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.endpoint()),
    };
    let creds = aws_credential_types::Credentials::new("test", "test", None, None, "moto");
    let sdk = pgroles::aws::sdk_config_with(
        &aws,
        Some(aws_credential_types::provider::SharedCredentialsProvider::new(creds)),
    )
    .await;
    let server = pg::versions().remove(0);
    let mut fx = Fixture::new(&server, "grantsm").await;
    let names = &fx.model.names;
    let secret_id = format!("pgroles/{}/broker", names.role_prefix.trim_end_matches('_'));
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&secret_id)
        .secret_string(
            serde_json::json!({
                "engine": "postgres", "username": names.broker(), "password": fx.broker_pw,
                "host": server.host, "port": server.port, "dbname": names.database,
            })
            .to_string(),
        )
        .send()
        .await
        .expect("create the secret in moto");
    let broker = fx.secrets_manager_broker(&sdk, &secret_id);
    fx.service = fx.service_with(broker, std::sync::Arc::new(pgroles::timers::SystemClock)).await;
    issue_login_and_expire(&fx, Level::Rw).await;
    fx.cleanup().await;
}
