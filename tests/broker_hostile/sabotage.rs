//! R1: a stolen broker login plants role-wide settings on the broker role (any role may change
//! its own defaults) so that the bot's later calls fail: expiry and termination must still work,
//! or a firefighter's open session outlives the grant.

use crate::role_state;
use crate::support::model::{db_message, Model};
use crate::support::pg;
use chrono::{Duration, Utc};
use pgroles::broker::connect::BrokerManager;
use pgroles::broker::{ActionAudit, Broker, CredentialSource, IssueAudit};
use pgroles::config::AwsConfig;
use pgroles::model::Level;
use std::sync::Arc;

/// The settings a hostile broker login gives its own role (all user-settable).
const SABOTAGE: &str = "ALTER ROLE CURRENT_USER SET default_transaction_read_only = on;
     ALTER ROLE CURRENT_USER SET statement_timeout = '1ms';
     ALTER ROLE CURRENT_USER SET lock_timeout = '1ms';
     ALTER ROLE CURRENT_USER SET idle_in_transaction_session_timeout = '1ms';
     ALTER ROLE CURRENT_USER SET default_transaction_isolation = 'serializable'";

/// The bot's expiry and termination work whatever the broker role's stored settings say.
#[tokio::test]
async fn r1_broker_role_settings_cannot_stop_expiry_or_termination() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "r1sab");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker_pw = m.set_password(&m.names.broker()).await;
        let cfg = m.broker_db_config(&broker_pw);
        let audit = IssueAudit {
            incident: "INC-R1".into(),
            requester: "U0REQ".into(),
            approvers: vec!["U0APP".into()],
        };
        let issued = Broker::from_config(&cfg, &AwsConfig::default(), &m.names)
            .await
            .expect("broker")
            .issue(Level::Ro, Utc::now() + Duration::hours(1), &audit)
            .await
            .expect("issue");
        let ro = m.names.firefighter(Level::Ro);
        let password = issued.password.expose_for_delivery().to_string();
        let ff = pg::login(&server, &m.names.database, &ro, &password).await.expect("ff login");

        // The attacker, holding the broker login, plants its settings.
        let hostile = pg::login(&server, &m.names.database, &m.names.broker(), &broker_pw)
            .await
            .expect("broker login");
        hostile.batch_execute(SABOTAGE).await.unwrap_or_else(|e| {
            panic!("PG{v}: the broker alters its own role: {}", db_message(&e))
        });
        if v >= 17 {
            hostile
                .batch_execute("ALTER ROLE CURRENT_USER SET transaction_timeout = '1ms'")
                .await
                .unwrap_or_else(|e| panic!("PG{v}: transaction_timeout: {}", db_message(&e)));
        }
        drop(hostile);

        // The bot's next connection (a fresh pool) ends the grant.
        let bot = Broker::from_config(&cfg, &AwsConfig::default(), &m.names).await.expect("broker");
        let end = ActionAudit { incident: "INC-R1".into(), actor: "timer".into() };
        bot.expire(Level::Ro, &end)
            .await
            .unwrap_or_else(|e| panic!("PG{v}: expiry under the broker's settings: {e}"));
        let ended = bot
            .terminate_sessions(Level::Ro, &end)
            .await
            .unwrap_or_else(|e| panic!("PG{v}: termination under the broker's settings: {e}"));
        assert_eq!(ended, 1, "PG{v}: the firefighter's session was ended");
        assert!(ff.batch_execute("SELECT 1").await.is_err(), "PG{v}: the session is gone");
        assert_eq!(role_state(&su, &ro).await.1, None, "PG{v}: no password left");
        m.drop().await;
    }
}

