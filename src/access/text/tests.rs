use super::*;
use crate::access::level::Level;
use crate::access::rejection::SlashCommand;
use crate::access::AccessConfig;
use crate::access::{
    ApprovalPolicy, Decision, DurationProblem, GrantDuration, IncidentId, IncidentPattern,
    IncidentProblem, NewRequest, ReactionEmojis, Rejection, Request, RequestId, SlackUserId,
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 11, 35, 0).unwrap()
}

fn user(s: &str) -> SlackUserId {
    SlackUserId::parse(s).unwrap()
}

fn incident() -> IncidentId {
    IncidentId::parse("INC-7", &IncidentPattern::new("INC-[0-9]+", "INC-1").unwrap()).unwrap()
}

#[test]
fn durations_are_formatted_as_hours_minutes_and_seconds() {
    assert_eq!(format_duration(5400), "1h 30m");
    assert_eq!(format_duration(7200), "2h");
    assert_eq!(format_duration(45), "45s");
    assert_eq!(format_duration(3605), "1h 5s");
    assert_eq!(format_duration(0), "0s");
    assert_eq!(format_duration(900), "15m");
}

#[test]
fn expiry_is_shown_in_utc_with_the_time_remaining() {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 13, 5, 0).unwrap();
    assert_eq!(format_expiry(at, t0()), "13:05 UTC (in 1h 30m)");
    assert_eq!(format_expiry(at, at - TimeDelta::seconds(5389)), "13:05 UTC (in 1h 29m 49s)");
    assert_eq!(format_expiry(at, at - TimeDelta::seconds(90)), "13:05 UTC (in 1m 30s)");
    assert_eq!(format_expiry(at, at - TimeDelta::seconds(40)), "13:05 UTC (in 40s)");
    assert_eq!(format_expiry(at, at), "13:05 UTC (passed)");
    assert_eq!(format_expiry(at, at + TimeDelta::hours(1)), "13:05 UTC (passed)");
}

#[test]
fn every_rejection_has_plain_text_without_slack_markup() {
    let until = t0();
    let all = [
        Rejection::InvalidIncident {
            problem: IncidentProblem::Invisible,
            example: "INC-1234".into(),
        },
        Rejection::InvalidUserId,
        Rejection::InvalidChannelId,
        Rejection::InvalidMessageTs,
        Rejection::InvalidRequestId,
        Rejection::InvalidDuration { problem: DurationProblem::Format, cap_secs: 7200 },
        Rejection::DurationOverCap { cap_secs: 7200 },
        Rejection::TextTooLong { max: 200 },
        Rejection::ControlCharacter,
        Rejection::UnknownCommand,
        Rejection::UnknownSubcommand {
            command: SlashCommand::Pgroles,
            given: Some("x".into()),
            help: pgroles_help(),
        },
        Rejection::MissingArgument { usage: "/firefighter revoke ro|rw".into() },
        Rejection::UnexpectedArgument { usage: "/firefighter status".into() },
        Rejection::InvalidLevel { usage: "/firefighter revoke ro|rw".into() },
        Rejection::SelfApproval,
        Rejection::NotApprover,
        Rejection::LevelHeld { level: Level::Rw, holder: user("U1"), incident: incident(), until },
        Rejection::AlreadyPending { level: Level::Ro, requester: user("U1"), incident: incident() },
        Rejection::NotAllowedToRevoke { level: Level::Rw, holder: user("U1") },
        Rejection::NothingToRevoke { level: Level::Ro },
        Rejection::NothingToResend,
        Rejection::NotAllowedToCancel,
        Rejection::NotAllowedToVerify,
        Rejection::Misconfigured,
    ];
    for r in all {
        let msg = r.user_message();
        assert!(!msg.is_empty());
        let without_mentions = msg.replace("<@U1>", "");
        for markup in ['*', '_', '`', '~', '<', '>'] {
            assert!(!without_mentions.contains(markup), "{markup} in {msg:?}");
        }
    }
}

#[test]
fn a_held_level_names_the_holder_incident_and_expiry() {
    let until = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let r =
        Rejection::LevelHeld { level: Level::Rw, holder: user("U1"), incident: incident(), until };
    assert_eq!(
        r.user_message(),
        "rw is held by <@U1> for INC-7 until 12:00 UTC; ask them or use /firefighter revoke rw."
    );
}

