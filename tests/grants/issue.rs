//! Issuing fails closed (Redis down, delivery failure), one grant per level, takeover, resend
//! and revoke.

use crate::fixture::Fixture;
use crate::support::pg;
use crate::support::redis::OwnRedis;
use pgroles::access::SlackUserId;
use pgroles::grants::GrantError;
use pgroles::model::Level;
use std::sync::atomic::Ordering;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn issue_with_redis_down_is_unavailable_and_sets_no_password() {
    let mut redis = OwnRedis::spawn();
    let server = pg::versions().remove(0);
    let fx = Fixture::with_redis(&server, "grantnoredis", &redis.url()).await;
    let before = fx.valid_until(Level::Rw).await;
    redis.stop();

    let e = fx.service.issue(fx.request(Level::Rw, "U0HOLDER", HOUR)).await.unwrap_err();
    assert!(matches!(e, GrantError::Unavailable(_)), "{e:?}");
    assert!(e.user_message().contains("no access was granted"), "{}", e.user_message());
    // No password was set: VALID UNTIL unchanged, nothing audited, nothing delivered.
    assert_eq!(fx.valid_until(Level::Rw).await, before);
    assert!(fx.audit().await.is_empty());
    assert!(fx.recorder.passwords.lock().unwrap().is_empty());
    fx.model.drop().await;
}

#[tokio::test]
async fn a_failed_delivery_expires_the_password_at_once() {
    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "grantnodm").await;
    fx.recorder.fail.store(true, Ordering::SeqCst);

    let e = fx.service.issue(fx.request(Level::Ro, "U0HOLDER", HOUR)).await.unwrap_err();
    assert!(matches!(e, GrantError::DeliveryFailed(_)), "{e:?}");
    // The password the notifier saw no longer works; the grant is gone, timers too.
    fx.assert_login_refused(Level::Ro, &fx.recorder.last_password()).await;
    assert_eq!(fx.recorder.count("delivery_failed"), 1);
    assert!(fx.service.active(Level::Ro).await.unwrap().is_none());
    assert!(fx.service.queue().pending().await.unwrap().is_empty());
    let events: Vec<String> = fx.audit().await.into_iter().map(|(e, _, _)| e).collect();
    assert_eq!(events, ["issue", "expire", "terminate"]);
    // The level is free again.
    fx.recorder.fail.store(false, Ordering::SeqCst);
    fx.service.issue(fx.request(Level::Ro, "U0HOLDER", HOUR)).await.expect("issue again");
    fx.login(Level::Ro, &fx.recorder.last_password()).await.expect("the new password works");
    fx.cleanup().await;
}

#[tokio::test]
async fn a_held_level_is_refused_taken_over_resent_by_its_holder_only_and_revoked() {
    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "grantheld").await;
    let first = fx.service.issue(fx.request(Level::Rw, "U0FIRST", HOUR)).await.expect("issue");
    let first_pw = fx.recorder.last_password();

    // A second request for the held level: Held, naming the holder; nothing changes.
    match fx.service.issue(fx.request(Level::Rw, "U0SECOND", HOUR)).await {
        Err(GrantError::Held(g)) => {
            assert_eq!((g.holder.as_str(), g.incident.as_str()), ("U0FIRST", "INC-4242"));
            assert_eq!(g.expires_at, first.expires_at);
        }
        other => panic!("expected Held, got {other:?}"),
    }
    fx.login(Level::Rw, &first_pw).await.expect("the first password still works");

    // Takeover: a new grant, the first password stops working, the first holder is told.
    let mut req = fx.request(Level::Rw, "U0SECOND", HOUR);
    req.takeover = true;
    let second = fx.service.issue(req).await.expect("takeover");
    let second_pw = fx.recorder.last_password();
    assert_ne!(second.id, first.id);
    fx.assert_login_refused(Level::Rw, &first_pw).await;
    fx.login(Level::Rw, &second_pw).await.expect("the new holder logs in");
    let taken = fx.recorder.of("taken_over");
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].previous_holder.as_deref(), Some("U0FIRST"));
    // Only the new grant's timers remain.
    let pending = fx.service.queue().pending().await.unwrap();
    assert!(pending.iter().all(|t| t.payload.grant_id.as_deref() == Some(second.id.as_str())));
    assert!(pending.iter().any(|t| t.id == second.expire_timer_id()), "{pending:?}");

    // Resend: not for the previous holder; for the holder it rotates, same grant and expiry.
    let e = fx.service.resend(Level::Rw, &user("U0FIRST")).await.unwrap_err();
    assert!(matches!(e, GrantError::NotHolder), "{e:?}");
    let resent = fx.service.resend(Level::Rw, &user("U0SECOND")).await.expect("resend");
    let third_pw = fx.recorder.last_password();
    assert_ne!(third_pw, second_pw);
    assert_eq!((resent.id.as_str(), resent.expires_at), (second.id.as_str(), second.expires_at));
    fx.assert_login_refused(Level::Rw, &second_pw).await;
    let session = fx.login(Level::Rw, &third_pw).await.expect("the resent password works");

    // Revoke: sessions end, the password dies, the timers go, Revoked is emitted.
    let ended = fx.service.revoke(Level::Rw, "U0ADMIN").await.expect("revoke");
    assert_eq!(ended, 1);
    assert!(session.query_one("SELECT 1", &[]).await.is_err(), "the session survived");
    fx.assert_login_refused(Level::Rw, &third_pw).await;
    assert_eq!(fx.recorder.of("revoked")[0].sessions_ended, Some(1));
    assert!(fx.service.queue().pending().await.unwrap().is_empty());
    let e = fx.service.revoke(Level::Rw, "U0ADMIN").await.unwrap_err();
    assert!(matches!(e, GrantError::NotActive), "{e:?}");
    let audit = fx.audit().await;
    assert_eq!(
        audit.last().map(|(e, n, a)| (e.as_str(), *n, a.as_str())),
        Some(("terminate", Some(1), "U0ADMIN"))
    );
    fx.cleanup().await;
}

fn user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).expect("a Slack user id")
}
