//! Approval reaction -> password DM: the time from sending a signed `reaction_added` to the
//! fake Slack receiving the `chat.postEphemeral` in the requester's DM (the fake's own receive
//! time), over one grant after another (request, approve, measure, revoke), with the shared
//! role or a per-person login (the bot's `access.identity`). Baselines from the same run: the
//! broker's `issue` and `create_person_login` alone (SCRAM verifier + one PostgreSQL round
//! trip; CREATE ROLE, GRANT and settings in one transaction for the second), a bare
//! `chat.postMessage` to the fake, and the DM delivery's two calls (`conversations.open` +
//! `chat.postEphemeral`) made directly.
//!
//! Owns the per-grant sequence and timing; it must not judge goals (main does).

use crate::stats::Series;
use crate::support::bot::{Running, World, APPROVE, APPROVER1, AUDIT, REQUESTER};
use anyhow::Context;
use pgroles::broker::{ActionAudit, IssueAudit};
use pgroles::model::Level;
use pgroles::slack::client::SlackApi;
use secrecy::SecretString;
use slack_fake::{FakeSlack, Workspace};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WAIT: Duration = Duration::from_secs(15);
/// The labels of the two identities, in the series' names (the report pairs them by these).
pub const SHARED: &str = "shared role";
pub const PER_PERSON: &str = "per-person login";
/// The name of the reaction -> DM series of an identity.
pub fn to_dm_name(label: &str) -> String {
    format!("reaction_added sent -> password DM received by Slack ({label})")
}

/// Reaction -> DM, and the reaction's own HTTP ack, over `n` grants for incidents numbered
/// from `first_incident` (distinct per call: the request message is found by its incident).
pub async fn reaction_to_dm(
    f: &World,
    bot: &Running,
    n: usize,
    label: &str,
    first_incident: usize,
) -> anyhow::Result<Vec<Series>> {
    let fake = &f.fake;
    let posted_before = posted_notes(fake);
    let (mut to_dm, mut acks) = (Vec::new(), Vec::new());
    let (mut to_update, mut to_open) = (Vec::new(), Vec::new());
    for i in 0..n {
        let incident = format!("INC-{}", first_incident + i);
        let cmd = fake.slash_command("/firefighter", &format!("ro {incident}"), REQUESTER, AUDIT);
        let ack = bot.sender.send_command(&cmd).await?;
        anyhow::ensure!(ack.body.contains("Asking the approvers"), "request {i}: {}", ack.body);
        // The requester is told where the request is once it is stored and linked: from then
        // on a reaction finds it at once.
        fake.wait_for(|ws| (count_posted(ws) > posted_before + i).then_some(()), WAIT)
            .await
            .with_context(|| format!("request {i} was not posted"))?;
        let needle = format!("for {incident}");
        let ts = fake
            .wait_for(
                |ws| {
                    ws.messages(AUDIT)
                        .into_iter()
                        .find(|m| m.text.as_deref().unwrap_or_default().contains(&needle))
                        .map(|m| m.ts)
                },
                WAIT,
            )
            .await
            .with_context(|| format!("request message for {incident}"))?;
        let dms_before = fake.with(|ws| password_dms(ws).len());
        let payload = fake.reaction_event(true, APPROVER1, APPROVE, AUDIT, &ts).to_json(now_secs());
        let sent_at = SystemTime::now();
        let resp = bot.sender.send_event(&payload).await?;
        anyhow::ensure!(resp.status == 200, "reaction {i}: HTTP {}", resp.status);
        acks.push(resp.elapsed);
        let dm_at = fake
            .wait_for(|ws| password_dms(ws).get(dms_before).copied(), WAIT)
            .await
            .with_context(|| format!("no password DM for {incident}"))?;
        to_dm.push(dm_at.duration_since(sent_at).unwrap_or_default());
        let (update, open) = fake.with(|ws| stages(ws, sent_at, dm_at));
        to_update.push(update.duration_since(sent_at).unwrap_or_default());
        to_open.push(open.duration_since(sent_at).unwrap_or_default());
        // Let the grant finish its audit trail, then end it so the next request can start.
        fake.wait_for(
            |ws| {
                ws.thread(AUDIT, &ts)
                    .iter()
                    .any(|m| m.text.as_deref().unwrap_or_default().contains("Access issued"))
                    .then_some(())
            },
            WAIT,
        )
        .await
        .with_context(|| format!("no 'Access issued' note for {incident}"))?;
        bot.workflow.grants().revoke(Level::Ro, APPROVER1).await?;
    }
    Ok(vec![
        Series::new(to_dm_name(label), to_dm, 0),
        Series::new("  of which: -> request message updated (chat.update)", to_update, 0),
        Series::new("  of which: -> credential set, DM opened (conversations.open)", to_open, 0),
        Series::new(format!("(reaction_added HTTP ack, {label})"), acks, 0),
    ])
}

