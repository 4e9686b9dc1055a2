//! Smoke tests of the test support itself, against the real services: every PostgreSQL cluster
//! answers with its own version and enforces SCRAM + VALID UNTIL, the Aurora fixture behaves
//! like the emulation the design describes, cleanup leaves nothing behind, a private Redis can
//! go down and come back, and moto answers Secrets Manager calls.

mod support;

use std::time::Duration;

use support::pg;
use support::redis::OwnRedis;

async fn role_count(server: &pg::PgServer, prefix: &str) -> i64 {
    let client = pg::superuser(server, "postgres").await;
    let row = client
        .query_one("SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1)", &[&prefix])
        .await
        .expect("count roles");
    row.get(0)
}

#[tokio::test]
async fn every_cluster_answers_with_its_own_major_version() {
    let servers = pg::versions();
    assert!(!servers.is_empty(), "PGROLES_TEST_PG names no cluster");
    for server in servers {
        let client = pg::superuser(&server, "postgres").await;
        let row = client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .expect("server_version_num");
        let num: i32 = row.get(0);
        assert_eq!(
            u32::try_from(num / 10_000).expect("positive version"),
            server.version,
            "cluster at port {} runs {num}",
            server.port
        );
    }
}

#[tokio::test]
async fn expired_password_is_refused_and_valid_one_logs_in_on_every_cluster() {
    for server in pg::versions() {
        let prefix = pg::unique_prefix("validity");
        let (past, future) = (format!("{prefix}_past"), format!("{prefix}_future"));
        let password = support::random_alnum(32);
        let admin = pg::superuser(&server, "postgres").await;
        admin
            .batch_execute(&format!(
                "CREATE ROLE {past} LOGIN PASSWORD '{password}' VALID UNTIL '2000-01-01'; \
                 CREATE ROLE {future} LOGIN PASSWORD '{password}' \
                   VALID UNTIL '{}';",
                (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()
            ))
            .await
            .expect("create roles");

        let refused = pg::login(&server, "postgres", &past, &password).await;
        let err = refused.err().unwrap_or_else(|| {
            panic!("PostgreSQL {}: a password past VALID UNTIL was accepted", server.version)
        });
        let code = err.as_db_error().map(|d| d.code().code().to_string());
        assert_eq!(code.as_deref(), Some("28P01"), "{err}");

        let wrong = pg::login(&server, "postgres", &future, "not-the-password").await;
        assert!(wrong.is_err(), "PostgreSQL {}: wrong password accepted", server.version);

        let client = pg::login(&server, "postgres", &future, &password).await.unwrap_or_else(|e| {
            panic!("PostgreSQL {}: valid login refused: {}", server.version, pg::db_message(&e))
        });
        let who: String =
            client.query_one("SELECT current_user::text", &[]).await.expect("current_user").get(0);
        assert_eq!(who, future);
        drop(client);

        pg::drop_model(&server, &prefix).await;
        assert_eq!(role_count(&server, &prefix).await, 0);
    }
}

#[tokio::test]
async fn aurora_master_can_grant_rds_password_but_noadmin_master_cannot_on_16_and_later() {
    for server in pg::versions() {
        let prefix = pg::unique_prefix("aurora");
        let master = pg::aurora_fixture(&server, &prefix).await;
        let client =
            pg::login(&server, "postgres", &master.name, &master.password).await.unwrap_or_else(
                |e| panic!("PostgreSQL {}: master login: {}", server.version, pg::db_message(&e)),
            );
        let broker = pg::ident(&format!("{prefix}_broker"));
        let db = pg::ident(&format!("{}-db", prefix.replace('_', "-")));
        client
            .batch_execute(&format!(
                "CREATE ROLE {broker} NOLOGIN; GRANT rds_password, rds_iam TO {broker};"
            ))
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL {}: master grants: {}", server.version, pg::db_message(&e))
            });
        client
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL {}: {}", server.version, pg::db_message(&e)));
        drop(client);

        let noadmin_prefix = pg::unique_prefix("noadmin");
        let weak = pg::aurora_fixture_noadmin(&server, &noadmin_prefix).await;
        let client =
            pg::login(&server, "postgres", &weak.name, &weak.password).await.unwrap_or_else(|e| {
                panic!("PostgreSQL {}: noadmin login: {}", server.version, pg::db_message(&e))
            });
        let target = pg::ident(&format!("{noadmin_prefix}_broker"));
        client
            .batch_execute(&format!("CREATE ROLE {target} NOLOGIN"))
            .await
            .expect("create role as noadmin master");
        let granted = client.batch_execute(&format!("GRANT rds_password TO {target}")).await;
        if server.version >= 16 {
            let err = granted.expect_err("noadmin master granted rds_password on 16+");
            let db = err.as_db_error().unwrap_or_else(|| panic!("not a db error: {err:?}"));
            assert_eq!(db.code().code(), "42501", "{err:?}");
            assert!(db.detail().unwrap_or_default().contains("ADMIN option"), "{err:?}");
        } else {
            granted.expect("CREATEROLE grants any non-superuser role on 15");
        }
        drop(client);

        pg::drop_model(&server, &prefix).await;
        pg::drop_model(&server, &noadmin_prefix).await;
        assert_eq!(role_count(&server, &prefix).await, 0, "{prefix} roles left");
        assert_eq!(role_count(&server, &noadmin_prefix).await, 0);
        let admin = pg::superuser(&server, "postgres").await;
        let dbs: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)",
                &[&prefix.replace('_', "-")],
            )
            .await
            .expect("count databases")
            .get(0);
        assert_eq!(dbs, 0, "database of {prefix} left behind");
    }
}

