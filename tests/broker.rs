//! The password broker against real PostgreSQL 15 to 18 (and moto for Secrets Manager):
//! a firefighter logs in with the issued password until it is expired, terminate ends the open
//! session, every step is audited, and the plaintext reaches neither the audit table nor
//! `pg_stat_activity`. The broker's own password comes from configuration or Secrets Manager,
//! and a rotated secret is picked up after a failed login.

// The firefighter flow is one long async test; its future type nests deeper than the default.
#![recursion_limit = "256"]

mod support;

use chrono::{Duration as ChronoDuration, Utc};
use pgroles::broker::{ActionAudit, Broker, BrokerError, CredentialSource, IssueAudit};
use pgroles::config::{AwsConfig, DatabaseConfig, DbAuth};
use pgroles::model::{Level, Names};
use support::model::Model;
use support::pg::{self, PgServer};

/// Applies the model under a fresh prefix and gives the broker role `broker_password`.
async fn model_with_broker(server: &PgServer, tag: &str, broker_password: &str) -> Model {
    let model = Model::new(server, tag);
    let report = model.apply().await;
    assert!(report.refused.is_empty(), "apply refused: {:?}", report.refused);
    pg::superuser(server, "postgres")
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD '{broker_password}'",
            pg::ident(&model.names.broker())
        ))
        .await
        .expect("set the broker password");
    model
}

/// [`model_with_broker`] with a random broker password, a broker logged in with it, and the
/// password (for more brokers of the same login).
async fn model_and_broker(server: &PgServer, tag: &str) -> (Model, Broker, String) {
    let broker_pw = support::random_alnum(32);
    let model = model_with_broker(server, tag, &broker_pw).await;
    let cfg = server.static_database_config(&broker_pw);
    let broker =
        Broker::from_config(&cfg, &AwsConfig::default(), &model.names).await.expect("broker");
    (model, broker, broker_pw)
}

fn issue_audit() -> IssueAudit {
    IssueAudit {
        incident: "INC-4242".into(),
        requester: "U0REQUESTER".into(),
        approvers: vec!["U0APPROVER1".into(), "U0APPROVER2".into()],
    }
}

/// A planned end `minutes` from now.
fn in_minutes(minutes: i64) -> chrono::DateTime<Utc> {
    Utc::now() + ChronoDuration::minutes(minutes)
}

fn action_audit() -> ActionAudit {
    ActionAudit { incident: "INC-4242".into(), actor: "U0ADMIN".into() }
}

