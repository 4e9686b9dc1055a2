//! Redis or PostgreSQL down: the requester gets a clear message and no password is issued;
//! `/readyz` says which dependency is missing.

use crate::helpers::*;
use crate::support::redis::OwnRedis;
use std::time::Duration;

#[tokio::test]
async fn redis_down_means_a_clear_message_and_no_request() {
    let mut redis = OwnRedis::spawn();
    let bot = spawn_bot(Options { redis_url: Some(redis.url()), ..Options::default() }).await;
    redis.stop();
    let ack = bot.command(REQUESTER, "ro INC-20").await;
    assert!(ack.body.contains("cannot reach its state store (Redis)"), "{}", ack.body);
    let ready = reqwest::get(format!("http://127.0.0.1:{}/readyz", bot.port)).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body = ready.text().await.unwrap();
    assert!(body.contains("\"redis\":\"unavailable\""), "{body}");
    assert!(body.contains("\"instances\":[]"), "the other instances are listed: {body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bot.fake.messages(AUDIT).is_empty(), "nothing was posted");
    assert!(bot.dm_ephemerals(REQUESTER).is_empty(), "no password");
    bot.model.drop().await;
}

#[tokio::test]
async fn postgresql_down_at_approval_means_a_clear_message_and_no_password() {
    let bot = spawn_bot(Options { database_down: true, ..Options::default() }).await;
    bot.command(REQUESTER, "ro INC-21").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, "Access could not be issued").await;
    let told = bot.dm_message(REQUESTER, "no access was granted").await;
    assert!(!text_of(&told).contains("Password"), "no password");
    let shown = bot.fake.with(|ws| ws.message(AUDIT, &request.ts)).unwrap();
    assert!(text_of(&shown).contains("could not be issued"), "{}", text_of(&shown));
    bot.model.drop().await;
}

#[tokio::test]
async fn health_and_readiness_and_metrics_answer() {
    let bot = spawn_bot(Options::default()).await;
    let base = format!("http://127.0.0.1:{}", bot.port);
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status().as_u16(), 200);
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    bot.command(REQUESTER, "help").await;
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("pgroles_slack_requests_total{command=\"help\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    bot.model.drop().await;
}