/// The baselines, `n` of each.
pub async fn baselines(f: &World, bot: &Running, n: usize) -> anyhow::Result<Vec<Series>> {
    let broker = bot.workflow.grants().broker();
    let audit = IssueAudit {
        incident: "INC-1".into(),
        requester: REQUESTER.into(),
        approvers: vec![APPROVER1.into()],
    };
    let expire = ActionAudit { incident: "INC-1".into(), actor: "bench".into() };
    let mut issue = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let ends_at = chrono::Utc::now() + chrono::Duration::hours(1);
        let issued = broker.issue(Level::Ro, ends_at, &audit).await?;
        issue.push(t.elapsed());
        drop(issued);
        broker.expire(Level::Ro, &expire).await?;
    }
    let mut create = Vec::new();
    for i in 0..n {
        let request_id = format!("{:08x}-0000-4000-8000-000000000000", 0xbe00_0000_u32 + i as u32);
        let t = Instant::now();
        let login = broker.create_person_login(Level::Ro, &request_id, 60, &audit).await?;
        create.push(t.elapsed());
        broker.end_person_login(&login.login, "bench").await?;
    }
    let api = SlackApi::new(&f.fake.api_url(), &SecretString::from(f.fake.bot_token()))?;
    let (mut post, mut dm) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        api.post_message(AUDIT, "benchmark baseline", &[], None).await?;
        post.push(t.elapsed());
        let t = Instant::now();
        let channel = api.open_dm(REQUESTER).await?;
        api.post_ephemeral(&channel, REQUESTER, "benchmark baseline", &[]).await?;
        dm.push(t.elapsed());
    }
    Ok(vec![
        Series::new("baseline: Broker::issue (SCRAM + PostgreSQL)", issue, 0),
        Series::new("baseline: Broker::create_person_login (SCRAM + PostgreSQL)", create, 0),
        Series::new("baseline: fake Slack chat.postMessage", post, 0),
        Series::new("baseline: fake Slack conversations.open + chat.postEphemeral", dm, 0),
    ])
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn count_posted(ws: &Workspace) -> usize {
    ws.ephemerals(REQUESTER)
        .iter()
        .filter(|e| e.text.as_deref().unwrap_or_default().contains("is posted: https://"))
        .count()
}

fn posted_notes(fake: &FakeSlack) -> usize {
    fake.with(count_posted)
}

/// Between the reaction and the DM: when the fake received the first `chat.update` (the approval
/// is recorded) and the last `conversations.open` (the password is set, delivery starts).
fn stages(ws: &Workspace, from: SystemTime, to: SystemTime) -> (SystemTime, SystemTime) {
    let within = |m: &str| {
        ws.calls(m)
            .into_iter()
            .map(|c| c.at)
            .filter(|at| *at >= from && *at <= to)
            .collect::<Vec<_>>()
    };
    let update = within("chat.update").first().copied().unwrap_or(to);
    let open = within("conversations.open").last().copied().unwrap_or(to);
    (update, open)
}

/// When the fake received each password DM (`chat.postEphemeral` in the requester's DM).
fn password_dms(ws: &Workspace) -> Vec<SystemTime> {
    let Some(dm) = ws.dm_channel(REQUESTER) else { return Vec::new() };
    ws.calls("chat.postEphemeral")
        .into_iter()
        .filter(|c| {
            c.params["channel"] == dm.as_str() && c.params.to_string().contains("Password: `")
        })
        .map(|c| c.at)
        .collect()
}
