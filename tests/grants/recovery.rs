//! Recovery: a worker that dies between claim and ack, a flushed Redis, sessions without a
//! grant, and PostgreSQL unreachable at expiry.

use crate::fixture::{eventually, spawn_worker, Fixture};
use crate::support::pg;
use crate::support::redis::OwnRedis;
use chrono::{Duration as ChronoDuration, Utc};
use pgroles::grants::TimerOutcome;
use pgroles::model::Level;
use pgroles::timers::TimerKind;
use std::sync::Arc;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

fn count(audit: &[(String, Option<i32>, String)], event: &str) -> usize {
    audit.iter().filter(|(e, _, _)| e == event).count()
}

#[tokio::test]
async fn a_worker_killed_between_claim_and_ack_leaves_one_expiry_to_another_worker() {
    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "grantkill").await;
    let queue = fx.service.queue().clone();
    // ro: the dead worker claimed it and did nothing. rw: it ran the handler, then died.
    fx.service.issue(fx.request(Level::Ro, "U0RO", Duration::from_millis(300))).await.unwrap();
    fx.service.issue(fx.request(Level::Rw, "U0RW", Duration::from_millis(300))).await.unwrap();
    let rw_session = fx.login(Level::Rw, &fx.recorder.last_password()).await.expect("login rw");
    tokio::time::sleep(Duration::from_millis(400)).await;

    let claimed = queue.claim(Utc::now().timestamp_millis(), 500, 10).await.expect("claim");
    let expires: Vec<_> = claimed.iter().filter(|c| c.timer.kind == TimerKind::Expire).collect();
    assert_eq!(expires.len(), 2, "{claimed:?}");
    for c in &expires {
        if c.timer.payload.level.as_deref() == Some("rw") {
            let done = fx.service.handle_timer(&c.timer).await.expect("handler");
            assert_eq!(done, TimerOutcome::Handled);
        }
    }
    assert!(rw_session.query_one("SELECT 1", &[]).await.is_err(), "rw session ended");
    drop(claimed); // the worker dies: no ack

    let worker = spawn_worker(fx.service.clone());
    let finished = eventually(Duration::from_secs(10), || async {
        fx.recorder.count("expired") == 2 && queue.pending().await.unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = worker.stop().await;
    assert!(finished, "{:?} {stats:?}", fx.recorder.events.lock().unwrap());
    // Exactly once in effect: one Expired per grant, one expire + terminate audit pair per level.
    assert_eq!(fx.recorder.count("expired"), 2);
    let audit = fx.audit().await;
    assert_eq!((count(&audit, "expire"), count(&audit, "terminate")), (2, 2), "{audit:?}");
    assert!(stats.acked >= 2, "{stats:?}");
    fx.cleanup().await;
}

#[tokio::test]
async fn after_a_redis_flush_one_reconcile_restores_the_expiry_and_the_grant_still_expires() {
    let redis = OwnRedis::spawn();
    let server = pg::versions().remove(0);
    let fx = Fixture::with_redis(&server, "grantflush", &redis.url()).await;
    let rec = fx
        .service
        .issue(fx.request(Level::Ro, "U0HOLDER", Duration::from_secs(600)))
        .await
        .expect("issue");
    let password = fx.recorder.last_password();
    let valid_until = fx.valid_until(Level::Ro).await.expect("VALID UNTIL");

    let mut conn = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let () = redis::cmd("FLUSHALL").query(&mut conn).unwrap();
    assert!(fx.service.queue().pending().await.unwrap().is_empty());

    // The restored expiry is the grant's planned end (10 min, from the audit row), which is
    // also VALID UNTIL to the second (I11-6).
    let report = fx.service.reconcile().await.expect("reconcile");
    assert_eq!(report.restored.len(), 1, "{report:?}");
    let (role, due) = &report.restored[0];
    assert_eq!(role, &fx.role(Level::Ro));
    assert!((*due - rec.expires_at).num_milliseconds().abs() < 1000, "{due} vs {}", rec.expires_at);
    assert!((*due - valid_until).num_milliseconds().abs() < 1000, "VALID UNTIL: {due}");
    assert!(fx.service.queue().has_pending_expire(&fx.role(Level::Ro)).await.unwrap());
    assert_eq!(fx.recorder.of("restored")[0].role.as_deref(), Some(fx.role(Level::Ro).as_str()));
    // A second pass finds nothing to do.
    assert!(fx.service.reconcile().await.expect("reconcile").is_empty());

    // The grant still expires when its (database) time comes: a worker two hours ahead.
    let ahead = fx.service_with_clock(Arc::new(|| Utc::now() + ChronoDuration::hours(2))).await;
    let session = fx.login(Level::Ro, &password).await.expect("login before expiry");
    let worker = spawn_worker(ahead);
    // The timer and the reconciler (its own task) both end the role's sessions, at nearly the
    // same moment: one or both may signal the one backend before it exits, and whichever did
    // notes it after the terminate returns (so the note is waited for, not assumed).
    let ended = || {
        ["expired", "orphan_sessions_ended"]
            .iter()
            .flat_map(|kind| fx.recorder.of(kind))
            .filter_map(|seen| seen.sessions_ended)
            .sum::<i32>()
    };
    let gone = eventually(Duration::from_secs(10), || async {
        fx.valid_until(Level::Ro).await.is_some_and(|t| t < Utc::now())
            && fx.service.queue().pending().await.unwrap().is_empty()
            && ended() >= 1
    })
    .await;
    worker.stop().await;
    assert!(gone, "the restored timer did not expire the role and end its session");
    fx.assert_login_refused(Level::Ro, &password).await;
    assert!(session.query_one("SELECT 1", &[]).await.is_err(), "the session survived");
    let ended = ended();
    assert!((1..=2).contains(&ended), "the one session was ended: counted {ended}");
    fx.cleanup().await;
}

#[tokio::test]
async fn the_reconciler_ends_sessions_of_a_role_without_an_active_grant() {
    let redis = OwnRedis::spawn();
    let server = pg::versions().remove(0);
    let fx = Fixture::with_redis(&server, "grantorphan", &redis.url()).await;
    fx.service.issue(fx.request(Level::Rw, "U0HOLDER", HOUR)).await.expect("issue");
    let session = fx.login(Level::Rw, &fx.recorder.last_password()).await.expect("login");
    // Redis forgets everything, and the password's validity ends behind the service's back.
    let mut conn = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let () = redis::cmd("FLUSHALL").query(&mut conn).unwrap();
    pg::superuser(&server, "postgres")
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} VALID UNTIL '2000-01-01'",
            pg::ident(&fx.role(Level::Rw))
        ))
        .await
        .unwrap();
    session.query_one("SELECT 1", &[]).await.expect("the session outlives VALID UNTIL");

    let report = fx.service.reconcile().await.expect("reconcile");
    assert_eq!(report.orphan_sessions_ended, vec![(fx.role(Level::Rw), 1)]);
    assert!(report.restored.is_empty(), "nothing live to restore: {report:?}");
    assert!(session.query_one("SELECT 1", &[]).await.is_err(), "the orphan session survived");
    assert_eq!(fx.recorder.count("orphan_sessions_ended"), 1);
    let audit = fx.audit().await;
    assert_eq!(audit.last().map(|(e, n, _)| (e.as_str(), *n)), Some(("terminate", Some(1))));
    fx.cleanup().await;
}

