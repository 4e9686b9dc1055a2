//! The approver cache against the strict fake Slack: one Slack call for a burst of lookups, a
//! failure cached instead of retried per reaction, the last good members served for a while
//! during an outage, then nobody from the group (fail closed).

use super::*;
use crate::slack::client::RetryPolicy;
use secrecy::SecretString;
use slack_fake::{FakeFault, FakeSlack};

const GROUP: &str = "S0APPROVE1";
const MEMBER: &str = "U0GRP00001";

async fn setup(ttl: Duration, stale_for: Duration) -> (FakeSlack, Approvers) {
    let fake = FakeSlack::start().await.expect("fake Slack");
    fake.add_users(&[MEMBER]);
    fake.add_usergroup(GROUP, &[MEMBER]);
    let api = SlackApi::new(&fake.api_url(), &SecretString::from(fake.bot_token()))
        .expect("client")
        .with_retry(RetryPolicy {
            max_attempts: 1,
            max_wait: Duration::from_millis(100),
            backoff: Duration::from_millis(10),
            call_timeout: Duration::from_secs(3),
        });
    let access = AccessConfig {
        approvers: vec!["U0APP00001".into()],
        approver_group: Some(GROUP.into()),
        ..AccessConfig::default()
    };
    let approvers =
        Approvers::with_stale_for(Arc::new(access), api, Metrics::new(), ttl, stale_for);
    (fake, approvers)
}

fn ids(v: &[SlackUserId]) -> Vec<&str> {
    v.iter().map(|u| u.as_str()).collect()
}

#[tokio::test]
async fn a_burst_of_lookups_makes_one_slack_call() {
    let (fake, approvers) = setup(Duration::from_secs(60), STALE_FOR).await;
    // The one call is slow, so every lookup arrives while it is in flight.
    fake.fail_next("usergroups.users.list", FakeFault::Delay(300), 1);
    let all = futures::future::join_all((0..10).map(|_| approvers.group_members())).await;
    assert!(all.iter().all(|m| ids(m) == [MEMBER]), "every lookup sees the member");
    assert_eq!(fake.calls("usergroups.users.list").len(), 1, "single flight");
}

#[tokio::test]
async fn a_failure_is_cached_then_stale_members_are_served_then_nobody() {
    let (fake, approvers) = setup(Duration::from_millis(100), Duration::from_millis(600)).await;
    assert_eq!(ids(&approvers.group_members().await), [MEMBER]);
    // Slack fails from now on.
    fake.fail_next("usergroups.users.list", FakeFault::Error("fatal_error".into()), 1000);
    tokio::time::sleep(Duration::from_millis(150)).await; // past the 100 ms TTL
    let before = fake.calls("usergroups.users.list").len();
    for _ in 0..20 {
        // Within the stale window: the last good members, and the failure is not retried.
        assert_eq!(ids(&approvers.group_members().await), [MEMBER]);
    }
    assert_eq!(fake.calls("usergroups.users.list").len(), before + 1, "failure cached");
    tokio::time::sleep(Duration::from_millis(600)).await; // past the stale window
    assert!(approvers.group_members().await.is_empty(), "fail closed after the stale window");
    let policy = approvers.policy().await.expect("policy");
    drop(policy);
}