/// A firefighter holds its own catalog rows in an open transaction (`ALTER ROLE CURRENT_USER
/// PASSWORD ...` locks its `pg_authid` row; `... SET` its stored settings) with its idle
/// timeout turned off: expiry must not wait for it (the bot's `end_grant` expires before it
/// terminates, so a blocked expiry left the session alive past the grant). Expiry ends the
/// blocking session and removes the password.
#[tokio::test]
async fn r1_a_firefighter_transaction_cannot_hold_off_expiry() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "r1lock");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        // A hang becomes a failure of this test, not a stuck test.
        broker.batch_execute("SET statement_timeout = '20s'").await.expect("bound the test");
        let ro = m.names.firefighter(Level::Ro);
        for (setup, hold) in [
            ("SELECT 1", "BEGIN; ALTER ROLE CURRENT_USER PASSWORD 'QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'"),
            (
                "ALTER ROLE CURRENT_USER SET work_mem = '2MB'",
                "BEGIN; ALTER ROLE CURRENT_USER SET work_mem = '3MB'",
            ),
        ] {
            crate::set_hours(&broker, &ro, crate::PLAINTEXT, 1).await.expect("issue");
            let ff = pg::login(&server, &m.names.database, &ro, crate::PLAINTEXT)
                .await
                .expect("ff login");
            ff.batch_execute(setup).await.expect("committed first");
            ff.batch_execute(&format!("SET idle_in_transaction_session_timeout = 0; {hold}"))
                .await
                .unwrap_or_else(|e| panic!("PG{v}: the holder locks its rows: {}", db_message(&e)));
            broker
                .query_one(
                    "SELECT db_admin.expire_firefighter_password($1, 'INC-R1', 'timer')",
                    &[&ro],
                )
                .await
                .unwrap_or_else(|e| panic!("PG{v} {hold}: expiry: {}", db_message(&e)));
            assert_eq!(role_state(&su, &ro).await.1, None, "PG{v} {hold}: no password left");
            assert!(ff.batch_execute("SELECT 1").await.is_err(), "PG{v} {hold}: session ended");
        }
        m.drop().await;
    }
}

/// The bot's broker logins start with the pinned values whatever the broker role stores, and
/// `log_parameter_max_length_on_error` (user-settable, so a stolen broker login can set it to
/// -1 role-wide) stays 0: a failed call never logs its bind parameters (the verifier).
#[tokio::test]
async fn r1_broker_logins_start_with_pinned_settings() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "r1pin");
        m.apply().await;
        let broker_pw = m.set_password(&m.names.broker()).await;
        let hostile = pg::login(&server, &m.names.database, &m.names.broker(), &broker_pw)
            .await
            .expect("broker login");
        hostile
            .batch_execute(&format!(
                "{SABOTAGE}; ALTER ROLE CURRENT_USER SET log_parameter_max_length_on_error = -1"
            ))
            .await
            .unwrap_or_else(|e| panic!("PG{v}: {}", db_message(&e)));
        drop(hostile);

        let cfg = m.broker_db_config(&broker_pw);
        let creds = CredentialSource::from_config(&cfg, &AwsConfig::default(), &m.names.broker())
            .await
            .expect("credential");
        let manager = BrokerManager::new(&cfg, &m.names, Arc::new(creds)).expect("manager");
        let mut config = manager.base_config().clone();
        config.user(m.names.broker()).password(&broker_pw);
        let (bot, conn) = config.connect(tokio_postgres::NoTls).await.expect("bot login");
        tokio::spawn(conn);
        let statement_ms = manager.limits().statement.as_millis().to_string();
        let idle_ms = (manager.limits().statement.as_millis() * 2).to_string();
        for (name, want) in [
            ("default_transaction_read_only", "off"),
            ("default_transaction_isolation", "read committed"),
            // The configured limits (issue 13), not the 1 ms the role stored.
            ("statement_timeout", &statement_ms),
            ("lock_timeout", &statement_ms),
            ("idle_in_transaction_session_timeout", &idle_ms),
            ("log_parameter_max_length_on_error", "0"),
        ] {
            let got: String = bot
                .query_one("SELECT setting FROM pg_settings WHERE name = $1", &[&name])
                .await
                .expect("show")
                .get(0);
            assert_eq!(got, *want, "PG{v}: the bot's session has {name} pinned");
        }
        drop(bot);
        m.drop().await;
    }
}

