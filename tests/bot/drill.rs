//! The firefighter drill, end to end: signed slash command, request message, reactions, the
//! password in a DM, a real login, reminder, expiry, and the audit thread; then secret scans of
//! Slack, Redis and the logs.

use crate::helpers::*;
use crate::support::model::must_fail;
use crate::support::pg;
use pgroles::config::Identity;
use pgroles::model::Level;
use slack_fake::spec;
use std::time::Duration;

async fn drill(level: Level, pg_version: u32, identity: Identity) {
    let bot = spawn_bot(Options {
        pg_version,
        identity,
        default_duration_secs: 6,
        reminder_before_secs: 3,
        ..Options::default()
    })
    .await;
    let text = format!("{level} INC-42");
    let ack = bot.command(REQUESTER, &text).await;
    assert_eq!(ack.status, 200);
    assert!(ack.body.contains("Asking the approvers"), "{}", ack.body);

    let request = bot.request_message(0).await;
    let shown = text_of(&request);
    assert!(
        shown.contains(&format!("<@{REQUESTER}> requests {level} access for INC-42")),
        "{shown}"
    );
    assert!(shown.contains(&format!(":{APPROVE}:")), "how to approve: {shown}");
    assert!(shown.contains(&format!("<@{APPROVER1}>")), "who may approve: {shown}");
    let posted = bot.ephemeral(REQUESTER, "is posted: https://").await;
    assert!(posted.text.unwrap_or_default().contains("archives/C0AUDIT001"));

    bot.react(REQUESTER, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, "reacted to their own request; that does not count").await;
    assert!(bot.dm_ephemerals(REQUESTER).is_empty(), "no password after a self-approval");

    bot.react(APPROVER1, APPROVE, &request.ts).await;
    if level == Level::Rw {
        bot.thread_note(&request.ts, &format!("<@{APPROVER1}> approved (1 of 2)")).await;
        assert!(bot.dm_ephemerals(REQUESTER).is_empty(), "rw needs a second approval");
        bot.react(APPROVER2, APPROVE, &request.ts).await;
    }
    let dm = bot.ephemeral(REQUESTER, "Password: `").await;
    assert_eq!(Some(dm.channel.clone()), bot.fake.with(|ws| ws.dm_channel(REQUESTER)));
    let dm_text = dm.text.clone().unwrap_or_default();
    let role = match identity {
        Identity::Shared => bot.model.names.firefighter(level),
        Identity::PerPerson => crate::holders::login_in(&dm_text),
    };
    assert!(dm_text.contains(&format!("user={role} ")), "{dm_text}");
    if identity == Identity::PerPerson {
        let own =
            format!("{}ff_{level}_{}_", bot.model.names.role_prefix, REQUESTER.to_lowercase());
        assert!(role.starts_with(&own), "a login of the requester's own: {role}");
    }
    assert!(dm_text.contains("psql \"host="), "{dm_text}");
    assert!(dm_text.contains("UTC (in "), "expiry in UTC and relative: {dm_text}");
    let password = password_in(&dm);
    assert_eq!(password.len(), 40);
    bot.thread_note(&request.ts, "Access issued").await;

    let server = bot.model.pg.clone();
    let db = bot.model.names.database.clone();
    let ff = pg::login(&server, &db, &role, &password).await.expect("the DM password logs in");
    let orders = format!("{}.orders", pg::ident(&bot.model.names.schema));
    let n: i64 = ff.query_one(&format!("SELECT count(*) FROM {orders}"), &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
    let update = format!("UPDATE {orders} SET status = 'x' WHERE order_no = 'ORD-1001'");
    match level {
        Level::Ro => {
            assert_eq!(must_fail(&ff, &update).await, "permission denied for table orders")
        }
        Level::Rw => ff.batch_execute(&update).await.expect("rw may update"),
    }
    let su = pg::superuser(&server, &db).await;
    let seen: Vec<String> = su
        .query("SELECT usename::text FROM pg_stat_activity WHERE usename IS NOT NULL", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(seen.contains(&role), "{role} attributed in pg_stat_activity: {seen:?}");

    bot.thread_note(&request.ts, "Reminder sent").await;
    bot.ephemeral(REQUESTER, "ends at").await;
    let expired = bot.thread_note(&request.ts, "Password expired").await;
    assert!(text_of(&expired).contains("1 session ended"), "{}", text_of(&expired));
    if identity == Identity::PerPerson {
        let note = text_of(&expired);
        assert!(note.contains(&format!("Database login: `{role}`")), "{note}");
        let left: i64 = su
            .query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&role])
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "the login was dropped at expiry");
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(5), ff.query_one("SELECT 1", &[]))
            .await
            .map_or(true, |r| r.is_err()),
        "the open session was ended"
    );
    assert!(pg::login(&server, &db, &role, &password).await.is_err(), "login refused after expiry");

    let thread = bot.thread_texts(&request.ts).join("\n");
    for step in ["does not count", "approved", "Access issued", "Reminder sent", "Password expired"]
    {
        assert!(thread.contains(step), "thread lacks {step:?}:\n{thread}");
    }
    let ts = request.ts.clone();
    let expired_shown = bot
        .fake
        .wait_for(
            |ws| ws.message(AUDIT, &ts).filter(|m| text_of(m).contains("Access expired")),
            WAIT,
        )
        .await;
    assert!(expired_shown.is_ok(), "the request message shows the expiry");

    // No secret anywhere but the one DM.
    assert!(!bot.everything_but_dms(REQUESTER).contains(&password), "password outside the DM");
    let dms_with_password = bot
        .dm_ephemerals(REQUESTER)
        .iter()
        .filter(|e| format!("{e:?}").contains(&password))
        .count();
    assert_eq!(dms_with_password, 1);
    assert!(!bot.redis_dump().await.contains(&password), "password in Redis");
    let logs = logs();
    assert!(logs.contains("DEBUG"), "logs are captured at debug");
    assert!(!logs.contains(&password), "password in the logs");
    assert!(!logs.contains(&bot.signing_secret), "signing secret in the logs");
    assert!(!logs.contains(&bot.fake.bot_token()), "bot token in the logs");
    web_api_inventory(&bot);
    bot.model.drop().await;
}

