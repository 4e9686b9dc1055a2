//! Issue 16: a PostgreSQL 15 primary with 2 streaming replicas (`pg_basebackup -R`) stands in
//! for an Aurora writer and its readers. A firefighter session on each replica ends when the
//! grant is revoked, the writer's audit row records the count per instance, and the broker
//! cannot use the new function against any other role. A replica the bot cannot reach at
//! expiry is told in the thread, retried, and its session ends once it answers again.

use crate::fixture::{eventually, spawn_worker, test_settings, Fixture};
use crate::support::stall::Gate;
use crate::support::{cluster, pg, replicas::ReplicaSet};
use pgroles::broker::instances::instance_config;
use pgroles::broker::{Broker, CredentialSource, DbCredential, Instance, Instances};
use pgroles::config::AwsConfig;
use pgroles::grants::{GrantService, GrantSettings};
use pgroles::model::Level;
use pgroles::timers::{self, DocStore, SystemClock, TimerQueue};
use std::sync::Arc;
use std::time::Duration;

async fn replica_ready(server: &pg::PgServer, db: &str, role: &str, password: &str) -> bool {
    pg::login(server, db, role, password).await.is_ok()
}

/// The broker on the instance at `port` of loopback, logging in as on the writer (the same
/// password, replicated).
fn instance_at(fx: &Fixture, port: u16) -> Instance {
    let names = &fx.model.names;
    let one = instance_config(&fx.static_db(), "127.0.0.1", port);
    let creds = CredentialSource::Static(DbCredential {
        user: names.broker(),
        password: secrecy::SecretString::from(fx.broker_pw.clone()),
    });
    Instance::new(&one, names, creds).expect("instance")
}

/// A grant service on the fixture's writer, Redis and recorder that ends sessions on
/// `instances` too.
async fn service_with(fx: &Fixture, instances: Instances, settings: GrantSettings) -> GrantService {
    let redis = fx.redis_config();
    let conn = timers::connect(&redis).await.expect("redis");
    let names = &fx.model.names;
    let broker = Broker::from_config(&fx.static_db(), &AwsConfig::default(), names).await.unwrap();
    GrantService::new(
        broker,
        TimerQueue::new(conn.clone(), &redis.key_prefix),
        DocStore::new(conn, &redis.key_prefix),
        fx.recorder.clone(),
        Arc::new(SystemClock),
        settings,
    )
    .with_instances(instances)
}