#[tokio::test]
async fn postgres_unreachable_at_expiry_delays_the_expiry_and_it_is_retried() {
    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "grantpgdown").await;
    let rec = fx.service.issue(fx.request(Level::Ro, "U0HOLDER", Duration::from_millis(300))).await;
    let rec = rec.expect("issue");
    let password = fx.recorder.last_password();

    // A replica that cannot reach PostgreSQL handles the expiry: it fails and backs off.
    let blind = fx.service_without_database().await;
    let timer = fx
        .service
        .queue()
        .pending()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == TimerKind::Expire)
        .expect("the expire timer");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(blind.handle_timer(&timer).await.unwrap_err().is_unavailable());
    let worker = spawn_worker(blind);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = worker.stop().await;
    assert!(stats.failed >= 2, "retried with back-off: {stats:?}");
    assert_eq!(stats.acked, 0);
    // Announced once per window, not per attempt; the grant and its timer are still there.
    assert_eq!(fx.recorder.count("expiry_delayed"), 1);
    assert_eq!(fx.recorder.of("expiry_delayed")[0].grant_id.as_deref(), Some(rec.id.as_str()));
    assert!(fx.service.queue().has_pending_expire(&rec.role).await.unwrap());
    assert!(fx.service.active(Level::Ro).await.unwrap().is_none(), "past its expires_at");
    // VALID UNTIL is the grant's end (I11-6): with the expiry delayed, the password still
    // stops logging in on time.
    fx.assert_login_refused(Level::Ro, &password).await;

    // PostgreSQL is back (a healthy replica): the retry expires it.
    let worker = spawn_worker(fx.service.clone());
    let done =
        eventually(Duration::from_secs(10), || async { fx.recorder.count("expired") == 1 }).await;
    worker.stop().await;
    assert!(done, "the retried expiry did not happen");
    fx.assert_login_refused(Level::Ro, &password).await;
    fx.cleanup().await;
}