#[test]
fn the_help_text_reflects_the_configuration() {
    let cfg = AccessConfig {
        incident_example: "PD-99".into(),
        approvals_ro: 2,
        approvals_rw: 3,
        default_duration_secs: 3600,
        max_duration_secs: 5400,
        ..AccessConfig::default()
    };
    let help = firefighter_help(&cfg);
    assert!(help.contains("/firefighter ro PD-99 [duration]: read-only access (needs 2 approvals)"));
    assert!(help.contains("(needs 3 approvals)"));
    assert!(help.contains("the default is 1h, the most is 1h 30m"));
    assert!(help.contains("within 15m"));
    let default_help = firefighter_help(&AccessConfig::default());
    assert!(default_help.contains("(needs 1 approval)"), "{default_help}");
}

#[test]
fn the_request_text_follows_the_request_through_its_states() {
    let cfg = AccessConfig { approvers: vec!["UA1".into(), "UA2".into()], ..Default::default() };
    let policy = ApprovalPolicy::from_config(&cfg, &[]).unwrap();
    let emojis = ReactionEmojis::new("white_check_mark", "x");
    let new = NewRequest {
        id: RequestId::parse("r1").unwrap(),
        level: Level::Rw,
        incident: incident(),
        requester: user("UREQ"),
        duration: GrantDuration::parse("90m", std::time::Duration::from_secs(7200)).unwrap(),
    };
    let req = Request::open(new, &policy, t0());
    assert_eq!(
        request_text(&req, &emojis, t0()),
        "<@UREQ> requests rw access for INC-7 for 1h 30m. Needs 2 of 2 approvals; approvers press \
         Approve or Deny (or react with :white_check_mark: or :x:) before 11:50 UTC (in 15m)."
    );
    let Ok(Decision::Changed { next, .. }) =
        req.on_reaction_added(&user("UA1"), "white_check_mark", None, &policy, &emojis, t0())
    else {
        panic!("approval not recorded")
    };
    let text = request_text(&next, &emojis, t0());
    assert!(text.contains("Needs 1 of 2 approvals"), "{text}");
    assert!(text.ends_with("Approved so far by <@UA1>."), "{text}");
    let Decision::Changed { next, .. } = next.on_timeout(t0() + TimeDelta::minutes(15)) else {
        panic!("no timeout")
    };
    assert!(request_text(&next, &emojis, t0())
        .ends_with("Timed out at 11:50 UTC without enough approvals."));
}

#[test]
fn a_status_line_shows_level_holder_incident_and_expiry() {
    let expiry = format_expiry(t0() + TimeDelta::hours(1), t0());
    assert_eq!(
        reply::status_held_by(Level::Ro, &user("U1"), &incident(), &expiry),
        "ro: held by <@U1> for INC-7 until 12:35 UTC (in 1h)"
    );
    assert_eq!(reply::status_held(Level::Rw), "rw: held");
    assert_eq!(reply::status_free(Level::Rw), "rw: nobody holds it");
}

#[test]
fn the_state_store_text_is_one_sentence_without_markup() {
    assert!(reply::STATE_STORE_DOWN.starts_with("The bot cannot reach its state store (Redis)"));
    assert!(!reply::STATE_STORE_DOWN.contains("  ") && !reply::STATE_STORE_DOWN.contains('<'));
}

#[test]
fn actors_are_mentioned_when_they_are_slack_users_and_named_otherwise() {
    assert_eq!(mention_or_name("U0ADM00001"), "<@U0ADM00001>");
    assert_eq!(mention_or_name("cli"), "cli");
    assert_eq!(notes::actor(None), "someone");
    assert_eq!(notes::actor(Some(&user("U2"))), "<@U2>");
}

#[test]
fn approvers_are_named_by_mention_and_group() {
    assert_eq!(approvers_hint(&[], None), "nobody is configured");
    assert_eq!(
        approvers_hint(&[user("U1"), user("U2")], Some("S1")),
        "<@U1>, <@U2>, <!subteam^S1>"
    );
}
