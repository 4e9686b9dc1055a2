//! On-call auto-approval (issue 17) through the bot, the strict fake Slack (`users.info`) and
//! the strict fake PagerDuty: a requester on call in a configured schedule is approved without
//! reactions and the thread says why; a PagerDuty that fails or is slow leaves the request to
//! the approvers, who approve it as usual.

use crate::helpers::*;
use chrono::{Duration as Span, Utc};
use pagerduty_fake::{FakeFault, FakePagerDuty};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

const EMAIL: &str = "requester@example.com";
const SCHEDULE: &str = "PSCHED1";

async fn on_call_bot(pd: &FakePagerDuty, timeout_ms: u64) -> Bot {
    let (url, token) = (pd.api_url(), pd.token());
    let bot = spawn_bot(Options {
        tweak: Some(Arc::new(move |cfg, _| {
            cfg.access.auto_approve_ro_schedules = vec![SCHEDULE.into()];
            cfg.pagerduty.api_url = url.clone();
            cfg.pagerduty.token = Some(SecretString::from(token.clone()));
            cfg.pagerduty.timeout_ms = timeout_ms;
        })),
        ..Options::default()
    })
    .await;
    bot.fake.set_user_email(REQUESTER, EMAIL);
    bot
}

async fn pagerduty(on_call: bool) -> FakePagerDuty {
    let pd = FakePagerDuty::start().await.expect("fake PagerDuty");
    let user = pd.add_user("Requester", EMAIL);
    if on_call {
        let now = Utc::now();
        pd.add_oncall(&user, SCHEDULE, now - Span::hours(1), now + Span::hours(4));
    }
    pd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_on_call_is_approved_without_reactions_and_the_thread_says_why() {
    let pd = pagerduty(true).await;
    let bot = on_call_bot(&pd, 3000).await;
    let ack = bot.command(REQUESTER, "ro INC-42").await;
    assert!(ack.body.contains("Asking the approvers"), "{}", ack.body);
    let request = bot.request_message(0).await;
    let why = bot.thread_note(&request.ts, "Approved automatically").await;
    assert!(
        text_of(&why).contains(&format!(
            "<@{REQUESTER}> is on call right now in PagerDuty schedule {SCHEDULE}"
        )),
        "{}",
        text_of(&why)
    );
    bot.ephemeral(REQUESTER, "Password: `").await;
    bot.thread_note(&request.ts, "Access issued").await;
    assert_eq!(bot.fake.calls("users.info").len(), 1);
    assert_eq!(pd.calls("oncalls").len(), 1);
}

/// PagerDuty failing (`fault`) or too slow for `timeout_ms`: the request waits for approvers.
/// `answered`: wait for the fake's answer before reacting (a slow answer may never be sent:
/// the bot hangs up at its deadline).
async fn normal_approval_when(fault: FakeFault, timeout_ms: u64, answered: bool) {
    let pd = pagerduty(true).await;
    pd.fail_next("users", fault, 1);
    let bot = on_call_bot(&pd, timeout_ms).await;
    bot.command(REQUESTER, "ro INC-43").await;
    let request = bot.request_message(0).await;
    // PagerDuty was asked, and its answer (or its absence) approved nothing: the approver's
    // reaction is the one that counts.
    bot.fake
        .wait_for(|ws| (!ws.calls("users.info").is_empty()).then_some(()), Duration::from_secs(10))
        .await
        .expect("the bot asked Slack for the email");
    pd.wait_for(
        |acc| acc.calls("users").first().filter(|c| !answered || c.status != 0).map(|c| c.status),
        Duration::from_secs(10),
    )
    .await
    .expect("PagerDuty was asked");
    bot.react(APPROVER1, APPROVE, &request.ts).await;
    bot.thread_note(&request.ts, &format!("<@{APPROVER1}> approved; all 1 approval(s)")).await;
    bot.ephemeral(REQUESTER, "Password: `").await;
    assert!(
        !bot.thread_texts(&request.ts).iter().any(|t| t.contains("Approved automatically")),
        "{:#?}",
        bot.thread_texts(&request.ts)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pagerduty_5xx_means_the_normal_approval() {
    normal_approval_when(FakeFault::Status(503), 3000, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_pagerduty_means_the_normal_approval() {
    normal_approval_when(FakeFault::Delay(2000), 200, false).await;
}
