//! `/firefighter done` (issue 17): the holder ends their own access early. The password no
//! longer works, the session is ended, the thread says it was released (not revoked), the DM
//! thanks them, the request message reads "Released early", and a second `done` is told there
//! is nothing left to release.

use crate::helpers::*;
use crate::support::pg;
use pgroles::model::Level;

#[tokio::test]
async fn the_holder_releases_their_own_access_early() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "done").await;
    bot.ephemeral(REQUESTER, "nothing to release").await;
    bot.command(REQUESTER, "ro INC-31 10m <!channel> checkout errors").await;
    let request = bot.request_message(0).await;
    // The reason is shown, made inert: no broadcast can form from it.
    let shown = text_of(&request);
    assert!(shown.contains("Reason: &lt;!channel&gt; checkout errors"), "{shown}");
    assert!(!shown.contains("<!channel>"), "{shown}");
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    let password = password_in(&bot.ephemeral(REQUESTER, "Password: `").await);
    let (server, db) = (bot.model.pg.clone(), bot.model.names.database.clone());
    let role = bot.model.names.firefighter(Level::Ro);
    let session = pg::login(&server, &db, &role, &password).await.expect("logs in");

    bot.command(REQUESTER, "done").await;
    bot.ephemeral(REQUESTER, "Released ro: the password expired and 1 session(s) ended").await;
    assert!(session.query_one("SELECT 1", &[]).await.is_err(), "the session was ended");
    assert!(pg::login(&server, &db, &role, &password).await.is_err(), "login refused");
    bot.thread_note(&request.ts, &format!("Released early by <@{REQUESTER}>")).await;
    bot.dm_message(REQUESTER, "You released your ro access for INC-31").await;
    bot.fake
        .wait_for(
            |ws| {
                let m = ws.messages(AUDIT).into_iter().next()?;
                text_of(&m).contains("Released early by").then_some(())
            },
            WAIT,
        )
        .await
        .expect("the request message says it was released");
    bot.command(REQUESTER, "done").await;
    let nothing = |ws: &slack_fake::Workspace| {
        let n = ws
            .ephemerals(REQUESTER)
            .iter()
            .filter(|e| e.text.as_deref().unwrap_or_default().contains("nothing to release"))
            .count();
        (n == 2).then_some(())
    };
    bot.fake.wait_for(nothing, WAIT).await.expect("the second done is told there is nothing");

    // The history: the issue and the end, from the database's audit table.
    bot.command(APPROVER1, "history INC-31 7").await;
    let history = bot.ephemeral(APPROVER1, "Firefighter history").await.text.unwrap_or_default();
    for needle in ["issue", "INC-31", &format!("approved by {APPROVER1}"), "expire"] {
        assert!(history.contains(needle), "{needle}: {history}");
    }
    bot.command(REQUESTER, &format!("history <@{APPROVER1}>")).await;
    bot.ephemeral(REQUESTER, "Only approvers and admins can read someone else's history").await;
    bot.command(REQUESTER, "history").await;
    let own = bot.ephemeral(REQUESTER, "Firefighter history").await.text.unwrap_or_default();
    assert!(own.contains("INC-31"), "{own}");
    bot.model.drop().await;
}