/// I11-7: a firefighter password whose VALID UNTIL is NULL, infinity or beyond the 2-hour cap
/// is live; one reconcile pass expires it (PASSWORD NULL, VALID UNTIL in the past) and the
/// next pass finds nothing to do.
#[tokio::test]
async fn the_reconciler_expires_a_password_without_a_bounded_valid_until() {
    let redis = OwnRedis::spawn();
    for server in pg::versions() {
        let fx = Fixture::with_redis(&server, "grantunbound", &redis.url()).await;
        let v = server.version;
        let su = pg::superuser(&server, "postgres").await;
        for until in ["NULL", "infinity", "far"] {
            // Set behind the bot's back (a DBA by hand, or a broker call of an older model).
            let far = (Utc::now() + ChronoDuration::hours(5)).to_rfc3339();
            let until_sql = match until {
                "NULL" => "UPDATE pg_authid SET rolvaliduntil = NULL WHERE rolname = '{n}'".into(),
                "infinity" => "ALTER ROLE {r} VALID UNTIL 'infinity'".to_string(),
                _ => format!("ALTER ROLE {{r}} VALID UNTIL '{far}'"),
            };
            let role = fx.role(Level::Rw);
            let password = crate::support::random_alnum(40);
            su.batch_execute(
                &format!("ALTER ROLE {{r}} PASSWORD '{password}'; {until_sql}")
                    .replace("{r}", &pg::ident(&role))
                    .replace("{n}", &role),
            )
            .await
            .unwrap_or_else(|e| panic!("PG{v}: {until}: {e}"));
            fx.login(Level::Rw, &password).await.unwrap_or_else(|e| panic!("PG{v} {until}: {e}"));

            let report = fx.service.reconcile().await.expect("reconcile");
            assert_eq!(report.unbounded_expired, vec![role.clone()], "PG{v} {until}: {report:?}");
            let (valid_until, has_password): (Option<chrono::DateTime<Utc>>, bool) = {
                let row = su
                    .query_one(
                        "SELECT rolvaliduntil, rolpassword IS NOT NULL FROM pg_authid \
                         WHERE rolname = $1",
                        &[&role],
                    )
                    .await
                    .unwrap();
                (row.get(0), row.get(1))
            };
            assert!(valid_until.is_some_and(|t| t < Utc::now()), "PG{v} {until}: {valid_until:?}");
            assert!(!has_password, "PG{v} {until}: the password is gone");
            fx.assert_login_refused(Level::Rw, &password).await;
            assert!(fx.service.reconcile().await.expect("reconcile").is_empty(), "PG{v} {until}");
        }
        fx.cleanup().await;
    }
}
