//! `/firefighter status`, `resend`, `revoke`, and `/pgroles verify`, around a live ro grant.

use crate::helpers::*;
use crate::support::pg;

#[tokio::test]
async fn status_resend_and_revoke_around_a_live_grant() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-30").await;
    let request = bot.request_message(0).await;
    bot.command(REQUESTER, "status").await;
    bot.ephemeral(REQUESTER, "ro requested by").await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    let first = password_in(&bot.ephemeral(REQUESTER, "Password: `").await);

    // Approvers see who holds what (`access.status_visibility = "approvers"`, the default).
    bot.command(APPROVER2, "status").await;
    bot.ephemeral(APPROVER2, &format!("ro: held by <@{REQUESTER}> for INC-30")).await;

    bot.command(REQUESTER, "resend").await;
    bot.ephemeral(REQUESTER, "I sent a new ro password").await;
    let second = bot
        .dm_ephemerals(REQUESTER)
        .iter()
        .filter(|e| e.text.as_deref().unwrap_or_default().contains("Password: `"))
        .map(password_in)
        .next_back()
        .unwrap();
    assert_ne!(first, second, "resend rotates the password");
    let (server, db) = (bot.model.pg.clone(), bot.model.names.database.clone());
    let role = bot.model.names.firefighter(pgroles::model::Level::Ro);
    assert!(pg::login(&server, &db, &role, &first).await.is_err(), "the old password is dead");
    let session = pg::login(&server, &db, &role, &second).await.expect("the new one works");

    bot.command(OUTSIDER, "revoke ro").await;
    bot.ephemeral(OUTSIDER, "Only <@").await;
    bot.command(APPROVER2, "revoke ro").await;
    bot.ephemeral(APPROVER2, "Revoked ro").await;
    bot.thread_note(&request.ts, &format!("Access revoked by <@{APPROVER2}>")).await;
    assert!(session.query_one("SELECT 1", &[]).await.is_err(), "the session was ended");
    assert!(pg::login(&server, &db, &role, &second).await.is_err(), "login refused");
    bot.command(REQUESTER, "resend").await;
    bot.ephemeral(REQUESTER, "nothing to resend").await;
    bot.model.drop().await;
}

#[tokio::test]
async fn pgroles_verify_is_for_allowed_users_and_shows_the_report() {
    let bot = spawn_bot(Options::default()).await;
    let refused = bot.slash("/pgroles", OUTSIDER, "verify").await;
    assert!(refused.body.contains("not allowed to run /pgroles verify"), "{}", refused.body);
    bot.slash("/pgroles", APPROVER1, "verify").await;
    let report = bot.ephemeral(APPROVER1, "pgroles verify:").await;
    assert!(report.blocks.is_some(), "the report comes as Block Kit");
    bot.slash("/pgroles", APPROVER1, "verify post").await;
    bot.fake
        .wait_for(
            |ws| ws.messages(AUDIT).into_iter().find(|m| text_of(m).contains("pgroles verify")),
            WAIT,
        )
        .await
        .expect("the report is posted in the channel");
    bot.model.drop().await;
}
