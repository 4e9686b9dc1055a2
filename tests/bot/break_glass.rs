//! Break-glass (issue 17) through the bot, real PostgreSQL and Redis and the strict fake Slack:
//! refused when off, for someone not on the list, and before a timeout in `after_timeout` mode;
//! when allowed, issued at once (no approvals) within its own cap, with the loud trail (a
//! notice for everyone with the approvers mentioned, a DM to every approver, `BREAK-GLASS` in
//! the thread and on the message, `break-glass` in the database's audit row), then reviewed
//! by an approver (the Reviewed button, or the approve reaction; never the requester), with
//! reminders until then.

use crate::helpers::*;
use pgroles::access::break_glass::BreakGlassMode;
use pgroles::model::Level;
use std::sync::Arc;

async fn glass_bot(
    mode: BreakGlassMode,
    users: &[&str],
    tweak_more: fn(&mut pgroles::config::Config),
) -> Bot {
    let users: Vec<String> = users.iter().map(|u| (*u).to_owned()).collect();
    spawn_bot(Options {
        alert_group: true,
        approval_window_secs: 2,
        tweak: Some(Arc::new(move |cfg, _| {
            cfg.access.break_glass = mode;
            cfg.access.break_glass_users = users.clone();
            tweak_more(cfg);
        })),
        ..Options::default()
    })
    .await
}

fn nothing(_: &mut pgroles::config::Config) {}