/// Every audit row of the model, as text, read by the superuser.
async fn audit_rows(server: &PgServer, names: &Names) -> Vec<String> {
    pg::superuser(server, &names.database)
        .await
        .query(
            &format!(
                "SELECT format('%s|%s|%s|%s|%s|%s|%s', event, role, incident, requester, \
                 approvers, sessions_ended, a::text) FROM {}.firefighter_audit a ORDER BY id",
                pg::ident(&names.admin_schema)
            ),
            &[],
        )
        .await
        .expect("read the audit table")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Query texts of every session on the cluster.
async fn activity_texts(server: &PgServer) -> String {
    pg::superuser(server, "postgres")
        .await
        .query("SELECT coalesce(query, '') FROM pg_stat_activity", &[])
        .await
        .expect("pg_stat_activity")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn issued_password_logs_in_until_terminated_and_expired_on_every_cluster() {
    for server in pg::versions() {
        let (model, broker, _) = model_and_broker(&server, "brokerflow").await;
        let names = &model.names;
        let v = server.version;

        // A one-minute grant: VALID UNTIL is its end, to the second (I11-6).
        let before = Utc::now();
        let end = in_minutes(1);
        let issued = broker.issue(Level::Ro, end, &issue_audit()).await.expect("issue");
        let plaintext = issued.password.expose_for_delivery().to_owned();
        let until = issued.db_valid_until;
        assert!(
            until >= end && until <= end + ChronoDuration::seconds(1),
            "PostgreSQL {v}: planned end {end}, VALID UNTIL {until}"
        );
        // The call the server saw carries bind parameters only: neither the plaintext nor the
        // verifier is in any query text.
        let activity = activity_texts(&server).await;
        assert!(activity.contains("set_firefighter_password($1::name"), "PostgreSQL {v}");
        assert!(!activity.contains(&plaintext), "PostgreSQL {v}: plaintext in pg_stat_activity");
        assert!(!activity.contains("SCRAM-SHA-256$"), "PostgreSQL {v}: verifier in activity");
        assert_eq!(broker.role_valid_until(Level::Ro).await.unwrap(), Some(until));

        // The firefighter logs in over TCP (SCRAM) with the delivered password.
        let ff_role = names.firefighter(Level::Ro);
        let ff = pg::login(&server, &names.database, &ff_role, &plaintext)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL {v}: firefighter login: {e}"));
        let who: String = ff.query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
        assert_eq!(who, ff_role);

        let sessions = broker.sessions().await.expect("sessions");
        assert_eq!(sessions.len(), 1, "PostgreSQL {v}: {sessions:?}");
        assert_eq!(sessions[0].level, Some(Level::Ro));
        assert_eq!(sessions[0].database.as_deref(), Some(names.database.as_str()));

        // Terminate ends the open session.
        let ended = broker.terminate_sessions(Level::Ro, &action_audit()).await.unwrap();
        assert_eq!(ended, 1, "PostgreSQL {v}");
        assert!(ff.query_one("SELECT 1", &[]).await.is_err(), "PostgreSQL {v}: session survived");
        assert!(broker.sessions().await.unwrap().is_empty());

        // Expire: the same password is refused from now on.
        broker.expire(Level::Ro, &action_audit()).await.expect("expire");
        let refused = pg::login(&server, &names.database, &ff_role, &plaintext).await;
        let code = refused.err().and_then(|e| e.code().map(|c| c.code().to_owned()));
        assert_eq!(code.as_deref(), Some("28P01"), "PostgreSQL {v}: login after expire");
        let expired = broker.role_valid_until(Level::Ro).await.unwrap().expect("a VALID UNTIL");
        assert!(expired < before, "PostgreSQL {v}: VALID UNTIL {expired} after expire");

        // Audit: issue, terminate, expire; with the incident, the people, and no secret.
        let rows = audit_rows(&server, names).await;
        assert_eq!(rows.len(), 3, "PostgreSQL {v}: {rows:#?}");
        assert!(rows[0].starts_with(&format!(
            "issue|{ff_role}|INC-4242|U0REQUESTER|{{U0APPROVER1,U0APPROVER2}}|"
        )));
        assert!(rows[1].starts_with(&format!("terminate|{ff_role}|INC-4242|U0ADMIN||1|")));
        assert!(rows[2].starts_with(&format!("expire|{ff_role}|INC-4242|U0ADMIN|")));
        for row in &rows {
            assert!(!row.contains(&plaintext) && !row.contains("SCRAM"), "{row}");
        }

        model.drop().await;
    }
}

#[tokio::test]
async fn guard_refusals_reach_the_caller_as_refused_with_the_design_messages() {
    for server in pg::versions() {
        let (model, broker, broker_pw) = model_and_broker(&server, "brokerguard").await;
        let names = &model.names;
        let valid_until_before = broker.role_valid_until(Level::Rw).await.unwrap();
        for minutes in [-1, 125] {
            match broker.issue(Level::Rw, in_minutes(minutes), &issue_audit()).await {
                Err(BrokerError::Refused { message }) => assert_eq!(
                    message, "temporary password validity must end within 2 hours from now",
                    "PostgreSQL {}",
                    server.version
                ),
                other => panic!("PostgreSQL {}: {minutes} min gave {other:?}", server.version),
            }
        }
        // A broker whose names point at roles outside this model's allowlist.
        let foreign = Names { role_prefix: "postgres_".into(), ..names.clone() };
        let cfg = DatabaseConfig {
            user: Some(names.broker()),
            ..server.static_database_config(&broker_pw)
        };
        let stray = Broker::from_config(&cfg, &AwsConfig::default(), &foreign).await.unwrap();
        match stray.issue(Level::Ro, in_minutes(60), &issue_audit()).await {
            Err(BrokerError::Refused { message }) => assert_eq!(
                message,
                "role postgres_firefighter_ro is not allowed for firefighter password rotation"
            ),
            other => panic!("PostgreSQL {}: foreign role gave {other:?}", server.version),
        }
        // Nothing was changed or audited.
        assert_eq!(broker.role_valid_until(Level::Rw).await.unwrap(), valid_until_before);
        assert!(audit_rows(&server, names).await.is_empty());
        model.drop().await;
    }
}

#[tokio::test]
async fn unreachable_database_or_wrong_broker_password_is_unavailable() {
    let server = pg::versions().remove(0);
    let model = model_with_broker(&server, "brokerdown", &support::random_alnum(32)).await;
    let names = &model.names;

    let nowhere =
        DatabaseConfig { port: support::free_port(), ..server.static_database_config("x") };
    let broker = Broker::from_config(&nowhere, &AwsConfig::default(), names).await.unwrap();
    let e = broker.issue(Level::Ro, in_minutes(60), &issue_audit()).await.unwrap_err();
    assert!(matches!(e, BrokerError::Unavailable(_)), "{e:?}");

    let wrong = server.static_database_config("not-the-broker-password-at-all-000");
    let broker = Broker::from_config(&wrong, &AwsConfig::default(), names).await.unwrap();
    let e = broker.expire(Level::Ro, &action_audit()).await.unwrap_err();
    assert!(matches!(e, BrokerError::Unavailable(_)), "{e:?}");
    assert!(!e.user_message().contains("not-the-broker-password"));

    model.drop().await;
}

fn rds_secret(names: &Names, server: &PgServer, password: &str) -> String {
    serde_json::json!({
        "engine": "postgres",
        "username": names.broker(),
        "password": password,
        "host": server.host,
        "port": server.port,
        "dbname": names.database,
    })
    .to_string()
}

#[tokio::test]
async fn broker_password_from_secrets_manager_works_and_is_refreshed_after_rotation() {
    let moto = support::moto::Moto::spawn();
    let (_aws, sdk) = moto.sdk().await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    for server in pg::versions() {
        let v = server.version;
        let first = support::random_alnum(32);
        let model = model_with_broker(&server, "brokersm", &first).await;
        let names = &model.names;
        let secret_id = format!("pgroles/{}/broker", names.role_prefix.trim_end_matches('_'));
        sm.create_secret()
            .name(&secret_id)
            .secret_string(rds_secret(names, &server, &first))
            .send()
            .await
            .expect("create the secret in moto");

        let db = DatabaseConfig {
            auth: DbAuth::SecretsManager,
            secret_id: Some(secret_id.clone()),
            pool_size: 1,
            ..server.database_config()
        };
        let creds = CredentialSource::from_config_with_sdk(&db, Some(&sdk), &names.broker())
            .expect("credential source");
        let broker = Broker::with_credentials(&db, names, creds).expect("broker");
        let issued = broker.issue(Level::Rw, in_minutes(120), &issue_audit()).await.expect("issue");
        let ff = pg::login(
            &server,
            &names.database,
            &names.firefighter(Level::Rw),
            issued.password.expose_for_delivery(),
        )
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {v}: firefighter login: {e}"));
        drop(ff);

        // A second broker process has read (and cached) the secret; then the password rotates
        // in the role and in the secret, so its cached password is now wrong.
        let stale = CredentialSource::from_config_with_sdk(&db, Some(&sdk), &names.broker())
            .expect("credential source");
        stale.current().await.expect("read the secret before the rotation");
        let second = support::random_alnum(32);
        pg::superuser(&server, "postgres")
            .await
            .batch_execute(&format!(
                "ALTER ROLE {} PASSWORD '{second}'",
                pg::ident(&names.broker())
            ))
            .await
            .unwrap();
        sm.put_secret_value()
            .secret_id(&secret_id)
            .secret_string(rds_secret(names, &server, &second))
            .send()
            .await
            .expect("rotate the secret in moto");

        // Its first login with the cached password fails (28P01); it re-reads the secret once
        // and succeeds.
        let rotated = Broker::with_credentials(&db, names, stale).expect("broker");
        let again = rotated
            .issue(Level::Rw, in_minutes(60), &issue_audit())
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL {v}: issue after rotation: {e:?}"));
        pg::login(
            &server,
            &names.database,
            &names.firefighter(Level::Rw),
            again.password.expose_for_delivery(),
        )
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {v}: login after rotation: {e}"));

        model.drop().await;
    }
}

/// I11-1 through the bot's own path: the broker login put hostile DateStyle/TimeZone/
/// password_encryption on itself (role-wide, so the bot's pooled connections get them). The
/// VALID UNTIL the bot asks for is what the role gets, and the verifier is stored as sent.
#[tokio::test]
async fn the_brokers_own_role_settings_do_not_move_valid_until() {
    for server in pg::versions() {
        let v = server.version;
        let (model, _, broker_pw) = model_and_broker(&server, "brokertz").await;
        let names = &model.names;
        let own =
            pg::login(&server, &names.database, &names.broker(), &broker_pw).await.expect("login");
        own.batch_execute(
            "ALTER ROLE CURRENT_USER SET \"DateStyle\" = 'SQL, MDY'; \
             ALTER ROLE CURRENT_USER SET \"TimeZone\" = 'CST-167'; \
             ALTER ROLE CURRENT_USER SET password_encryption = 'md5'",
        )
        .await
        .expect("the broker alters itself");
        drop(own);
        // A broker created after the change: its connections start with those settings.
        let cfg = server.static_database_config(&broker_pw);
        let broker = Broker::from_config(&cfg, &AwsConfig::default(), names).await.unwrap();
        let end = in_minutes(37);
        let issued = broker.issue(Level::Rw, end, &issue_audit()).await.expect("issue");
        let catalog = broker.role_valid_until(Level::Rw).await.unwrap();
        assert_eq!(catalog, Some(issued.db_valid_until), "PostgreSQL {v}");
        assert!(
            issued.db_valid_until >= end
                && issued.db_valid_until <= end + ChronoDuration::seconds(1),
            "PostgreSQL {v}: planned end {end}, VALID UNTIL {}",
            issued.db_valid_until
        );
        pg::login(
            &server,
            &names.database,
            &names.firefighter(Level::Rw),
            issued.password.expose_for_delivery(),
        )
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {v}: firefighter login: {e}"));
        model.drop().await;
    }
}
