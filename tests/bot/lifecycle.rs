//! Process lifetime of the real bot: a timer worker that dies turns `/readyz` red and stops the
//! process; a configuration whose connections cannot fit under the broker role's connection
//! limit (read from the catalog) is refused at start, naming the numbers; a shutdown in the
//! middle of an issue leaves the grant delivered or expired when the process exits.

use crate::helpers::{spawn_bot, try_spawn_bot, Options, APPROVE, APPROVER1, REQUESTER};
use slack_fake::FakeFault;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_killed_timer_worker_turns_readyz_red_and_stops_the_process() {
    let kill = Arc::new(tokio::sync::Notify::new());
    let hook = kill.clone();
    let bot = spawn_bot(Options {
        tweak: Some(Arc::new(move |_, deps| deps.worker_kill = Some(hook.clone()))),
        ..Options::default()
    })
    .await;
    let readyz = format!("http://127.0.0.1:{}/readyz", bot.port);
    // Ready once the worker has polled.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = reqwest::get(&readyz).await.expect("readyz answers");
        if r.status().as_u16() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never ready: {}", r.text().await.unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The expiry telemetry is exposed.
    let metrics = format!("http://127.0.0.1:{}/metrics", bot.port);
    let text = reqwest::get(&metrics).await.expect("metrics").text().await.expect("body");
    for name in [
        "pgroles_worker_last_poll_timestamp_seconds",
        "pgroles_timers_overdue",
        "pgroles_timer_oldest_overdue_seconds",
        "pgroles_expiry_lag_seconds_bucket",
        "pgroles_broker_connections{state=\"in_use\"}",
        "pgroles_broker_pool_max_connections 2",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }

    kill.notify_one();
    // Within seconds: readiness fails (while the server still answers) and the process stops
    // with an error naming the worker.
    let deadline = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        if let Some(exit) = bot.exit.lock().unwrap().clone() {
            break exit;
        }
        if let Ok(r) = reqwest::get(&readyz).await {
            if r.status().as_u16() == 503 {
                let body = r.text().await.unwrap_or_default();
                assert!(body.contains("\"worker\":\"stopped\""), "{body}");
            }
        }
        assert!(Instant::now() < deadline, "the process kept running without its worker");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let err = exit.expect_err("run_until must fail when the worker dies");
    assert!(err.contains("timer worker"), "{err}");
    bot.model.drop().await;
}

#[tokio::test]
async fn a_configuration_that_cannot_fit_the_connection_limit_is_refused_at_start() {
    // The model is applied with its default limit (13); the configuration claims 100 so its own
    // check passes, and asks for 3 processes x 8 connections + 1 = 25.
    let refused = try_spawn_bot(Options {
        tweak: Some(Arc::new(|cfg, _| {
            cfg.model.broker_connection_limit = 100;
            cfg.database.pool_size = 8;
            cfg.database.max_replicas = 3;
        })),
        ..Options::default()
    })
    .await;
    let (model, err) = match refused {
        Ok(bot) => {
            bot.model.drop().await;
            panic!("a budget of 25 connections under a limit of 13 must be refused");
        }
        Err(e) => e,
    };
    let text = format!("{err:#}");
    for n in ["max_replicas (3)", "pool_size (8)", "= 25", "CONNECTION LIMIT is 13"] {
        assert!(text.contains(n), "{n:?} missing from: {text}");
    }
    model.drop().await;
}

#[tokio::test]
async fn shutdown_in_the_middle_of_an_issue_leaves_the_grant_delivered_or_expired() {
    let stop = Arc::new(tokio::sync::Notify::new());
    let bot = spawn_bot(Options { stop: Some(stop.clone()), ..Options::default() }).await;
    bot.command(REQUESTER, "ro INC-77").await;
    let request = bot.request_message(0).await;
    bot.ephemeral(REQUESTER, "is posted: https://").await;
    // The password DM stalls in Slack for 1.5 s: SIGTERM lands after the password is set and
    // before it is delivered.
    bot.fake.fail_next("chat.postEphemeral", FakeFault::Delay(1500), 1);
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    let stalled = || {
        bot.fake.with(|ws| ws.calls("chat.postEphemeral").iter().any(|c| c.outcome == "pending"))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stalled() {
        assert!(Instant::now() < deadline, "the password DM never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.notify_one();

    // The moment `run_until` returns is the moment the process would exit: its tasks die then.
    let deadline = Instant::now() + Duration::from_secs(25);
    let exit = loop {
        if let Some(exit) = bot.exit.lock().unwrap().clone() {
            break exit;
        }
        assert!(Instant::now() < deadline, "shutdown did not finish within the drain time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let delivered = !bot.dm_ephemerals(REQUESTER).is_empty();
    let role = bot.model.names.firefighter(pgroles::model::Level::Ro);
    let expired: bool = bot
        .model
        .superuser()
        .await
        .query_one(
            "SELECT coalesce(rolvaliduntil < now(), false) FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .expect("pg_roles")
        .get(0);
    assert!(exit.is_ok(), "{exit:?}");
    assert!(delivered || expired, "at exit the password was set but neither delivered nor expired");
    bot.model.drop().await;
}