#[tokio::test]
async fn firefighter_sessions_on_every_replica_end_on_revoke() {
    let Some((_, bin)) = cluster::installed().await.into_iter().find(|(v, _)| *v == 15) else {
        panic!("no PostgreSQL 15 binaries");
    };
    let set = ReplicaSet::start(15, &bin, 2);
    let fx = Fixture::new(&set.primary, "inst").await;
    let names = fx.model.names.clone();
    let db = names.database.clone();
    // The broker logs in on each replica as on the writer (same password, replicated).
    let list = set.replicas.iter().map(|r| instance_at(&fx, r.port)).collect();
    let instances = Instances::from_list(list);
    let service = Arc::new(service_with(&fx, instances.clone(), test_settings()).await);

    service.issue(fx.request(Level::Ro, "U0HOLDER", Duration::from_secs(600))).await.unwrap();
    let password = fx.recorder.last_password();
    let role = fx.role(Level::Ro);
    // The new password replicates; then the firefighter holds a session on the writer and on
    // each replica.
    let writer = fx.login(Level::Ro, &password).await.expect("writer login");
    let mut on_replicas = Vec::new();
    for r in &set.replicas {
        let ok = eventually(Duration::from_secs(20), || replica_ready(r, &db, &role, &password));
        assert!(ok.await, "the password never replicated to {}", r.port);
        on_replicas.push(pg::login(r, &db, &role, &password).await.unwrap());
    }
    // Sessions of other roles on a replica, which must survive.
    let app_pw = crate::support::random_alnum(32);
    pg::superuser(&set.primary, "postgres")
        .await
        .batch_execute(&format!("ALTER ROLE {} PASSWORD '{app_pw}'", pg::ident(&names.app())))
        .await
        .unwrap();
    let r0 = &set.replicas[0];
    let app_role = names.app();
    let app_ok = eventually(Duration::from_secs(20), || replica_ready(r0, &db, &app_role, &app_pw));
    assert!(app_ok.await, "the app password never replicated");
    let app = pg::login(r0, &db, &names.app(), &app_pw).await.unwrap();
    let su = pg::superuser(r0, &db).await;

    // Hostile: as the broker on a replica, the function refuses every other role.
    let as_broker = pg::login(r0, &db, &names.broker(), &fx.broker_pw).await.unwrap();
    let f = format!("{}.end_instance_firefighter_sessions", pg::ident(&names.admin_schema));
    for other in [names.app(), names.admin(), names.broker(), "postgres".to_owned()] {
        let res = as_broker
            .query_one(&format!("SELECT * FROM {f}($1::name, now() + interval '1 day')"), &[&other])
            .await;
        let err = res.expect_err("another role must be refused");
        let msg = err.as_db_error().map(|d| d.message().to_owned()).unwrap_or_default();
        assert!(msg.contains("not a firefighter role"), "{other}: {msg}");
    }
    // Nor may it touch the audit of the writer from a replica: the function writes nothing.
    let listed = instances.current()[0].broker.instance_sessions().await.unwrap();
    assert_eq!(listed.iter().filter(|s| s.role == role).count(), 1, "{listed:?}");

    // verify lists the open sessions of every instance.
    let verifier = pg::login(&set.primary, &db, &names.broker(), &fx.broker_pw).await.unwrap();
    let mut report = pgroles::verify::run(&verifier, &names, chrono::Utc::now()).await.unwrap();
    pgroles::verify::instances::add_instance_sessions(&mut report, &instances).await;
    let text = report.to_text();
    for r in &set.replicas {
        let addr = format!("127.0.0.1:{}", r.port);
        let on = |s: &&pgroles::verify::catalog::Session| s.instance.as_deref() == Some(&addr);
        assert_eq!(report.sessions.iter().filter(on).count(), 1, "{addr}: {text}");
        assert!(text.contains(&format!("on instance {addr}")), "{text}");
    }
    assert_eq!(report.summary.open_firefighter_sessions, 3, "{text}");
    assert!(report.unreachable_instances.is_empty());

    let ended = service.revoke(Level::Ro, "U0REVOKER").await.expect("revoke");
    assert_eq!(ended, 3, "one session on the writer and one on each replica");
    assert!(writer.query_one("SELECT 1", &[]).await.is_err(), "writer session survived");
    for (i, s) in on_replicas.iter().enumerate() {
        assert!(s.query_one("SELECT 1", &[]).await.is_err(), "replica {i} session survived");
    }
    assert!(app.query_one("SELECT 1", &[]).await.is_ok(), "the app's session was ended");
    assert!(su.query_one("SELECT 1", &[]).await.is_ok(), "the superuser's session was ended");
    assert!(as_broker.query_one("SELECT 1", &[]).await.is_ok(), "the broker's session ended");

    // The writer's audit: the count per instance.
    let rows = pg::superuser(&set.primary, &db)
        .await
        .query(
            &format!(
                "SELECT instances::text FROM {}.firefighter_audit WHERE instances IS NOT NULL",
                pg::ident(&names.admin_schema)
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let counts: serde_json::Value = serde_json::from_str(rows[0].get::<_, &str>(0)).unwrap();
    for r in &set.replicas {
        assert_eq!(counts[format!("127.0.0.1:{}", r.port)], 1, "{counts}");
    }
    // The throwaway clusters go with `set`; the model's own cleanup is not needed there.
    drop((app, su, as_broker, fx));
}

#[tokio::test]
async fn an_unreachable_instance_does_not_stop_the_writers_end() {
    let server = pg::versions().into_iter().next().expect("a cluster");
    let fx = Fixture::new(&server, "instdown").await;
    let dead = instance_at(&fx, crate::support::free_port());
    let service = service_with(&fx, Instances::from_list(vec![dead]), test_settings()).await;
    service.issue(fx.request(Level::Rw, "U0HOLDER", Duration::from_secs(600))).await.unwrap();
    let password = fx.recorder.last_password();
    let session = fx.login(Level::Rw, &password).await.unwrap();
    assert_eq!(service.revoke(Level::Rw, "U0REVOKER").await.expect("revoke"), 1);
    assert!(session.query_one("SELECT 1", &[]).await.is_err());
    fx.assert_login_refused(Level::Rw, &password).await;
    fx.cleanup().await;
}

/// The acceptance's "a replica that is down at expiry is reported, retried, and its session
/// ends when it returns": the bot's path to the replica is cut (a [`Gate`]) while the
/// firefighter's own session there stays open; the expiry ends the writer's side, the thread is
/// told, the sweep retries, and once the path is back the replica's session ends and is told.
#[tokio::test]
async fn a_replica_unreachable_at_expiry_is_retried_and_its_session_ends_when_it_returns() {
    let Some((_, bin)) = cluster::installed().await.into_iter().find(|(v, _)| *v == 15) else {
        panic!("no PostgreSQL 15 binaries");
    };
    let set = ReplicaSet::start(15, &bin, 1);
    let fx = Fixture::new(&set.primary, "instsweep").await;
    let names = fx.model.names.clone();
    let db = names.database.clone();
    let replica = &set.replicas[0];
    let gate = Gate::start(format!("127.0.0.1:{}", replica.port).parse().unwrap()).await;
    let instances = Instances::from_list(vec![instance_at(&fx, gate.port)]);
    let service = Arc::new(service_with(&fx, instances, test_settings()).await);

    let rec = service.issue(fx.request(Level::Ro, "U0HOLDER", Duration::from_secs(4))).await;
    let rec = rec.expect("issue");
    let password = fx.recorder.last_password();
    let role = fx.role(Level::Ro);
    let ok = eventually(Duration::from_secs(20), || replica_ready(replica, &db, &role, &password));
    assert!(ok.await, "the password never replicated");
    let on_replica = pg::login(replica, &db, &role, &password).await.unwrap();

    gate.shut();
    let worker = spawn_worker(service.clone());
    let told = eventually(Duration::from_secs(30), || async {
        fx.recorder.count("expired") == 1 && fx.recorder.count("instances_unreachable") == 1
    });
    assert!(told.await, "the expiry and the unreachable instance were not told");
    let seen = fx.recorder.of("instances_unreachable");
    assert_eq!(seen[0].grant_id.as_deref(), Some(rec.id.as_str()));
    // Retried while the path is cut: the session on the replica is still open.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(on_replica.query_one("SELECT 1", &[]).await.is_ok(), "ended without a path?");
    assert_eq!(fx.recorder.count("instance_swept"), 0);
    // (The family's guard goes at once: held, it would block the worker's next count.)
    let label = vec![("outcome", "unreachable".to_owned())];
    let failures = service.watch().instance_sweeps.get_or_create(&label).get();
    assert_eq!(failures, 1);

    gate.open();
    let swept =
        eventually(Duration::from_secs(30), || async { fx.recorder.count("instance_swept") == 1 });
    assert!(swept.await, "the sweep never succeeded once the replica was back");
    assert!(on_replica.query_one("SELECT 1", &[]).await.is_err(), "the replica session survived");
    let swept = &fx.recorder.of("instance_swept")[0];
    assert_eq!(swept.sessions_ended, Some(1));
    assert_eq!(swept.grant_id.as_deref(), Some(rec.id.as_str()), "told in the grant's thread");
    worker.stop().await;

    // The writer's audit has the swept count for the instance.
    let rows = pg::superuser(&set.primary, &db)
        .await
        .query(
            &format!(
                "SELECT instances::text FROM {}.firefighter_audit WHERE instances IS NOT NULL \
                 ORDER BY id",
                pg::ident(&names.admin_schema)
            ),
            &[],
        )
        .await
        .unwrap();
    let last: serde_json::Value =
        serde_json::from_str(rows.last().expect("audit rows").get::<_, &str>(0)).unwrap();
    assert_eq!(last[format!("127.0.0.1:{}", gate.port)], 1, "{last}");
    drop((on_replica, fx));
}

/// The reconciler's pass over the instances: the grant ended while the reader was cut off and
/// its sweep was lost (Redis forgot it); once the reader answers, the next reconcile ends the
/// session there, and leaves alone a session of a login that holds an active grant, and (with
/// the production clock margin) any session younger than 10 s.
#[tokio::test]
async fn the_reconciler_ends_reader_sessions_of_logins_without_an_active_grant() {
    let Some((_, bin)) = cluster::installed().await.into_iter().find(|(v, _)| *v == 15) else {
        panic!("no PostgreSQL 15 binaries");
    };
    let set = ReplicaSet::start(15, &bin, 1);
    let fx = Fixture::new(&set.primary, "instrec").await;
    let names = fx.model.names.clone();
    let db = names.database.clone();
    let replica = &set.replicas[0];
    let gate = Gate::start(format!("127.0.0.1:{}", replica.port).parse().unwrap()).await;
    let instances = Instances::from_list(vec![instance_at(&fx, gate.port)]);
    // The sessions are seconds old: no clock margin here (production leaves 10 s).
    let settings = GrantSettings { reader_session_margin: Duration::ZERO, ..test_settings() };
    let service = service_with(&fx, instances.clone(), settings).await;
    // The production margin: a session seconds old is left to a later pass, whatever it is.
    let careful = service_with(&fx, instances, test_settings()).await;
    let queue = service.queue().clone();

    let mut on_replica = Vec::new();
    let mut recs = Vec::new();
    for level in [Level::Ro, Level::Rw] {
        let rec = service.issue(fx.request(level, "U0HOLDER", Duration::from_secs(600))).await;
        let rec = rec.expect("issue");
        let (role, pw) = (fx.role(level), fx.recorder.last_password());
        let ok = eventually(Duration::from_secs(20), || replica_ready(replica, &db, &role, &pw));
        assert!(ok.await, "the password never replicated");
        on_replica.push(pg::login(replica, &db, &role, &pw).await.unwrap());
        recs.push(rec);
    }
    gate.shut();
    assert_eq!(service.revoke(Level::Ro, "U0REVOKER").await.expect("revoke"), 0);
    assert_eq!(fx.recorder.count("instances_unreachable"), 1);
    // Redis forgets the sweep.
    let sweep = format!("sweep:{}:127.0.0.1:{}", recs[0].id, gate.port);
    assert!(queue.cancel(&sweep).await.expect("cancel"), "the sweep was scheduled as {sweep}");
    gate.open();

    let young = careful.reconcile().await.expect("reconcile with the margin");
    assert!(young.instance_sessions_ended.is_empty(), "{young:?}");
    assert!(on_replica[0].query_one("SELECT 1", &[]).await.is_ok(), "a young session is spared");
    let report = service.reconcile().await.expect("reconcile");
    let addr = format!("127.0.0.1:{}", gate.port);
    assert_eq!(report.instance_sessions_ended, vec![(addr, fx.role(Level::Ro), 1)]);
    assert!(on_replica[0].query_one("SELECT 1", &[]).await.is_err(), "ro session survived");
    assert!(on_replica[1].query_one("SELECT 1", &[]).await.is_ok(), "rw holds a grant");
    let again = service.reconcile().await.expect("reconcile again");
    assert!(again.instance_sessions_ended.is_empty(), "{again:?}");
    drop((on_replica, fx));
}