/// A takeover issues a new password while the previous holder is still connected: the previous
/// holder's open transaction on its own `pg_authid` row must not hold the issue off for ever
/// (the bot would hang with the level reserved and the holder would keep its session).
#[tokio::test]
async fn r1_a_holders_transaction_cannot_hold_off_a_takeover_issue() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "r1take");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        broker.batch_execute("SET statement_timeout = '20s'").await.expect("bound the test");
        let rw = m.names.firefighter(Level::Rw);
        crate::set_hours(&broker, &rw, crate::PLAINTEXT, 1).await.expect("issue");
        let old =
            pg::login(&server, &m.names.database, &rw, crate::PLAINTEXT).await.expect("login");
        old.batch_execute(
            "SET idle_in_transaction_session_timeout = 0;
             BEGIN; ALTER ROLE CURRENT_USER PASSWORD 'QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'",
        )
        .await
        .unwrap_or_else(|e| panic!("PG{v}: the holder locks its row: {}", db_message(&e)));
        let next = "N".repeat(40);
        crate::set_hours(&broker, &rw, &next, 1)
            .await
            .unwrap_or_else(|e| panic!("PG{v}: the takeover issue: {e}"));
        assert!(old.batch_execute("SELECT 1").await.is_err(), "PG{v}: the old session ended");
        assert!(role_state(&su, &rw).await.1.is_some_and(|p| p.starts_with("SCRAM-SHA-256$")));
        pg::login(&server, &m.names.database, &rw, &next).await.expect("the new password logs in");
        m.drop().await;
    }
}

/// What a holder tried and PostgreSQL refused (kept so a later change cannot open it): moving
/// its own VALID UNTIL or connection limit, granting its role away, creating objects outside
/// pg_temp, a custom placeholder stored on its role. After expiry and termination its password
/// no longer logs in.
#[tokio::test]
async fn r1_a_holder_cannot_extend_or_hand_on_its_access() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "r1keep");
        m.apply().await;
        let broker = m.login_as(&m.names.broker()).await;
        let rw = m.names.firefighter(Level::Rw);
        crate::set_hours(&broker, &rw, crate::PLAINTEXT, 1).await.expect("issue");
        let ff = pg::login(&server, &m.names.database, &rw, crate::PLAINTEXT).await.expect("login");
        let schema = pg::ident(&m.names.schema);
        for sql in [
            "ALTER ROLE CURRENT_USER VALID UNTIL 'infinity'".to_string(),
            "ALTER ROLE CURRENT_USER CONNECTION LIMIT -1".to_string(),
            format!("GRANT {} TO PUBLIC", pg::ident(&rw)),
            format!("CREATE TABLE {schema}.keep (x int)"),
            "CREATE TABLE public.keep (x int)".to_string(),
            "ALTER ROLE CURRENT_USER SET pgroles.x = 'y'".to_string(),
            "CREATE PUBLICATION keep FOR ALL TABLES".to_string(),
        ] {
            let e = ff.batch_execute(&sql).await;
            assert!(e.is_err(), "PG{v}: a holder could run: {sql}");
        }
        broker
            .query_one("SELECT db_admin.expire_firefighter_password($1, 'INC', 'timer')", &[&rw])
            .await
            .expect("expire");
        broker
            .query_one("SELECT db_admin.terminate_firefighter_sessions($1, 'INC', 'timer')", &[&rw])
            .await
            .expect("terminate");
        assert!(ff.batch_execute("SELECT 1").await.is_err(), "PG{v}: session ended");
        assert!(
            pg::login(&server, &m.names.database, &rw, crate::PLAINTEXT).await.is_err(),
            "PG{v}: the password no longer logs in"
        );
        m.drop().await;
    }
}
