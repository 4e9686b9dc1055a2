//! Issue 15 through the bot's own broker (`pgroles::broker::person`) on PostgreSQL 15 to 18:
//! each responder gets a login named after them, logs in over SCRAM TCP with the delivered
//! password, a resend (renew) replaces the password, ending one login leaves the others, and no
//! password or verifier reaches the audit rows or `pg_stat_activity`.

#![recursion_limit = "256"]

mod support;

use pgroles::broker::{Broker, IssueAudit};
use pgroles::config::AwsConfig;
use pgroles::model::Level;
use support::model::Model;
use support::pg;

fn audit(requester: &str) -> IssueAudit {
    IssueAudit {
        incident: "INC-123".into(),
        requester: requester.into(),
        approvers: vec!["U0APPROVER1".into()],
    }
}

#[tokio::test]
async fn each_responder_gets_an_own_login_that_renews_and_ends_alone() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i15brk");
        m.apply().await;
        let broker_pw = m.set_password(&m.names.broker()).await;
        let broker =
            Broker::from_config(&m.broker_db_config(&broker_pw), &AwsConfig::default(), &m.names)
                .await
                .expect("broker");
        let db = &m.names.database;
        let mut logins = Vec::new();
        for (user, request) in [
            ("U0ANNA1", "0badcafe-0000-4000-8000-000000000001"),
            ("U0BEN22", "1badcafe-0000-4000-8000-000000000002"),
        ] {
            let created = broker
                .create_person_login(Level::Rw, request, 45, &audit(user))
                .await
                .unwrap_or_else(|e| panic!("PG{v}: create for {user}: {e:?}"));
            assert_eq!(
                created.login,
                format!("{}ff_rw_{}_{}", m.names.role_prefix, user.to_lowercase(), &request[..8])
            );
            let client =
                pg::login(&server, db, &created.login, created.password.expose_for_delivery())
                    .await
                    .unwrap_or_else(|e| panic!("PG{v}: login: {}", pg::db_message(&e)));
            logins.push((created, client));
        }
        // Resend: a new password; the old one no longer logs in, the open session stays.
        let old = logins[0].0.password.expose_for_delivery().to_string();
        let renewed = broker.renew_person_login(&logins[0].0.login, 30, "U0ANNA1").await.unwrap();
        assert!(pg::login(&server, db, &renewed.login, &old).await.is_err(), "PG{v}");
        let _second =
            pg::login(&server, db, &renewed.login, renewed.password.expose_for_delivery())
                .await
                .unwrap_or_else(|e| panic!("PG{v}: renewed login: {}", pg::db_message(&e)));
        let live = broker.person_logins(false).await.unwrap();
        assert_eq!(live.len(), 2, "PG{v}: {live:?}");
        assert!(live.iter().all(|r| r.level == Some(Level::Rw) && r.role_exists));
        assert_eq!(live[0].sessions, 2, "PG{v}: the first login's two sessions");

        let end = broker.end_person_login(&logins[0].0.login, "timer").await.unwrap();
        assert_eq!((end.outcome.as_str(), end.sessions_ended), ("dropped", 2), "PG{v}");
        assert!(logins[0].1.query("SELECT 1", &[]).await.is_err(), "PG{v}: session ended");
        logins[1].1.query("SELECT 1", &[]).await.expect("the other responder still works");
        let again = broker.end_person_login(&logins[0].0.login, "timer").await.unwrap();
        assert_eq!(again.outcome, "ended already");
        let all = broker.person_logins(true).await.unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().any(|r| r.login == logins[0].0.login && !r.role_exists));

        // No secret in the audit rows or in any session's query text.
        let su = m.superuser().await;
        let text: String = su
            .query_one(
                "SELECT coalesce(string_agg(t, ' '), '') FROM (SELECT a::text t FROM \
                 db_admin.firefighter_audit a UNION ALL SELECT query FROM pg_stat_activity) x",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        for (created, _) in &logins {
            assert!(!text.contains(created.password.expose_for_delivery()), "PG{v}: password");
        }
        assert!(!text.contains("SCRAM-SHA-256$"), "PG{v}: no verifier");
        m.drop().await;
    }
}