/// The top-level message (not a thread reply) containing `needle`.
async fn top_level(bot: &Bot, needle: &str) -> slack_fake::FakeMessage {
    let needle = needle.to_owned();
    bot.fake
        .wait_for(
            |ws| {
                ws.messages(AUDIT)
                    .into_iter()
                    .find(|m| m.thread_ts.is_none() && text_of(m).contains(&needle))
            },
            WAIT,
        )
        .await
        .unwrap_or_else(|_| panic!("a top-level message with {needle:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_is_refused_when_off_and_for_someone_not_on_the_list() {
    let bot = glass_bot(BreakGlassMode::Off, &[], nothing).await;
    let ack = bot.command(REQUESTER, "rw INC-90 break-glass primary down, nobody answers").await;
    assert!(ack.body.contains("Break-glass is off"), "{}", ack.body);
    let ack = bot.command(REQUESTER, "rw INC-90 break-glass").await;
    assert!(ack.body.contains("needs a reason"), "{}", ack.body);
    assert!(bot.fake.messages(AUDIT).is_empty(), "nothing posted");
    bot.model.drop().await;

    let bot = glass_bot(BreakGlassMode::Immediate, &[APPROVER2], nothing).await;
    bot.command(REQUESTER, "rw INC-91 break-glass primary down, nobody answers").await;
    bot.ephemeral(REQUESTER, "not on the list of people who may break glass").await;
    assert!(bot.fake.messages(AUDIT).is_empty(), "nothing posted");
    assert!(bot.workflow.grants().active(Level::Rw).await.unwrap().is_none());
    bot.model.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_break_glass_issues_at_once_loudly_capped_and_marked_in_the_database() {
    let bot = glass_bot(BreakGlassMode::Immediate, &[], nothing).await;
    let ack = bot.command(REQUESTER, "rw INC-92 31m break-glass primary down, pager silent").await;
    assert!(ack.body.contains("30m"), "over the break-glass cap: {}", ack.body);
    assert!(bot.fake.messages(AUDIT).is_empty(), "nothing posted");
    bot.command(REQUESTER, "rw INC-92 30m break-glass primary down, pager silent <!channel>").await;
    let request = bot.request_message(0).await;
    let password = password_in(&bot.ephemeral(REQUESTER, "Password: `").await);
    assert!(!password.is_empty());
    bot.thread_note(&request.ts, "BREAK-GLASS").await;
    bot.thread_note(&request.ts, "Access issued").await;

    // The notice: for everyone, the approvers and the alert group mentioned, reason escaped.
    let notice = text_of(&top_level(&bot, "<!here>").await);
    for needle in [
        "BREAK-GLASS",
        &format!("<@{REQUESTER}> took rw access for INC-92 for 30m without approval"),
        &format!("<@{APPROVER1}>"),
        &format!("<@{APPROVER2}>"),
        &format!("<!subteam^{ALERT_GROUP}>"),
        "&lt;!channel&gt;",
    ] {
        assert!(notice.contains(needle), "{needle}: {notice}");
    }
    // A DM to every approver; none to the requester about it.
    for approver in [APPROVER1, APPROVER2] {
        bot.dm_message(approver, "BREAK-GLASS").await;
    }
    // The request message: marked, no approvals, a Reviewed button.
    let ts = request.ts.clone();
    let marked = bot
        .fake
        .wait_for(
            |ws| {
                ws.message(AUDIT, &ts)
                    .filter(|m| format!("{:?}", m.blocks).contains("pgroles_review"))
            },
            WAIT,
        )
        .await
        .expect("the Reviewed button");
    assert!(format!("{:?}", marked.blocks).contains("BREAK-GLASS"), "{:?}", marked.blocks);

    // 30 minutes at most (the default break-glass cap), in Redis and in the database.
    let grant = bot.workflow.grants().active(Level::Rw).await.unwrap().expect("a grant");
    assert!(grant.break_glass);
    assert!(grant.approvers.is_empty());
    let planned = grant.expires_at - grant.granted_at;
    assert_eq!(planned.num_minutes(), 30, "{planned:?}");
    let su = bot.model.superuser().await;
    let role = bot.model.names.firefighter(Level::Rw);
    let row = su
        .query_one(
            &format!(
                "SELECT approvers, rolvaliduntil <= now() + interval '31 minutes' \
                 FROM \"{}\".firefighter_audit, pg_roles \
                 WHERE event = 'issue' AND incident = 'INC-92' AND rolname = $1",
                bot.model.names.admin_schema
            ),
            &[&role],
        )
        .await
        .unwrap();
    let approvers: Vec<String> = row.get(0);
    assert_eq!(approvers, vec!["break-glass".to_owned()], "marked in the audit row");
    assert!(row.get::<_, bool>(1), "VALID UNTIL within the break-glass cap");
    // The password is the requester's only: not in the notice, the thread, or anywhere else.
    assert!(!bot.everything_but_dms(REQUESTER).contains(&password));
    bot.model.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_timeout_break_glass_needs_a_timed_out_request_for_the_incident_first() {
    let bot = glass_bot(BreakGlassMode::AfterTimeout, &[], nothing).await;
    let ack = bot.command(REQUESTER, "ro INC-93 break-glass replica down, need to look").await;
    assert!(ack.body.contains("only after a normal request"), "{}", ack.body);

    bot.command(REQUESTER, "ro INC-93").await;
    let first = bot.request_message(0).await;
    bot.thread_note(&first.ts, "Timed out").await;
    // Another incident's timeout does not count.
    let ack = bot.command(REQUESTER, "ro INC-94 break-glass replica down, need to look").await;
    assert!(ack.body.contains("only after a normal request"), "{}", ack.body);

    bot.command(REQUESTER, "ro INC-93 10m break-glass replica down, need to look").await;
    let glass = bot.request_message(1).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.thread_note(&glass.ts, "BREAK-GLASS").await;
    let grant = bot.workflow.grants().active(Level::Ro).await.unwrap().expect("a grant");
    assert_eq!((grant.expires_at - grant.granted_at).num_minutes(), 10);
    bot.model.drop().await;
}

fn fast_review(cfg: &mut pgroles::config::Config) {
    cfg.access.break_glass_review_secs = 2;
    cfg.access.break_glass_reminder_secs = 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_run_until_another_approver_reviews_and_the_requester_cannot() {
    let bot = glass_bot(BreakGlassMode::Immediate, &[], fast_review).await;
    bot.command(REQUESTER, "rw INC-95 break-glass primary down, pager silent").await;
    let request = bot.request_message(0).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.thread_note(&request.ts, "BREAK-GLASS not reviewed yet").await;
    bot.thread_note(&request.ts, "The review is overdue").await;
    top_level(&bot, "The review is overdue").await;

    // The requester (also not an approver here) cannot review; the approver's press does.
    bot.react(REQUESTER, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, "Only an approver other than the person who broke glass").await;
    let press = bot.fake.block_action(APPROVER1, AUDIT, &request.ts, "pgroles_review").unwrap();
    let resp = bot.sender.send_interaction(&press).await.expect("delivered");
    assert_eq!(resp.status, 200, "{}", resp.body);
    bot.thread_note(&request.ts, &format!("BREAK-GLASS reviewed by <@{APPROVER1}>")).await;

    // Reviewed: the button is gone and the reminders stop (one may be in flight at the press).
    let ts = request.ts.clone();
    bot.fake
        .wait_for(
            |ws| {
                ws.message(AUDIT, &ts)
                    .filter(|m| !format!("{:?}", m.blocks).contains("pgroles_review"))
            },
            WAIT,
        )
        .await
        .expect("the Reviewed button is gone");
    let reminders =
        || bot.thread_texts(&request.ts).iter().filter(|t| t.contains("not reviewed yet")).count();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let settled = reminders();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(reminders(), settled, "{:#?}", bot.thread_texts(&request.ts));
    bot.model.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approvers_reaction_reviews_and_the_history_says_break_glass() {
    let bot = glass_bot(BreakGlassMode::Immediate, &[], nothing).await;
    bot.command(REQUESTER, "ro INC-96 5m break-glass replica down, need to look").await;
    let request = bot.request_message(0).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.react(APPROVER2, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, &format!("BREAK-GLASS reviewed by <@{APPROVER2}>")).await;
    bot.command(APPROVER1, "history INC-96 1").await;
    let history = bot.ephemeral(APPROVER1, "Firefighter history").await.text.unwrap_or_default();
    assert!(history.contains("approved by break-glass"), "{history}");
    bot.model.drop().await;
}
