//! The request message's Approve and Deny buttons (`block_actions`, signed, through the strict
//! fake): the same rules as the reactions, feeding the one state machine. The requester's own
//! press does not count, an approver's press issues access, a repeated delivery is handled
//! once, a Deny press by an approver denies, and the buttons are gone once the request is
//! decided (the fake refuses a press on a button the message no longer shows).

use crate::helpers::*;

impl Bot {
    /// Presses `action_id` on the message `ts` as `user`; returns the payload (to re-send).
    async fn press(&self, user: &str, ts: &str, action_id: &str) -> serde_json::Value {
        let payload = self.fake.block_action(user, AUDIT, ts, action_id).expect("the button");
        let resp = self.sender.send_interaction(&payload).await.expect("delivered");
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert!(resp.elapsed < std::time::Duration::from_secs(3), "ack took {:?}", resp.elapsed);
        payload
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approvers_button_issues_access_and_the_requesters_does_not_count() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-77").await;
    let request = bot.request_message(0).await;
    let blocks = request.blocks.clone().unwrap_or_default().to_string();
    assert!(blocks.contains("\"action_id\":\"pgroles_approve\""), "{blocks}");
    assert!(blocks.contains("\"action_id\":\"pgroles_deny\""), "{blocks}");

    bot.press(REQUESTER, &request.ts, "pgroles_approve").await;
    bot.thread_note(&request.ts, "that does not count").await;
    assert!(bot.dm_ephemerals(REQUESTER).is_empty(), "no password after a self-approval");

    let press = bot.press(APPROVER1, &request.ts, "pgroles_approve").await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.thread_note(&request.ts, "Access issued").await;
    // Slack's retry of the same press (same trigger_id) is handled once.
    let again = bot.sender.send_interaction(&press).await.expect("delivered");
    assert_eq!(again.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let approved = bot.thread_texts(&request.ts).iter().filter(|t| t.contains("approved")).count();
    assert_eq!(approved, 1, "{:#?}", bot.thread_texts(&request.ts));
    assert_eq!(bot.dm_ephemerals(REQUESTER).len(), 1, "one password DM");

    // Decided: the message shows no buttons any more.
    let ts = request.ts.clone();
    let updated = bot
        .fake
        .wait_for(
            |ws| ws.message(AUDIT, &ts).filter(|m| !format!("{:?}", m.blocks).contains("pgroles_")),
            WAIT,
        )
        .await;
    assert!(updated.is_ok(), "the buttons are gone once access is issued");
    assert!(bot.fake.block_action(APPROVER2, AUDIT, &request.ts, "pgroles_approve").is_err());
    bot.model.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approvers_deny_button_denies_and_an_outsiders_press_changes_nothing() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "rw INC-78").await;
    let request = bot.request_message(0).await;
    bot.press(OUTSIDER, &request.ts, "pgroles_approve").await;
    bot.thread_note(&request.ts, "is not an approver").await;
    bot.press(APPROVER1, &request.ts, "pgroles_deny").await;
    bot.thread_note(&request.ts, &format!("Denied by <@{APPROVER1}>")).await;
    bot.dm_message(REQUESTER, "INC-78 was denied").await;
    assert!(
        !bot.thread_texts(&request.ts)
            .iter()
            .any(|t| t.contains(&format!("<@{OUTSIDER}> approved"))),
        "an outsider's press is not an approval: {:#?}",
        bot.thread_texts(&request.ts)
    );
    assert!(bot.dm_ephemerals(REQUESTER).iter().all(|e| !format!("{e:?}").contains("Password")));
    bot.model.drop().await;
}
