use super::*;
use crate::access::settings::AccessConfig;
use crate::access::{IncidentPattern, ReactionEmojis};
use chrono::{TimeDelta, TimeZone};
use std::time::Duration;

const REQUESTER: &str = "UREQ";

fn user(s: &str) -> SlackUserId {
    SlackUserId::parse(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap()
}

fn mins(m: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(m)
}

fn policy() -> ApprovalPolicy {
    let cfg = AccessConfig {
        approvers: vec!["UA1".into(), "UA2".into(), "UA3".into(), REQUESTER.into()],
        ..AccessConfig::default()
    };
    ApprovalPolicy::from_config(&cfg, &[]).unwrap()
}

fn emojis() -> ReactionEmojis {
    ReactionEmojis::new("white_check_mark", "x")
}

fn open(level: Level) -> Request {
    let pattern = IncidentPattern::new("INC-[0-9]+", "INC-1").unwrap();
    let new = NewRequest {
        id: RequestId::parse("req-1").unwrap(),
        level,
        incident: IncidentId::parse("INC-42", &pattern).unwrap(),
        requester: user(REQUESTER),
        duration: GrantDuration::parse("90m", Duration::from_secs(7200)).unwrap(),
    };
    Request::open(new, &policy(), t0())
}

fn add(req: &Request, by: &str, emoji: &str, at: DateTime<Utc>) -> Result<Decision, Rejection> {
    req.on_reaction_added(&user(by), emoji, None, &policy(), &emojis(), at)
}

/// Applies a change and returns the new request and its transition.
fn changed(d: Result<Decision, Rejection>) -> (Request, Transition) {
    match d {
        Ok(Decision::Changed { next, transition }) => (*next, transition),
        other => panic!("expected a change, got {other:?}"),
    }
}

fn approve(req: &Request, by: &str, at: DateTime<Utc>) -> (Request, Transition) {
    changed(add(req, by, "white_check_mark", at))
}

fn approved(level: Level) -> Request {
    let mut req = open(level);
    for by in ["UA1", "UA2"].iter().take(req.needed() as usize) {
        req = approve(&req, by, mins(1)).0;
    }
    assert!(matches!(req.state(), RequestState::Approved { .. }));
    req
}

fn issued() -> Request {
    changed(Ok(approved(Level::Rw).on_issued(mins(2)))).0
}

#[test]
fn a_new_request_is_pending_with_the_configured_deadline_and_threshold() {
    let req = open(Level::Rw);
    assert!(req.is_pending());
    assert_eq!(req.approval_deadline(), mins(15));
    assert_eq!(req.needed(), 2);
    assert_eq!(req.version(), 0);
    assert_eq!(open(Level::Ro).needed(), 1);
}

#[test]
fn requester_cannot_approve_own_request() {
    let req = open(Level::Ro);
    assert_eq!(add(&req, REQUESTER, "white_check_mark", mins(1)), Err(Rejection::SelfApproval));
}

#[test]
fn ro_needs_one_approval() {
    let (req, transition) = approve(&open(Level::Ro), "UA1", mins(1));
    assert_eq!(transition, Transition::Approved);
    assert_eq!(req.state(), &RequestState::Approved { at: mins(1) });
    assert_eq!(req.approvals(), &[Approval { by: user("UA1"), at: mins(1), event: None }]);
}

#[test]
fn rw_needs_two_distinct_approvers() {
    let (req, transition) = approve(&open(Level::Rw), "UA1", mins(1));
    assert_eq!(transition, Transition::ApprovalRecorded { count: 1, needed: 2 });
    assert!(req.is_pending());
    let (req, transition) = approve(&req, "UA2", mins(2));
    assert_eq!(transition, Transition::Approved);
    assert_eq!(req.approvals().len(), 2);
}

#[test]
fn the_same_approver_twice_counts_once() {
    let (req, _) = approve(&open(Level::Rw), "UA1", mins(1));
    assert_eq!(
        add(&req, "UA1", "white_check_mark", mins(2)),
        Ok(Decision::Ignored(Ignored::DuplicateApproval))
    );
    assert!(req.is_pending());
}

#[test]
fn a_skin_toned_approve_emoji_counts() {
    let (_, transition) =
        changed(add(&open(Level::Ro), "UA1", "white_check_mark::skin-tone-3", mins(1)));
    assert_eq!(transition, Transition::Approved);
}

#[test]
fn a_reaction_from_someone_who_is_not_an_approver_is_rejected() {
    let req = open(Level::Ro);
    assert_eq!(add(&req, "UX9", "white_check_mark", mins(1)), Err(Rejection::NotApprover));
    assert_eq!(add(&req, "UX9", "x", mins(1)), Err(Rejection::NotApprover));
}

#[test]
fn approval_after_deadline_is_rejected() {
    let req = open(Level::Ro);
    let (next, transition) = changed(add(&req, "UA1", "white_check_mark", mins(16)));
    assert_eq!(transition, Transition::TimedOut);
    assert_eq!(next.state(), &RequestState::TimedOut { at: mins(16) });
    assert!(next.approvals().is_empty());
}

#[test]
fn approval_exactly_at_the_deadline_times_out() {
    let (_, transition) = approve(&open(Level::Ro), "UA1", mins(15));
    assert_eq!(transition, Transition::TimedOut);
}

#[test]
fn a_reaction_on_a_request_that_is_no_longer_pending_is_ignored() {
    let req = approved(Level::Ro);
    assert_eq!(
        add(&req, "UA2", "white_check_mark", mins(2)),
        Ok(Decision::Ignored(Ignored::NotPending))
    );
    assert_eq!(add(&req, "UA2", "x", mins(2)), Ok(Decision::Ignored(Ignored::NotPending)));
    // Even the requester's own late reaction is just ignored.
    assert_eq!(
        add(&req, REQUESTER, "white_check_mark", mins(2)),
        Ok(Decision::Ignored(Ignored::NotPending))
    );
}

#[test]
fn the_deny_emoji_from_an_approver_denies() {
    let (req, _) = approve(&open(Level::Rw), "UA1", mins(1));
    let (req, transition) = changed(add(&req, "UA2", "x", mins(2)));
    assert_eq!(transition, Transition::Denied { by: user("UA2") });
    assert_eq!(req.state(), &RequestState::Denied { by: user("UA2"), at: mins(2) });
    assert!(req.state().is_final());
}

#[test]
fn the_deny_emoji_from_the_requester_cancels_the_request() {
    let (req, transition) = changed(add(&open(Level::Rw), REQUESTER, "x", mins(1)));
    assert_eq!(transition, Transition::Cancelled { by: user(REQUESTER) });
    assert_eq!(req.state().name(), "cancelled");
}

#[test]
fn other_emojis_are_ignored() {
    let req = open(Level::Ro);
    assert_eq!(add(&req, "UA1", "tada", mins(1)), Ok(Decision::Ignored(Ignored::OtherEmoji)));
    assert_eq!(add(&req, "UX9", "eyes", mins(1)), Ok(Decision::Ignored(Ignored::OtherEmoji)));
}

#[test]
fn removing_an_approval_before_the_threshold_withdraws_it() {
    let (req, _) = approve(&open(Level::Rw), "UA1", mins(1));
    let (req, transition) = changed(Ok(req.on_reaction_removed(
        &user("UA1"),
        "white_check_mark",
        None,
        &policy(),
        &emojis(),
        mins(2),
    )));
    assert_eq!(transition, Transition::ApprovalWithdrawn { count: 0, needed: 2 });
    assert!(req.approvals().is_empty());
    // A later approval by someone else does not reach the threshold on its own.
    let (_, transition) = approve(&req, "UA2", mins(3));
    assert_eq!(transition, Transition::ApprovalRecorded { count: 1, needed: 2 });
}

#[test]
fn removing_an_approval_after_the_threshold_changes_nothing() {
    let req = approved(Level::Ro);
    let d = req.on_reaction_removed(
        &user("UA1"),
        "white_check_mark",
        None,
        &policy(),
        &emojis(),
        mins(2),
    );
    assert_eq!(d, Decision::Ignored(Ignored::NotPending));
}

#[test]
fn removing_a_reaction_that_was_never_counted_is_ignored() {
    let req = open(Level::Rw);
    let e = emojis();
    assert_eq!(
        req.on_reaction_removed(&user("UA1"), "white_check_mark", None, &policy(), &e, mins(1)),
        Decision::Ignored(Ignored::NoApprovalToWithdraw)
    );
    assert_eq!(
        req.on_reaction_removed(&user("UA1"), "x", None, &policy(), &e, mins(1)),
        Decision::Ignored(Ignored::OtherEmoji)
    );
}

#[test]
fn a_pending_request_times_out_at_its_deadline() {
    let req = open(Level::Rw);
    assert_eq!(req.on_timeout(mins(14)), Decision::Ignored(Ignored::NotDue));
    let (next, transition) = changed(Ok(req.on_timeout(mins(15))));
    assert_eq!(transition, Transition::TimedOut);
    assert_eq!(next.on_timeout(mins(16)), Decision::Ignored(Ignored::NotPending));
    assert_eq!(approved(Level::Ro).on_timeout(mins(20)), Decision::Ignored(Ignored::NotPending));
}

#[test]
fn every_change_bumps_the_version_by_one_and_ignored_events_change_nothing() {
    let req = open(Level::Rw);
    let (a, _) = approve(&req, "UA1", mins(1));
    assert_eq!(a.version(), 1);
    let (b, _) = approve(&a, "UA2", mins(2));
    assert_eq!(b.version(), 2);
    let (c, _) = changed(Ok(b.on_issued(mins(3))));
    assert_eq!(c.version(), 3);
    assert!(matches!(add(&c, "UA3", "white_check_mark", mins(4)), Ok(Decision::Ignored(_))));
}

#[test]
fn the_requester_never_counts_even_when_listed_as_an_approver() {
    let req = open(Level::Rw);
    assert!(policy().is_approver(&user(REQUESTER)));
    assert_eq!(add(&req, REQUESTER, "white_check_mark", mins(1)), Err(Rejection::SelfApproval));
    let (req, _) = approve(&req, "UA1", mins(1));
    assert!(req.is_pending());
}

#[test]
fn the_threshold_is_fixed_when_the_request_is_opened() {
    let req = open(Level::Rw);
    let stricter = ApprovalPolicy::from_config(
        &AccessConfig {
            approvers: vec!["UA1".into(), "UA2".into()],
            approvals_rw: 3,
            ..AccessConfig::default()
        },
        &[],
    )
    .unwrap();
    let (req, _) = changed(req.on_reaction_added(
        &user("UA1"),
        "white_check_mark",
        None,
        &stricter,
        &emojis(),
        mins(1),
    ));
    let (_, transition) = changed(req.on_reaction_added(
        &user("UA2"),
        "white_check_mark",
        None,
        &stricter,
        &emojis(),
        mins(2),
    ));
    assert_eq!(transition, Transition::Approved);
}

#[test]
fn an_approver_removed_from_the_policy_no_longer_counts() {
    let narrower = ApprovalPolicy::from_config(
        &AccessConfig { approvers: vec!["UA2".into()], ..AccessConfig::default() },
        &[],
    )
    .unwrap();
    let req = open(Level::Ro);
    assert_eq!(
        req.on_reaction_added(
            &user("UA1"),
            "white_check_mark",
            None,
            &narrower,
            &emojis(),
            mins(1)
        ),
        Err(Rejection::NotApprover)
    );
}

#[test]
fn issuing_an_approved_request_sets_the_expiry_from_its_duration() {
    let req = issued();
    assert_eq!(req.state(), &RequestState::Issued { granted_at: mins(2), expires_at: mins(92) });
    let grant = req.grant().unwrap();
    assert_eq!(grant.holder, user(REQUESTER));
    assert_eq!(grant.level, Level::Rw);
    assert_eq!(grant.expires_at, mins(92));
    assert_eq!(grant.request_id.as_str(), "req-1");
}

#[test]
fn issuing_twice_or_before_approval_is_ignored() {
    assert_eq!(issued().on_issued(mins(3)), Decision::Ignored(Ignored::NotApproved));
    assert_eq!(open(Level::Ro).on_issued(mins(3)), Decision::Ignored(Ignored::NotApproved));
    assert!(open(Level::Ro).grant().is_none());
}

#[test]
fn a_failed_issue_is_recorded_with_its_reason() {
    let (req, transition) = changed(Ok(approved(Level::Ro).on_issue_failed("db down", mins(2))));
    assert_eq!(transition, Transition::Failed);
    assert_eq!(req.state(), &RequestState::Failed { reason: "db down".into(), at: mins(2) });
}

#[test]
fn a_grant_expires_only_when_due() {
    let req = issued();
    assert_eq!(req.on_expired(mins(91)), Decision::Ignored(Ignored::NotDue));
    let (req, transition) = changed(Ok(req.on_expired(mins(92))));
    assert_eq!(transition, Transition::Expired);
    assert!(req.grant().is_none());
    assert_eq!(req.on_expired(mins(93)), Decision::Ignored(Ignored::NotIssued));
}

#[test]
fn a_revoked_grant_ignores_the_later_expiry_timer() {
    let (req, transition) = changed(Ok(issued().on_revoked(&user("UA3"), mins(10))));
    assert_eq!(transition, Transition::Revoked { by: user("UA3") });
    assert_eq!(req.on_expired(mins(92)), Decision::Ignored(Ignored::NotIssued));
    assert_eq!(req.on_revoked(&user("UA3"), mins(11)), Decision::Ignored(Ignored::NotIssued));
}

#[test]
fn only_the_requester_can_cancel_a_pending_request() {
    let req = open(Level::Ro);
    assert_eq!(req.on_cancel(&user("UA1"), mins(1)), Err(Rejection::NotAllowedToCancel));
    let (_, transition) = changed(req.on_cancel(&user(REQUESTER), mins(1)));
    assert_eq!(transition, Transition::Cancelled { by: user(REQUESTER) });
    assert_eq!(
        approved(Level::Ro).on_cancel(&user(REQUESTER), mins(2)),
        Ok(Decision::Ignored(Ignored::NotPending))
    );
}

#[test]
fn the_request_message_is_found_by_channel_and_ts() {
    let req = open(Level::Ro);
    let (req, transition) =
        changed(Ok(req.attach_message(MessageRef { channel: "C1".into(), ts: "1.000001".into() })));
    assert_eq!(transition, Transition::MessageAttached);
    assert!(req.is_message("C1", "1.000001"));
    assert!(!req.is_message("C1", "1.000002"));
    assert!(!open(Level::Ro).is_message("C1", "1.000001"));
}

#[test]
fn a_request_round_trips_through_json() {
    let (req, _) = approve(&open(Level::Rw), "UA1", mins(1));
    let json = serde_json::to_string(&req).unwrap();
    assert!(json.contains("\"state\":\"pending\""), "{json}");
    let back: Request = serde_json::from_str(&json).unwrap();
    assert_eq!(back, req);
    let issued = issued();
    let back: Request = serde_json::from_str(&serde_json::to_string(&issued).unwrap()).unwrap();
    assert_eq!(back, issued);
}

#[test]
fn a_stored_request_with_a_tampered_user_id_does_not_load() {
    let json = serde_json::to_string(&open(Level::Ro)).unwrap().replace("UREQ", "ureq");
    assert!(serde_json::from_str::<Request>(&json).is_err());
}

#[test]
fn an_on_call_requester_is_approved_only_while_the_request_is_pending_and_in_time() {
    let req = open(Level::Rw);
    let (next, t) = changed(Ok(req.on_auto_approved("PSCHED1", mins(1))));
    assert_eq!(t, Transition::AutoApproved { schedule: "PSCHED1".into() });
    assert_eq!(next.state(), &RequestState::Approved { at: mins(1) });
    assert!(next.approvals().is_empty(), "nobody reacted");
    assert_eq!(next.on_auto_approved("PSCHED1", mins(2)), Decision::Ignored(Ignored::NotPending));
    let (late, t) = changed(Ok(req.on_auto_approved("PSCHED1", mins(60))));
    assert_eq!((late.state().name(), t), ("timed_out", Transition::TimedOut));
}
