//! Reaction events applied in every order: the outcome depends on Slack's event times, not on
//! the order they are handled in.

use super::super::{Decision, Ignored, NewRequest, Request, Transition};
use crate::access::level::Level;
use crate::access::settings::AccessConfig;
use crate::access::{
    ApprovalPolicy, EventTs, GrantDuration, IncidentId, IncidentPattern, ReactionEmojis, RequestId,
    SlackUserId,
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use std::time::Duration;

const OK: &str = "white_check_mark";

fn user(s: &str) -> SlackUserId {
    SlackUserId::parse(s).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap() + TimeDelta::seconds(5)
}

fn policy() -> ApprovalPolicy {
    let cfg = AccessConfig { approvers: vec!["UA1".into(), "UA2".into()], ..Default::default() };
    ApprovalPolicy::from_config(&cfg, &[]).unwrap()
}

fn emojis() -> ReactionEmojis {
    ReactionEmojis::new(OK, "x")
}

fn open(level: Level) -> Request {
    let pattern = IncidentPattern::new("INC-[0-9]+", "INC-1").unwrap();
    let new = NewRequest {
        id: RequestId::parse("req-1").unwrap(),
        level,
        incident: IncidentId::parse("INC-1", &pattern).unwrap(),
        requester: user("UREQ"),
        duration: GrantDuration::from_secs(600, Duration::from_secs(3600)).unwrap(),
    };
    Request::open(new, &policy(), Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap())
}

fn ts(s: &str) -> EventTs {
    EventTs::parse(s).unwrap()
}

/// One event: (added, user, event_ts).
type Event = (bool, &'static str, &'static str);

/// Applies the events in the given order, as the workflow would (each on the stored result).
fn apply(mut req: Request, events: &[Event]) -> (Request, Vec<Decision>) {
    let mut seen = Vec::new();
    for (added, by, at) in events {
        let at = ts(at);
        let d = if *added {
            req.on_reaction_added(&user(by), OK, Some(&at), &policy(), &emojis(), now()).unwrap()
        } else {
            req.on_reaction_removed(&user(by), OK, Some(&at), &policy(), &emojis(), now())
        };
        if let Decision::Changed { next, .. } = &d {
            req = (**next).clone();
        }
        seen.push(d);
    }
    (req, seen)
}

#[test]
fn a_removal_handled_before_its_add_cancels_it() {
    let add = (true, "UA1", "1700000001.000100");
    let remove = (false, "UA1", "1700000002.000100");
    let (in_order, _) = apply(open(Level::Rw), &[add, remove]);
    let (reversed, decisions) = apply(open(Level::Rw), &[remove, add]);
    for req in [&in_order, &reversed] {
        assert!(req.is_pending());
        assert!(req.approvals().is_empty());
    }
    assert!(matches!(
        &decisions[0],
        Decision::Changed { transition: Transition::ReactionNoted, .. }
    ));
    assert_eq!(decisions[1], Decision::Ignored(Ignored::Superseded));
}

#[test]
fn a_later_add_after_a_removal_counts_and_a_stale_removal_does_not_withdraw_it() {
    let events = [
        (true, "UA1", "1700000001.000100"),
        (false, "UA1", "1700000002.000100"),
        (true, "UA1", "1700000003.000100"),
    ];
    for order in [[0, 1, 2], [1, 0, 2], [1, 2, 0], [2, 1, 0], [2, 0, 1], [0, 2, 1]] {
        let evs: Vec<Event> = order.iter().map(|&i| events[i]).collect();
        let (req, _) = apply(open(Level::Rw), &evs);
        assert!(
            req.is_pending() && req.approvals().len() == 1,
            "order {order:?}: the last event is an add, so UA1's approval counts: {req:?}"
        );
    }
}

#[test]
fn seconds_are_compared_as_numbers() {
    assert!(ts("999999999.999999") < ts("1000000000.000000"));
    assert!(ts("1700000001.000100") < ts("1700000001.000101"));
    assert!(EventTs::parse("1700000001").is_err());
}

#[test]
fn removals_by_non_approvers_are_not_remembered() {
    let (req, decisions) = apply(open(Level::Rw), &[(false, "UOUT", "1700000002.000100")]);
    assert_eq!(decisions[0], Decision::Ignored(Ignored::NoApprovalToWithdraw));
    assert_eq!(req.version(), 0);
}
