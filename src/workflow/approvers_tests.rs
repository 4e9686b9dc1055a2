//! The approver cache against a strict stand-in for the user-group directory: one Slack call for a burst of lookups, a
//! failure cached instead of retried per reaction, the last good members served for a while
//! during an outage, then nobody from the group (fail closed).

use super::*;
use crate::workflow::port::ChatError;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

const GROUP: &str = "S0APPROVE1";
const MEMBER: &str = "U0GRP00001";

/// A user-group directory that counts its calls, and answers slowly or fails when told to.
/// Strict as Slack is: an unknown group is an error.
#[derive(Default)]
struct Groups {
    calls: AtomicUsize,
    delay_ms: AtomicU64,
    failing: AtomicBool,
}

#[async_trait::async_trait]
impl UserGroups for Groups {
    async fn members(&self, group: &str) -> Result<Vec<String>, ChatError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let method = "usergroups.users.list";
        if self.failing.load(Ordering::SeqCst) {
            return Err(ChatError { method, code: "fatal_error".into() });
        }
        if group != GROUP {
            return Err(ChatError { method, code: "no_such_subteam".into() });
        }
        Ok(vec![MEMBER.to_owned()])
    }
}

impl Groups {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn setup(ttl: Duration, stale_for: Duration) -> (Arc<Groups>, Approvers) {
    let groups = Arc::new(Groups::default());
    let access = AccessConfig {
        approvers: vec!["U0APP00001".into()],
        approver_group: Some(GROUP.into()),
        ..AccessConfig::default()
    };
    let approvers =
        Approvers::with_stale_for(Arc::new(access), groups.clone(), Metrics::new(), ttl, stale_for);
    (groups, approvers)
}

fn ids(v: &[SlackUserId]) -> Vec<&str> {
    v.iter().map(|u| u.as_str()).collect()
}

#[tokio::test]
async fn a_burst_of_lookups_makes_one_call() {
    let (groups, approvers) = setup(Duration::from_secs(60), STALE_FOR);
    // The one call is slow, so every lookup arrives while it is in flight.
    groups.delay_ms.store(300, Ordering::SeqCst);
    let all = futures::future::join_all((0..10).map(|_| approvers.group_members())).await;
    assert!(all.iter().all(|m| ids(m) == [MEMBER]), "every lookup sees the member");
    assert_eq!(groups.calls(), 1, "single flight");
}

#[tokio::test]
async fn a_failure_is_cached_then_stale_members_are_served_then_nobody() {
    let (groups, approvers) = setup(Duration::from_millis(100), Duration::from_millis(600));
    assert_eq!(ids(&approvers.group_members().await), [MEMBER]);
    // The directory fails from now on.
    groups.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await; // past the 100 ms TTL
    let before = groups.calls();
    for _ in 0..20 {
        // Within the stale window: the last good members, and the failure is not retried.
        assert_eq!(ids(&approvers.group_members().await), [MEMBER]);
    }
    assert_eq!(groups.calls(), before + 1, "failure cached");
    tokio::time::sleep(Duration::from_millis(600)).await; // past the stale window
    assert!(approvers.group_members().await.is_empty(), "fail closed after the stale window");
    let policy = approvers.policy().await.expect("policy");
    drop(policy);
}