/// The Web API inventory: every call the bot made in the drill, with each argument as it was
/// sent, checked against Slack's spec (read here from the vendored file, not the fake's table).
/// (`usergroups.users.list`, called only with approver groups, is checked by the fake's table.)
fn web_api_inventory(bot: &Bot) {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/slack/slack_web_openapi_v2.json"
    ))
    .unwrap();
    let table = spec::derive_table(&serde_json::from_str(&raw).unwrap());
    let calls = bot.fake.with(|ws| ws.all_calls());
    let mut methods = std::collections::BTreeSet::new();
    for call in &calls {
        methods.insert(call.method.clone());
        let args =
            table.get(&call.method).unwrap_or_else(|| panic!("{} not in the spec", call.method));
        for (name, value) in call.params.as_object().unwrap() {
            let arg = args.get(name).unwrap_or_else(|| {
                panic!("{} sent `{name}`, which the spec does not name", call.method)
            });
            let wrong = spec::type_error(arg.0, value, call.json_body);
            assert!(wrong.is_none(), "{} `{name}` = {value}: {wrong:?}", call.method);
        }
        for name in args.iter().filter(|(_, a)| a.1).map(|(n, _)| n) {
            assert!(call.params.get(name).is_some(), "{} without `{name}`", call.method);
        }
        assert_eq!(call.outcome, "ok", "{} answered {}", call.method, call.outcome);
    }
    for expected in [
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.getPermalink",
        "conversations.open",
    ] {
        assert!(methods.contains(expected), "the drill never called {expected}: {methods:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ro_drill_request_approve_login_select_but_not_update_then_expire() {
    drill(Level::Ro, 15, Identity::Shared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rw_drill_needs_two_approvals_then_updates_and_expires_on_pg17() {
    drill(Level::Rw, 17, Identity::Shared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ro_drill_with_a_login_of_ones_own_attributed_then_dropped_at_expiry_on_pg16() {
    drill(Level::Ro, 16, Identity::PerPerson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rw_drill_with_a_login_of_ones_own_on_pg17() {
    drill(Level::Rw, 17, Identity::PerPerson).await;
}
