//! Issue 12, item 6 and the operational issue: races between reaction events, claims and the
//! issuing deadline, each driven by an explicit order of events (the test waits for one step to
//! be handled before it sends the next), never by sleeps.

use crate::helpers::*;
use std::time::Duration;

/// Waits until the bot has handled a reaction event of `kind` (its metrics count it).
async fn handled(bot: &Bot, kind: &str) {
    let url = format!("http://127.0.0.1:{}/metrics", bot.port);
    let needle = format!("command=\"{kind}\"");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        if text.contains(&needle) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{kind} never handled: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send(bot: &Bot, added: bool, user: &str, ts: &str, event_time: i64) {
    let payload = bot.fake.reaction_event(added, user, APPROVE, AUDIT, ts).to_json(event_time);
    let resp = bot.sender.send_event(&payload).await.expect("event delivered");
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[tokio::test]
async fn a_removal_handled_before_its_add_cancels_the_approval() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-30").await;
    let request = bot.request_message(0).await;
    let t = now_secs();
    // The approver added and then removed their reaction; Slack's two deliveries are handled
    // in the other order: the removal (at t) first, then the add (at t - 1).
    send(&bot, false, APPROVER1, &request.ts, t).await;
    handled(&bot, "reaction_removed").await;
    send(&bot, true, APPROVER1, &request.ts, t - 1).await;
    bot.thread_note(&request.ts, "removed their approval after giving it; it does not count").await;
    let dump = bot.redis_dump().await;
    assert!(dump.contains("\"state\":\"pending\""), "still pending: {dump}");
    assert!(bot.dm_ephemerals(REQUESTER).is_empty(), "no password for a withdrawn approval");
    // Reacting again (a later event) approves.
    send(&bot, true, APPROVER1, &request.ts, t + 1).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.model.drop().await;
}

/// Replaces the request document with a value of the wrong type (every read of it fails, as
/// during a Redis blip) and returns what is needed to put it back.
async fn break_request_doc(bot: &Bot) -> (String, Vec<u8>) {
    let client = redis::Client::open(bot.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}req:*", bot.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    let key = keys
        .into_iter()
        .find(|k| !k.contains("by_msg") && !k.ends_with("req:active"))
        .expect("the request document");
    let dump: Vec<u8> = redis::cmd("DUMP").arg(&key).query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("RPUSH").arg(&key).arg("blip").query_async(&mut conn).await.unwrap();
    (key, dump)
}

async fn restore_request_doc(bot: &Bot, key: &str, dump: &[u8]) {
    let client = redis::Client::open(bot.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL").arg(key).query_async(&mut conn).await.unwrap();
    let _: () =
        redis::cmd("RESTORE").arg(key).arg(0).arg(dump).query_async(&mut conn).await.unwrap();
}

#[tokio::test]
async fn a_reaction_that_fails_after_slack_was_answered_is_announced_and_can_be_retried() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-31").await;
    let request = bot.request_message(0).await;
    let (key, dump) = break_request_doc(&bot).await;
    let t = now_secs();
    send(&bot, true, APPROVER1, &request.ts, t).await;
    let note = bot.thread_note(&request.ts, "I could not record").await;
    let text = text_of(&note);
    assert!(text.contains(&format!("<@{APPROVER1}>")), "the approver is named: {text}");
    assert!(text.contains("remove the reaction and add it again"), "how to retry: {text}");
    assert!(bot.dm_ephemerals(REQUESTER).is_empty());
    // Redis is back; the approver does as told: remove, then add again.
    restore_request_doc(&bot, &key, &dump).await;
    send(&bot, false, APPROVER1, &request.ts, t + 1).await;
    handled(&bot, "reaction_removed").await;
    send(&bot, true, APPROVER1, &request.ts, t + 2).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.model.drop().await;
}

/// The request's document state, as stored.
async fn request_state(bot: &Bot) -> String {
    let dump = bot.redis_dump().await;
    let doc = dump.lines().find(|l| l.contains("\"state\":")).unwrap_or_default().to_owned();
    let at = doc.find("\"state\":\"").map(|i| i + 9).unwrap_or(0);
    doc[at..].split('"').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_issuing_deadline_does_not_settle_an_issue_still_in_progress() {
    let bot = spawn_bot(Options::default()).await;
    let role = bot.model.names.firefighter(pgroles::model::Level::Ro);
    // Hold the role's catalog row: the broker's ALTER ROLE waits behind this transaction.
    let mut blocker = bot.model.superuser().await;
    let tx = blocker.transaction().await.unwrap();
    tx.batch_execute(&format!("ALTER ROLE \"{role}\" CONNECTION LIMIT 7")).await.unwrap();

    bot.command(REQUESTER, "ro INC-32").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, "Issuing access").await;

    // Step 2: the issuing deadline comes due while the password is still being set.
    let client = redis::Client::open(bot.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let due_key = format!("{}timers:due", bot.prefix);
    let timers: Vec<String> =
        redis::cmd("ZRANGE").arg(&due_key).arg(0).arg(-1).query_async(&mut conn).await.unwrap();
    let deadline = timers
        .into_iter()
        .find(|t| t.starts_with("approval_timeout:"))
        .expect("the issuing deadline is armed");
    let now_ms = now_secs() * 1000;
    let _: () = redis::cmd("ZADD")
        .arg(&due_key)
        .arg(now_ms)
        .arg(&deadline)
        .query_async(&mut conn)
        .await
        .unwrap();
    // Wait until the worker has handled it: re-armed (pushed back) or the request settled.
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        let score: Option<f64> =
            redis::cmd("ZSCORE").arg(&due_key).arg(&deadline).query_async(&mut conn).await.unwrap();
        let state = request_state(&bot).await;
        if score.is_some_and(|s| s > (now_ms + 30_000) as f64) || state != "approved" {
            break;
        }
        assert!(tokio::time::Instant::now() < until, "the deadline was never handled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(request_state(&bot).await, "approved", "not settled while issuing runs");

    // Step 3: once the broker's ALTER ROLE waits on the row (not before: an ALTER ROLE that
    // starts after the commit sees the new row and succeeds), the blocking change commits, so
    // the waiting ALTER ROLE fails: nothing granted.
    let broker = bot.model.names.broker();
    let watcher = bot.model.superuser().await;
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE usename = $1 AND wait_event_type = 'Lock'",
                &[&broker],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < until, "the broker never waited on the row");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tx.commit().await.unwrap();
    bot.dm_message(REQUESTER, "no access was granted").await;
    let until = tokio::time::Instant::now() + WAIT;
    while request_state(&bot).await == "approved" {
        assert!(tokio::time::Instant::now() < until, "the request was never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(request_state(&bot).await, "failed", "the outcome is the database's");
    let thread = bot.thread_texts(&request.ts).join("\n");
    assert!(!thread.contains("Access issued"), "{thread}");
    assert!(bot.dm_ephemerals(REQUESTER).iter().all(|e| !e
        .text
        .clone()
        .unwrap_or_default()
        .contains("Password: `")));
    bot.model.drop().await;
}
