//! Approvers from a Slack user group (`access.approver_group`, resolved through
//! `usergroups.users.list`): a member's reaction approves; without the group, it does not.

use crate::helpers::*;

#[tokio::test]
async fn a_member_of_the_approver_group_can_approve() {
    let bot = spawn_bot(Options { approver_group: true, ..Options::default() }).await;
    bot.command(REQUESTER, "ro INC-77").await;
    let request = bot.request_message(0).await;
    bot.react(GROUP_MEMBER, APPROVE, &request.ts).await;
    let dm = bot.ephemeral(REQUESTER, "Password: `").await;
    assert_eq!(password_in(&dm).len(), 40);
    let calls = bot.fake.calls("usergroups.users.list");
    assert!(!calls.is_empty(), "the group was resolved through usergroups.users.list");
    let _ = bot.command(APPROVER1, "revoke ro").await;
}

#[tokio::test]
async fn without_the_group_configured_its_member_cannot_approve() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-78").await;
    let request = bot.request_message(0).await;
    bot.react(GROUP_MEMBER, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, "is not an approver").await;
    assert!(bot.dm_ephemerals(REQUESTER).is_empty(), "no password without an approver");
}