#[test]
fn unique_prefixes_are_distinct_short_lowercase_identifiers() {
    let a = pg::unique_prefix("Some-Very-Long-Tag-Name");
    let b = pg::unique_prefix("Some-Very-Long-Tag-Name");
    assert_ne!(a, b);
    for p in [&a, &b] {
        assert!(p.len() <= 30, "{p} is {} bytes", p.len());
        assert!(p.starts_with("t_someverylo_"), "{p}");
        assert!(p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        assert!(format!("{p}_firefighter_password_broker").len() <= 63);
    }
}

async fn ping(url: &str) -> Result<String, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_multiplexed_async_connection().await?;
    redis::cmd("PING").query_async(&mut con).await
}

#[tokio::test]
async fn shared_redis_answers() {
    assert_eq!(ping(&support::redis::url()).await.expect("ping"), "PONG");
}

#[tokio::test]
async fn own_redis_can_be_stopped_and_started_again_on_the_same_port() {
    let mut own = OwnRedis::spawn();
    let url = own.url();
    assert_eq!(ping(&url).await.expect("ping while up"), "PONG");

    own.stop();
    assert!(!own.is_running());
    let down = tokio::time::timeout(Duration::from_secs(5), ping(&url)).await;
    assert!(matches!(down, Ok(Err(_)) | Err(_)), "a stopped Redis answered");

    own.start();
    assert_eq!(own.url(), url);
    assert_eq!(ping(&url).await.expect("ping after restart"), "PONG");
}

#[tokio::test]
async fn moto_answers_secrets_manager_calls() {
    let moto = support::moto::Moto::spawn();
    let http = reqwest::Client::new();
    let call = |target: &'static str, body: serde_json::Value| {
        http.post(moto.endpoint())
            .header("X-Amz-Target", format!("secretsmanager.{target}"))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/secretsmanager/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
    };
    let created =
        call("CreateSecret", serde_json::json!({"Name": "harness", "SecretString": "s3cret"}))
            .await
            .expect("CreateSecret");
    assert!(created.status().is_success(), "{}", created.status());
    let got: serde_json::Value = call("GetSecretValue", serde_json::json!({"SecretId": "harness"}))
        .await
        .expect("GetSecretValue")
        .json()
        .await
        .expect("json");
    assert_eq!(got["SecretString"], "s3cret");
}
