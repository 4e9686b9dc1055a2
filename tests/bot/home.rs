//! The App Home tab (issue 17): `app_home_opened` (signed, as Slack sends it) makes the bot
//! publish the viewer's Home with `views.publish` (checked by the fake as Slack does): their
//! live access with how to release or extend it, the requests waiting for their approval (an
//! approver's only), and their recent history.

use crate::helpers::*;

/// Opens `user`'s Home and waits for a published view whose JSON contains `needle`.
async fn home(bot: &Bot, user: &str, needle: &str) -> String {
    let before = bot.fake.home(user).map(|v| v.to_string());
    let payload = bot.fake.app_home_opened(user);
    let resp = bot.sender.send_event(&payload).await.expect("event delivered");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let needle = needle.to_owned();
    bot.fake
        .wait_for(
            |ws| {
                let view = ws.home(user)?.to_string();
                (Some(&view) != before.as_ref() && view.contains(&needle)).then_some(view)
            },
            WAIT,
        )
        .await
        .unwrap_or_else(|_| panic!("{user}'s Home with {needle:?}; got {:?}", bot.fake.home(user)))
}

#[tokio::test]
async fn the_home_tab_shows_my_access_what_waits_for_me_and_my_history() {
    let bot = spawn_bot(Options::default()).await;
    bot.command(REQUESTER, "ro INC-40").await;
    let request = bot.request_message(0).await;
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.command(OUTSIDER, "rw INC-41").await;
    bot.request_message(1).await;

    let mine = home(&bot, REQUESTER, "Your access now").await;
    assert!(mine.contains("*ro* for INC-40"), "{mine}");
    assert!(mine.contains("/firefighter done") && mine.contains("/firefighter extend"), "{mine}");
    assert!(mine.contains("Nothing is waiting for your approval"), "{mine}");
    assert!(mine.contains("INC-40") && mine.contains("issue"), "the history: {mine}");

    let approver = home(&bot, APPROVER1, "Waiting for your approval").await;
    assert!(
        approver.contains(&format!("<@{OUTSIDER}> asks for rw for INC-41: 0 of 2")),
        "{approver}"
    );
    assert!(approver.contains("You hold no firefighter access"), "{approver}");

    let outsider = home(&bot, OUTSIDER, "Your access now").await;
    assert!(outsider.contains("Nothing is waiting for your approval"), "{outsider}");
    bot.model.drop().await;
}
