//! R1: a stolen broker login plants role-wide settings on the broker role (any role may change
//! its own defaults) so that the bot's later calls fail: expiry and termination must still work,
//! or a firefighter's open session outlives the grant.

use crate::role_state;
use crate::support::model::{db_message, Model};
use crate::support::pg;
use chrono::{Duration, Utc};
use pgroles::broker::{ActionAudit, Broker, IssueAudit};
use pgroles::config::AwsConfig;
use pgroles::model::Level;

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
