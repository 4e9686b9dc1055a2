//! Per-person grants (`access.identity = "per_person"`) through the grant service on every
//! PostgreSQL under test: three responders hold one level at once, each logs in over SCRAM TCP
//! as a login of their own, is attributed in `pg_stat_activity` and the audit, and one ending
//! (revoke, then an expiry by the worker) leaves the others untouched.

use crate::fixture::{eventually, spawn_worker, test_settings, Fixture};
use crate::support::pg;
use pgroles::access::settings::Identity;
use pgroles::grants::{GrantError, GrantRecord, GrantService};
use pgroles::model::Level;
use pgroles::timers::{self, DocStore, SystemClock, TimerQueue};
use std::sync::Arc;
use std::time::Duration;

const TEN_MIN: Duration = Duration::from_secs(600);

async fn person_service(fx: &Fixture) -> Arc<GrantService> {
    let broker = pgroles::broker::Broker::from_config(
        &fx.static_db(),
        &pgroles::config::AwsConfig::default(),
        &fx.model.names,
    )
    .await
    .expect("broker");
    let redis = fx.redis_config();
    let conn = timers::connect(&redis).await.expect("Redis");
    let settings = pgroles::grants::GrantSettings {
        identity: Identity::PerPerson,
        max_holders: 10,
        ..test_settings()
    };
    Arc::new(GrantService::new(
        broker,
        TimerQueue::new(conn.clone(), &redis.key_prefix),
        DocStore::new(conn, &redis.key_prefix),
        fx.recorder.clone(),
        Arc::new(SystemClock),
        settings,
    ))
}

async fn login_as(fx: &Fixture, rec: &GrantRecord, pw: &str) -> tokio_postgres::Client {
    pg::login(&fx.server, &fx.model.names.database, rec.db_user(), pw).await.expect("login")
}

async fn usenames(fx: &Fixture) -> Vec<String> {
    let su = pg::superuser(&fx.server, "postgres").await;
    let rows = su
        .query("SELECT usename::text FROM pg_stat_activity WHERE usename IS NOT NULL", &[])
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn three_responders_hold_one_level_at_once_and_one_ending_leaves_the_others() {
    for server in pg::versions() {
        let fx = Fixture::new(&server, "person3").await;
        let svc = person_service(&fx).await;
        let mut held = Vec::new();
        for (who, secs) in
            [("U0ALICE", TEN_MIN), ("U0BOB", TEN_MIN), ("U0CAROL", Duration::from_secs(3))]
        {
            let rec = svc.issue(fx.request(Level::Ro, who, secs)).await.expect("issue");
            let login = rec.login.clone().expect("a login of their own");
            assert!(login.contains(&who.to_ascii_lowercase()), "{login}");
            assert_ne!(login, fx.role(Level::Ro));
            let pw = fx.recorder.last_password();
            let client = login_as(&fx, &rec, &pw).await;
            let me: String =
                client.query_one("SELECT session_user::text", &[]).await.unwrap().get(0);
            assert_eq!(me, login, "{}", server.version);
            held.push((rec, pw, client));
        }
        // Each is attributed in pg_stat_activity; a second grant for the same person is refused.
        let seen = usenames(&fx).await;
        for (rec, _, _) in &held {
            assert!(seen.iter().any(|u| u == rec.db_user()), "{} not in {seen:?}", rec.db_user());
        }
        let again = svc.issue(fx.request(Level::Ro, "U0ALICE", TEN_MIN)).await.unwrap_err();
        assert!(matches!(again, GrantError::AlreadyHolds(_)), "{again:?}");
        assert_eq!(svc.active_grants(Level::Ro).await.unwrap().len(), 3);

        // Bob is revoked: his session and login end; Alice and Carol keep theirs.
        let bob = held[1].0.holder.clone();
        svc.revoke_holder(Level::Ro, &bob, "U0APPROVER").await.expect("revoke bob");
        assert!(held[1].2.query_one("SELECT 1", &[]).await.is_err(), "bob's session survived");
        assert!(pg::login(&fx.server, &fx.model.names.database, held[1].0.db_user(), &held[1].1)
            .await
            .is_err());
        for i in [0, 2] {
            held[i].2.query_one("SELECT 1", &[]).await.expect("the others are untouched");
        }

        // Carol's grant expires (the worker's Expire timer): only hers ends.
        let worker = spawn_worker(svc.clone());
        let carol_gone = eventually(Duration::from_secs(20), || async {
            held[2].2.query_one("SELECT 1", &[]).await.is_err()
                && !usenames(&fx).await.iter().any(|u| u == held[2].0.db_user())
        })
        .await;
        worker.stop().await;
        assert!(carol_gone, "carol's expiry did not end her session ({})", server.version);
        held[0].2.query_one("SELECT 1", &[]).await.expect("alice is untouched by carol's expiry");
        let left = svc.active_grants(Level::Ro).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].holder.as_str(), "U0ALICE");

        // The database recorded each login once, and ended the two.
        let rows = svc.broker().person_logins(true).await.unwrap();
        for (rec, _, _) in &held {
            assert_eq!(rows.iter().filter(|r| r.login == rec.db_user()).count(), 1);
        }
        let live: Vec<_> = svc.broker().person_logins(false).await.unwrap();
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(live[0].login, held[0].0.db_user());

        svc.revoke(Level::Ro, "cli").await.expect("revoke the rest");
        assert!(svc.broker().person_logins(false).await.unwrap().is_empty());
        drop(held);
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn pgroles_revoke_ends_every_live_login_of_the_level_even_one_redis_forgot() {
    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "personkill").await;
    let svc = person_service(&fx).await;
    let mut sessions = Vec::new();
    let mut recs = Vec::new();
    for who in ["U0ALICE", "U0BOB"] {
        let rec = svc.issue(fx.request(Level::Ro, who, TEN_MIN)).await.expect("issue");
        let pw = fx.recorder.last_password();
        sessions.push(login_as(&fx, &rec, &pw).await);
        recs.push(rec);
    }
    // Redis forgets Alice's grant: only the database still knows her login.
    let mut conn = redis::Client::open(fx.redis_url.as_str()).unwrap().get_connection().unwrap();
    let key = format!("{}{}", fx.prefix, recs[0].key());
    let deleted: i32 = redis::cmd("DEL").arg(&key).query(&mut conn).unwrap();
    assert_eq!(deleted, 1, "{key}");

    let cfg = pgroles::config::Config {
        model: fx.model.names.clone(),
        database: fx.static_db(),
        redis: fx.redis_config(),
        access: pgroles::config::AccessConfig {
            identity: Identity::PerPerson,
            ..pgroles::config::AccessConfig::default()
        },
        ..pgroles::config::Config::default()
    };
    let out = pgroles::grants::cli::revoke(&cfg, Level::Ro).await.expect("revoke");
    assert!(out.contains("2 session(s)"), "{out}");
    for s in &sessions {
        assert!(s.query_one("SELECT 1", &[]).await.is_err(), "a session survived the kill switch");
    }
    assert!(svc.broker().person_logins(false).await.unwrap().is_empty());
    assert!(svc.active_grants(Level::Ro).await.unwrap().is_empty());
    drop(sessions);
    fx.cleanup().await;
}