/// The ro role's VALID UNTIL, read as the superuser.
async fn valid_until(bot: &Bot, role: &str) -> chrono::DateTime<chrono::Utc> {
    let su = bot.model.superuser().await;
    su.query_one("SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", &[&role])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn an_approved_extension_moves_the_end_and_valid_until_but_never_past_two_hours() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "extend 10m").await;
    bot.ephemeral(REQUESTER, "nothing to extend").await;
    bot.command(REQUESTER, "ro INC-32").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    let password = password_in(&bot.ephemeral(REQUESTER, "Password: `").await);
    let role = bot.model.names.firefighter(Level::Ro);
    let before = valid_until(&bot, &role).await;
    let grant = bot.workflow.grants().active(Level::Ro).await.unwrap().expect("a grant");

    // 10 minutes granted: 1h 55m more would end past 2 hours after issue.
    bot.command(REQUESTER, "extend 1h55m").await;
    bot.ephemeral(REQUESTER, "past the 2-hour limit").await;
    bot.command(REQUESTER, "extend 30m").await;
    bot.ephemeral(REQUESTER, "I asked the approvers in the incident's thread").await;
    let ask =
        bot.thread_note(&request.ts, "asks to extend their ro access for INC-32 by 30m").await;
    bot.react(REQUESTER, APPROVE, &ask.ts).await;
    bot.thread_note(&request.ts, "reacted to their own extension").await;
    bot.react(OUTSIDER, APPROVE, &ask.ts).await;
    bot.thread_note(&request.ts, &format!("<@{OUTSIDER}> is not an approver")).await;
    assert_eq!(valid_until(&bot, &role).await, before, "nothing moved yet");

    bot.react(APPROVER1, APPROVE, &ask.ts).await;
    bot.thread_note(&request.ts, &format!("Extended by <@{APPROVER1}>")).await;
    bot.dm_message(REQUESTER, "Your ro access for INC-32 was extended").await;
    let after = valid_until(&bot, &role).await;
    assert_eq!((after - before).num_seconds(), 1800, "VALID UNTIL moved by 30 minutes");
    let extended = bot.workflow.grants().active(Level::Ro).await.unwrap().expect("still active");
    assert_eq!(extended.expires_at, grant.expires_at + chrono::Duration::minutes(30));
    assert_eq!(extended.id, grant.id, "the same grant");
    let (server, db) = (bot.model.pg.clone(), bot.model.names.database.clone());
    pg::login(&server, &db, &role, &password).await.expect("the same password still works");

    bot.model.drop().await;
}

/// Presses `action_id` on `user`'s ephemeral `message_ts` (a signed `block_actions`).
async fn press(bot: &Bot, user: &str, message_ts: &str, action_id: &str) {
    let payload = bot.fake.ephemeral_block_action(user, message_ts, action_id).expect("shown");
    let resp = bot.sender.send_interaction(&payload).await.expect("delivered");
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[tokio::test]
async fn the_reminder_dm_extends_and_releases_with_its_buttons() {
    let bot = spawn_bot(Options::default()).await;
    // 65 s granted, the reminder 60 s before the end: it comes after 5 s.
    bot.command(REQUESTER, "ro INC-34 65s").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    let reminder = bot.ephemeral(REQUESTER, "Request it again if you still need it").await;
    let ts = reminder.message_ts.clone().expect("posted with chat.postEphemeral");
    let buttons = reminder.blocks.clone().unwrap_or_default().to_string();
    assert!(buttons.contains("I'm done") && buttons.contains("Extend 30m"), "{buttons}");
    // Someone else cannot press a button on the holder's ephemeral: Slack never shows it them.
    assert!(bot.fake.ephemeral_block_action(APPROVER1, &ts, DONE).is_err());

    press(&bot, REQUESTER, &ts, EXTEND).await;
    let ask =
        bot.thread_note(&request.ts, "asks to extend their ro access for INC-34 by 30m").await;
    bot.dm_message(REQUESTER, "I asked the approvers").await;
    bot.react(APPROVER1, APPROVE, &ask.ts).await;
    bot.thread_note(&request.ts, &format!("Extended by <@{APPROVER1}>")).await;

    press(&bot, REQUESTER, &ts, DONE).await;
    bot.thread_note(&request.ts, &format!("Released early by <@{REQUESTER}>")).await;
    bot.dm_message(REQUESTER, "You released your ro access for INC-34").await;
    assert!(bot.workflow.grants().active(Level::Ro).await.unwrap().is_none(), "ended");
    bot.model.drop().await;
}

const DONE: &str = pgroles::workflow::DONE_ACTION;
const EXTEND: &str = pgroles::workflow::EXTEND_ACTION;
