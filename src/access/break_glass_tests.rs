//! Break-glass rules, its parsing and its part of the request state machine.

use super::*;
use crate::access::policy::{ApprovalPolicy, ReactionEmojis};
use crate::access::request::{Decision, Ignored, NewRequest, Request, RequestState, Transition};
use crate::access::{Command, GrantDuration, IncidentId, IncidentPattern, Level, RequestId};
use chrono::TimeZone;

fn user(s: &str) -> SlackUserId {
    SlackUserId::parse(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap()
}

fn rules(mode: BreakGlassMode, users: &[&str]) -> BreakGlassRules {
    let cfg = AccessConfig {
        break_glass: mode,
        break_glass_users: users.iter().map(|u| (*u).to_owned()).collect(),
        ..AccessConfig::default()
    };
    BreakGlassRules::from_config(&cfg).unwrap()
}

#[test]
fn each_mode_admits_as_configured() {
    let alice = user("UALICE");
    let off = rules(BreakGlassMode::Off, &[]);
    assert_eq!(off.admit(&alice, true), Err(Rejection::BreakGlassOff));
    let after = rules(BreakGlassMode::AfterTimeout, &[]);
    assert_eq!(after.admit(&alice, false), Err(Rejection::BreakGlassBeforeTimeout));
    assert_eq!(after.admit(&alice, true), Ok(()));
    let now = rules(BreakGlassMode::Immediate, &[]);
    assert_eq!(now.admit(&alice, false), Ok(()));
}

#[test]
fn an_allow_list_admits_only_its_users() {
    let r = rules(BreakGlassMode::Immediate, &["UALICE"]);
    assert_eq!(r.admit(&user("UALICE"), false), Ok(()));
    assert_eq!(r.admit(&user("UBOB"), false), Err(Rejection::BreakGlassNotAllowed));
}

#[test]
fn a_bad_allow_list_entry_names_the_key() {
    let cfg = AccessConfig { break_glass_users: vec!["alice".into()], ..AccessConfig::default() };
    let err = crate::access::validate_config(&cfg).unwrap_err().to_string();
    assert!(err.contains("access.break_glass_users"), "{err}");
}

#[test]
fn the_cap_is_the_smaller_of_its_own_and_the_grant_maximum() {
    let cfg =
        AccessConfig { break_glass_max_secs: 3600, max_duration_secs: 900, ..Default::default() };
    assert_eq!(BreakGlassRules::from_config(&cfg).unwrap().cap, Duration::from_secs(900));
}

#[test]
fn the_review_is_overdue_only_after_its_deadline_and_while_not_done() {
    let mut bg = BreakGlass::new(t0(), Duration::from_secs(3600));
    assert!(!bg.overdue(t0() + chrono::Duration::minutes(59)));
    assert!(bg.overdue(t0() + chrono::Duration::minutes(60)));
    bg.reviewed = Some(Review { by: user("UBOB"), at: t0() });
    assert!(!bg.overdue(t0() + chrono::Duration::hours(5)));
}

fn ff(text: &str) -> Result<Command, Rejection> {
    Command::parse("/firefighter", text, &AccessConfig::default())
}

#[test]
fn break_glass_parses_with_and_without_a_duration_and_needs_a_reason() {
    let Ok(Command::Request { break_glass: true, duration, reason: Some(r), .. }) =
        ff("rw INC-42 break-glass primary is down, nobody answers")
    else {
        panic!("{:?}", ff("rw INC-42 break-glass primary is down"));
    };
    assert_eq!(duration.as_secs(), 1800, "the default, within the break-glass cap");
    assert_eq!(r.as_str(), "primary is down, nobody answers");
    let Ok(Command::Request { break_glass: true, duration, .. }) =
        ff("ro INC-42 20m BREAK-GLASS replica lag on orders")
    else {
        panic!("with a duration");
    };
    assert_eq!(duration.as_secs(), 1200);
    assert!(matches!(ff("rw INC-42 break-glass"), Err(Rejection::BreakGlassReasonRequired { .. })));
    assert!(matches!(
        ff("rw INC-42 45m break-glass primary is down"),
        Err(Rejection::DurationOverCap { cap_secs: 1800 })
    ));
    // Not break-glass: the word elsewhere is part of the reason.
    let Ok(Command::Request { break_glass: false, .. }) = ff("ro INC-42 30m about break-glass")
    else {
        panic!("a reason mentioning it");
    };
}

fn open_break_glass() -> Request {
    let pattern = IncidentPattern::new("INC-[0-9]+", "INC-1").unwrap();
    let new = NewRequest {
        id: RequestId::parse("req-1").unwrap(),
        level: Level::Rw,
        incident: IncidentId::parse("INC-42", &pattern).unwrap(),
        requester: user("UREQ"),
        duration: GrantDuration::parse("30m", Duration::from_secs(7200)).unwrap(),
    };
    let cfg = AccessConfig { approvers: vec!["UA1".into(), "UREQ".into()], ..Default::default() };
    let policy = ApprovalPolicy::from_config(&cfg, &[]).unwrap();
    Request::open(new, &policy, t0())
        .with_break_glass(Some(BreakGlass::new(t0(), Duration::from_secs(86400))))
}

fn next(d: Decision) -> (Request, Transition) {
    match d {
        Decision::Changed { next, transition } => (*next, transition),
        other => panic!("expected a change, got {other:?}"),
    }
}

#[test]
fn break_glass_approves_at_once_and_only_a_break_glass_request() {
    let req = open_break_glass();
    let (approved, t) = next(req.on_break_glass(t0()));
    assert_eq!(t, Transition::BrokeGlass);
    assert!(matches!(approved.state(), RequestState::Approved { .. }));
    assert!(approved.approvals().is_empty());
    assert_eq!(approved.on_break_glass(t0()), Decision::Ignored(Ignored::NotPending));
    let normal = open_break_glass().with_break_glass(None);
    assert_eq!(normal.on_break_glass(t0()), Decision::Ignored(Ignored::NotPending));
}

#[test]
fn only_another_approver_reviews_and_once() {
    let (approved, _) = next(open_break_glass().on_break_glass(t0()));
    assert!(approved.awaits_review());
    assert_eq!(
        approved.on_reviewed(&user("UREQ"), true, t0()),
        Err(Rejection::NotAllowedToReview),
        "the requester, even an approver, cannot review their own break-glass"
    );
    assert_eq!(
        approved.on_reviewed(&user("UOUT"), false, t0()),
        Err(Rejection::NotAllowedToReview)
    );
    let (reviewed, t) = next(approved.on_reviewed(&user("UA1"), true, t0()).unwrap());
    assert_eq!(t, Transition::Reviewed { by: user("UA1") });
    assert!(!reviewed.awaits_review());
    assert_eq!(
        reviewed.on_reviewed(&user("UA1"), true, t0()),
        Ok(Decision::Ignored(Ignored::DuplicateApproval))
    );
}

#[test]
fn the_approve_reaction_on_an_issued_break_glass_request_is_a_review() {
    let (approved, _) = next(open_break_glass().on_break_glass(t0()));
    let cfg = AccessConfig { approvers: vec!["UA1".into()], ..Default::default() };
    let policy = ApprovalPolicy::from_config(&cfg, &[]).unwrap();
    let emojis = ReactionEmojis::new("white_check_mark", "x");
    let d =
        approved.on_reaction_added(&user("UA1"), "white_check_mark", None, &policy, &emojis, t0());
    assert!(matches!(d, Ok(Decision::Changed { transition: Transition::Reviewed { .. }, .. })));
    let deny = approved.on_reaction_added(&user("UA1"), "x", None, &policy, &emojis, t0());
    assert_eq!(deny, Ok(Decision::Ignored(Ignored::NotPending)), "deny does not end it");
}
