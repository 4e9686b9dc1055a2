//! The CLI bodies (`pgroles status|revoke|worker`), built from a `Config` like the binary does.

use crate::fixture::Fixture;
use crate::support::pg;
use pgroles::config::Config;
use pgroles::grants::cli;
use pgroles::model::Level;
use std::time::Duration;

fn config(fx: &Fixture) -> Config {
    Config {
        model: fx.model.names.clone(),
        database: fx.static_db(),
        redis: fx.redis_config(),
        ..Config::default()
    }
}

#[tokio::test]
async fn status_shows_the_grant_and_its_timers_and_revoke_ends_it() {
    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "grantcli").await;
    let cfg = config(&fx);
    let rec = fx
        .service
        .issue(fx.request(Level::Ro, "U0HOLDER", Duration::from_secs(3600)))
        .await
        .expect("issue");
    let password = fx.recorder.last_password();

    let status = cli::status(&cfg).await;
    for needle in [rec.role.as_str(), "U0HOLDER", "INC-4242", "expire expire:", "valid until"] {
        assert!(status.contains(needle), "{needle:?} missing from:\n{status}");
    }
    assert!(!status.contains(&password));

    let out = cli::revoke(&cfg, Level::Ro).await.expect("revoke");
    assert!(out.starts_with("Revoked the ro grant of U0HOLDER (INC-4242)"), "{out}");
    fx.assert_login_refused(Level::Ro, &password).await;
    assert_eq!(fx.audit().await.last().map(|(_, _, who)| who.clone()).as_deref(), Some("cli"));
    let again = cli::revoke(&cfg, Level::Ro).await.expect("revoke without a grant");
    assert!(again.starts_with("No ro grant was recorded"), "{again}");
    assert!(cli::status(&cfg).await.contains("Grants: none"));
    fx.cleanup().await;
}

#[tokio::test]
async fn the_cli_worker_expires_a_grant_on_time() {
    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "grantcliw").await;
    let cfg = config(&fx);
    fx.service
        .issue(fx.request(Level::Rw, "U0HOLDER", Duration::from_millis(500)))
        .await
        .expect("issue");
    let password = fx.recorder.last_password();
    let stats = cli::worker(vec![cfg.clone()], tokio::time::sleep(Duration::from_secs(3)))
        .await
        .expect("worker");
    assert!(stats.acked >= 1, "{stats:?}");
    fx.assert_login_refused(Level::Rw, &password).await;
    assert!(fx.service.active(Level::Rw).await.unwrap().is_none());
    fx.cleanup().await;
}

#[tokio::test]
async fn revoke_is_a_kill_switch_that_works_with_redis_down() {
    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "grantclik").await;
    fx.service
        .issue(fx.request(Level::Ro, "U0HOLDER", Duration::from_secs(3600)))
        .await
        .expect("issue");
    let password = fx.recorder.last_password();
    let mut cfg = config(&fx);
    cfg.redis.url = format!("redis://127.0.0.1:{}", crate::support::free_port());
    let out = cli::revoke(&cfg, Level::Ro).await.expect("revoke without Redis");
    assert!(out.contains("expired the ro password in PostgreSQL directly"), "{out}");
    fx.assert_login_refused(Level::Ro, &password).await;
    fx.cleanup().await;
}
