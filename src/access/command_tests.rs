use super::*;
use crate::access::IncidentProblem;

fn cfg() -> AccessConfig {
    AccessConfig::default()
}

fn ff(text: &str) -> Result<Command, Rejection> {
    Command::parse("/firefighter", text, &cfg())
}

fn pg(text: &str) -> Result<Command, Rejection> {
    Command::parse("/pgroles", text, &cfg())
}

fn secs(c: &Result<Command, Rejection>) -> u64 {
    match c {
        Ok(Command::Request { duration, .. }) => duration.as_secs(),
        other => panic!("not a request: {other:?}"),
    }
}

#[test]
fn ro_with_an_incident_uses_the_default_duration() {
    let cmd = ff("ro INC-42");
    assert!(matches!(
        &cmd,
        Ok(Command::Request { level: Level::Ro, incident, .. }) if incident.as_str() == "INC-42"
    ));
    assert_eq!(secs(&cmd), 7200);
}

#[test]
fn rw_with_a_duration_uses_it() {
    let cmd = ff("rw INC-42 90m");
    assert!(matches!(&cmd, Ok(Command::Request { level: Level::Rw, .. })));
    assert_eq!(secs(&cmd), 5400);
}

#[test]
fn ro_also_accepts_a_duration() {
    assert_eq!(secs(&ff("ro INC-42 45s")), 45);
}

#[test]
fn keywords_are_case_insensitive_and_extra_whitespace_is_tolerated() {
    assert_eq!(secs(&ff("  RW \t INC-42   1H30M  ")), 5400);
    assert_eq!(ff(" STATUS "), Ok(Command::Status));
    assert_eq!(
        ff("Revoke RW"),
        Ok(Command::Revoke { level: Level::Rw, target: None, holder: None })
    );
    assert_eq!(Command::parse("/FireFighter", "help", &cfg()), Ok(Command::Help));
}

#[test]
fn empty_text_shows_help() {
    assert_eq!(ff(""), Ok(Command::Form));
    assert_eq!(ff("   "), Ok(Command::Form));
    assert_eq!(ff("help"), Ok(Command::Help));
}

#[test]
fn status_resend_and_revoke_parse() {
    assert_eq!(ff("status"), Ok(Command::Status));
    assert_eq!(ff("resend"), Ok(Command::Resend));
    assert_eq!(
        ff("revoke ro"),
        Ok(Command::Revoke { level: Level::Ro, target: None, holder: None })
    );
}

#[test]
fn unknown_subcommand_includes_the_help_text() {
    let err = ff("grant INC-42").unwrap_err();
    assert!(matches!(err, Rejection::UnknownSubcommand { given: Some(ref g), .. } if g == "grant"));
    let msg = err.user_message();
    assert!(msg.contains("\"grant\""), "{msg}");
    assert!(msg.contains("/firefighter ro INC-1234 [duration]"), "{msg}");
}

#[test]
fn unknown_subcommand_with_markup_is_not_echoed() {
    let err = ff("<!channel>").unwrap_err();
    assert!(matches!(err, Rejection::UnknownSubcommand { given: None, .. }));
    assert!(!err.user_message().contains("<!channel>"));
}

#[test]
fn a_missing_incident_shows_the_usage() {
    let err = ff("rw").unwrap_err();
    assert_eq!(
        err,
        Rejection::MissingArgument { usage: "/firefighter rw INC-1234 [duration] [reason]".into() }
    );
    assert!(matches!(ff("revoke"), Err(Rejection::MissingArgument { .. })));
}

#[test]
fn extra_arguments_are_rejected() {
    for text in ["status now", "resend me", "help me", "revoke rw <@U012AB3CD> now"] {
        assert!(matches!(ff(text), Err(Rejection::UnexpectedArgument { .. })), "{text}");
    }
    assert!(matches!(pg("verify post now"), Err(Rejection::UnexpectedArgument { .. })));
    assert!(matches!(pg("help me"), Err(Rejection::UnexpectedArgument { .. })));
}

#[test]
fn revoke_and_activity_take_one_user_mention() {
    let u = SlackUserId::parse("U012AB3CD").unwrap();
    for text in ["revoke ro <@U012AB3CD>", "revoke ro <@U012AB3CD|alice>", "REVOKE RO <@U012AB3CD>"]
    {
        assert_eq!(
            ff(text),
            Ok(Command::Revoke { level: Level::Ro, target: None, holder: Some(u.clone()) })
        );
    }
    assert_eq!(ff("activity"), Ok(Command::Activity { target: None, holder: None }));
    assert_eq!(
        ff("activity <@U012AB3CD|bob>"),
        Ok(Command::Activity { target: None, holder: Some(u) })
    );
    // Plain text, a channel, a broken or hostile mention: refused, with the usage.
    for text in [
        "revoke ro @alice",
        "revoke ro <#C012AB3CD>",
        "revoke ro <@U012AB3CD",
        "revoke ro <@u012ab3cd>",
        "revoke ro <@U012AB3CD><@U0ZZ>",
        "activity <!here>",
        "activity <@>",
    ] {
        assert!(matches!(ff(text), Err(Rejection::InvalidMention { .. })), "{text}");
    }
    assert!(matches!(ff("activity <@U1> <@U2>"), Err(Rejection::UnexpectedArgument { .. })));
}

#[test]
fn revoke_of_an_unknown_level_is_rejected() {
    assert!(matches!(ff("revoke admin"), Err(Rejection::InvalidLevel { .. })));
}

#[test]
fn an_invalid_incident_is_rejected_with_the_incident_message() {
    assert!(matches!(
        ff("rw INC-4\u{200B}2"),
        Err(Rejection::InvalidIncident { problem: IncidentProblem::Invisible, .. })
    ));
    assert!(matches!(
        ff("rw \"INC-42\""),
        Err(Rejection::InvalidIncident { problem: IncidentProblem::Quote, .. })
    ));
}

#[test]
fn a_duration_over_the_cap_is_rejected() {
    assert_eq!(ff("rw INC-42 3h"), Err(Rejection::DurationOverCap { cap_secs: 7200 }));
}

#[test]
fn text_longer_than_200_characters_is_rejected() {
    let long = format!("ro INC-42 {}", "x".repeat(200));
    assert_eq!(ff(&long), Err(Rejection::TextTooLong { max: 200 }));
    // 200 multi-byte characters are still within the limit.
    let wide = "é".repeat(200);
    assert!(!matches!(ff(&wide), Err(Rejection::TextTooLong { .. })));
    assert_eq!(ff(&"é".repeat(201)), Err(Rejection::TextTooLong { max: 200 }));
}

#[test]
fn pgroles_verify_and_help_parse() {
    assert_eq!(pg("verify"), Ok(Command::Verify { scope: VerifyScope::Default, post: false }));
    assert_eq!(pg("Verify POST"), Ok(Command::Verify { scope: VerifyScope::Default, post: true }));
    assert_eq!(pg(""), Ok(Command::PgrolesHelp));
    assert_eq!(pg("help"), Ok(Command::PgrolesHelp));
    let err = pg("apply").unwrap_err();
    assert!(err.user_message().contains("/pgroles verify post"), "{}", err.user_message());
}

#[test]
fn an_unknown_slash_command_is_rejected() {
    assert_eq!(Command::parse("/deploy", "ro INC-1", &cfg()), Err(Rejection::UnknownCommand));
}

#[test]
fn a_broken_config_is_reported_as_misconfigured_not_as_the_users_fault() {
    let bad = AccessConfig { incident_pattern: "(".into(), ..AccessConfig::default() };
    assert_eq!(Command::parse("/firefighter", "ro INC-1", &bad), Err(Rejection::Misconfigured));
}

#[test]
fn a_cap_above_the_database_limit_is_a_config_error() {
    let bad = AccessConfig { max_duration_secs: 3 * 3600, ..AccessConfig::default() };
    assert!(matches!(CommandRules::from_config(&bad), Err(AccessConfigError::Duration { .. })));
}

#[test]
fn a_configured_shorter_cap_and_default_are_used() {
    let c = AccessConfig {
        default_duration_secs: 1800,
        max_duration_secs: 3600,
        ..AccessConfig::default()
    };
    let rules = CommandRules::from_config(&c).unwrap();
    assert_eq!(secs(&Command::parse_with("/firefighter", "ro INC-1", &rules)), 1800);
    assert_eq!(
        Command::parse_with("/firefighter", "ro INC-1 2h", &rules),
        Err(Rejection::DurationOverCap { cap_secs: 3600 })
    );
}

#[test]
fn the_parser_does_not_panic_on_awkward_input() {
    let samples = [
        "\u{0}",
        "ro \u{10FFFF}",
        "rw 👩‍🚒 1h",
        "ro INC-1 \u{301}",
        "ro INC-1 1h\u{200B}",
        "revoke \u{202E}wr",
        "\u{3000}ro\u{3000}INC-1",
        "ro INC-1 99999999999999999999999999h",
        "ro INC-1 -",
        "ro INC-1 h",
    ];
    for s in samples {
        let _ = ff(s);
        let _ = pg(s);
        let _ = Command::parse(s, s, &cfg());
    }
}

#[test]
fn every_short_string_over_tricky_characters_parses_without_panicking() {
    let alphabet = [
        "ro",
        "rw",
        " ",
        "\t",
        "1",
        "0",
        "h",
        "m",
        "s",
        "-",
        ".",
        "INC-1",
        "\u{200B}",
        "é",
        "👩‍🚒",
        "\u{202E}",
        "\"",
        "revoke",
        "verify",
        "post",
        "\u{0}",
    ];
    let rules = CommandRules::from_config(&cfg()).unwrap();
    let cap = std::time::Duration::from_secs(7200);
    for a in alphabet {
        for b in alphabet {
            for c in alphabet {
                let text = format!("{a}{b}{c}");
                let spaced = format!("{a} {b} {c}");
                for t in [&text, &spaced] {
                    let _ = Command::parse_with("/firefighter", t, &rules);
                    let _ = Command::parse_with("/pgroles", t, &rules);
                    let _ = GrantDuration::parse(t, cap);
                    let _ = IncidentId::parse(t, rules.pattern());
                    if let Err(r) = Command::parse_with("/firefighter", t, &rules) {
                        let _ = r.user_message();
                    }
                }
            }
        }
    }
}

#[test]
fn control_and_format_characters_anywhere_are_refused_not_trimmed() {
    for text in ["rw INC-43\r\n", "rw INC-43\n", "rw INC-43\r", "rw INC-43\u{0}", "rw INC-43\u{85}"]
    {
        assert!(
            matches!(
                ff(text),
                Err(Rejection::InvalidIncident { problem: IncidentProblem::Control, .. })
            ),
            "{text:?}: {:?}",
            ff(text)
        );
    }
    for text in ["rw INC-43\u{200F}", "rw \u{2067}INC-43", "rw INC-4\u{2062}3"] {
        assert!(
            matches!(
                ff(text),
                Err(Rejection::InvalidIncident { problem: IncidentProblem::Invisible, .. })
            ),
            "{text:?}"
        );
    }
    for text in [
        "rw\u{0}INC-43",
        "rw INC-43 \u{200B}",
        "rw INC-43 1h\n",
        "status\n",
        "\u{FEFF}ro INC-1",
        "rw\nINC-43",
    ] {
        assert_eq!(ff(text), Err(Rejection::ControlCharacter), "{text:?}");
    }
    assert!(ff("rw\tINC-43").is_ok(), "a tab still separates words");
    assert!(ff("rw\u{a0}INC-43").is_ok(), "so does a no-break space (pasted text)");
    assert!(matches!(
        ff("rw INC-43\u{2028}"),
        Err(Rejection::InvalidIncident { problem: IncidentProblem::Control, .. })
    ));
    assert_eq!(ff("status\u{2029}"), Err(Rejection::ControlCharacter));
    let message = Rejection::ControlCharacter.user_message();
    assert!(message.contains("nothing was done"), "{message}");
}

#[test]
fn a_lower_case_incident_is_refused_under_the_case_sensitive_default() {
    assert!(matches!(
        ff("ro inc-12"),
        Err(Rejection::InvalidIncident { problem: IncidentProblem::NoMatch, .. })
    ));
}

fn fleet(command: &str, text: &str, targets: &[&str]) -> Result<Command, Rejection> {
    let rules = CommandRules::from_config(&cfg())
        .unwrap()
        .with_targets(targets.iter().map(|t| t.to_string()).collect());
    Command::parse_with(command, text, &rules)
}

#[test]
fn a_fleet_request_names_its_target_or_takes_the_only_one() {
    let two = ["billing", "orders"];
    let cmd = fleet("/firefighter", "rw Orders INC-7 30m", &two).unwrap();
    let Command::Request { target, incident, duration, .. } = cmd else { panic!("{cmd:?}") };
    assert_eq!((target.as_deref(), incident.as_str()), (Some("orders"), "INC-7"));
    assert_eq!(duration.as_secs(), 1800);
    let cmd = fleet("/firefighter", "ro INC-7", &["orders"]).unwrap();
    assert!(matches!(cmd, Command::Request { target: Some(t), .. } if t == "orders"));
    let Err(none) = fleet("/firefighter", "ro INC-7", &two) else { panic!("no target named") };
    assert!(none.user_message().contains("Which database? Name one of: billing, orders"));
    let Err(typo) = fleet("/firefighter", "ro ordres INC-7", &two) else { panic!("typo") };
    let text = typo.user_message();
    assert!(text.contains("no database called `ordres`") && text.contains("billing, orders"));
    let Ok(Command::Request { reason: Some(r), .. }) =
        fleet("/firefighter", "ro orders INC-7 30m replica lag", &two)
    else {
        panic!("a reason after the duration")
    };
    assert_eq!(r.as_str(), "replica lag");
}

#[test]
fn a_fleet_names_targets_in_revoke_activity_and_verify() {
    let two = ["billing", "orders"];
    let u = SlackUserId::parse("U012AB3CD").unwrap();
    assert_eq!(
        fleet("/firefighter", "revoke ro billing <@U012AB3CD>", &two),
        Ok(Command::Revoke { level: Level::Ro, target: Some("billing".into()), holder: Some(u) })
    );
    assert_eq!(
        fleet("/firefighter", "revoke rw", &two),
        Ok(Command::Revoke { level: Level::Rw, target: None, holder: None })
    );
    assert_eq!(
        fleet("/firefighter", "activity orders", &two),
        Ok(Command::Activity { target: Some("orders".into()), holder: None })
    );
    let verify = |t: &str| fleet("/pgroles", t, &two);
    assert_eq!(verify("verify"), Ok(Command::Verify { scope: VerifyScope::All, post: false }));
    assert_eq!(
        verify("verify ALL post"),
        Ok(Command::Verify { scope: VerifyScope::All, post: true })
    );
    assert_eq!(
        verify("verify orders"),
        Ok(Command::Verify { scope: VerifyScope::One("orders".into()), post: false })
    );
    assert!(matches!(verify("verify nope"), Err(Rejection::UnknownTarget { .. })));
    assert!(matches!(pg("verify all"), Err(Rejection::UnexpectedArgument { .. })), "no fleet");
}

#[test]
fn history_takes_an_incident_or_a_person_and_a_window_in_any_order() {
    let u = SlackUserId::parse("U012AB3CD").unwrap();
    let Ok(Command::History { incident, user, days, target }) = ff("history 30d INC-9") else {
        panic!()
    };
    assert_eq!((incident.unwrap().as_str(), user, days, target), ("INC-9", None, Some(30), None));
    assert_eq!(
        ff("history <@U012AB3CD> 7"),
        Ok(Command::History { target: None, incident: None, user: Some(u), days: Some(7) })
    );
    for bad in ["history 7 8", "history INC-1 <@U012AB3CD>", "history 400", "history inc-1"] {
        assert!(ff(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_reason_follows_the_duration_and_may_be_required_per_level() {
    let Ok(Command::Request { reason, duration, .. }) = ff("rw INC-42 30m replica lag <!channel>")
    else {
        panic!("a reason after the duration")
    };
    assert_eq!(duration.as_secs(), 1800);
    assert_eq!(reason.unwrap().rendered(), "replica lag &lt;!channel&gt;");
    // The word after the incident is the duration, never text: malformed ones are refused.
    for bad in ["rw INC-42 NaN", "rw INC-42 $(sleep 10)", "rw INC-42 replica lag", "rw INC-42 inf"]
    {
        assert!(matches!(ff(bad), Err(Rejection::InvalidDuration { .. })), "{bad}");
    }
    assert!(matches!(ff("rw INC-42 1 h"), Err(Rejection::InvalidReason(_))), "too short");
    assert!(matches!(ff("ro INC-42 3h too long"), Err(Rejection::DurationOverCap { .. })));
    assert!(matches!(ff("ro INC-42"), Ok(Command::Request { reason: None, .. })));
    let strict = AccessConfig { require_reason_rw: true, ..cfg() };
    let rw = Command::parse("/firefighter", "rw INC-42 30m", &strict);
    assert!(matches!(rw, Err(Rejection::ReasonRequired { level: Level::Rw, .. })), "{rw:?}");
    assert!(rw.unwrap_err().user_message().contains("need a reason"));
    assert!(Command::parse("/firefighter", "ro INC-42", &strict).is_ok(), "ro stays optional");
    let long = format!("ro INC-42 30m {}", "x".repeat(180));
    assert!(ff(&long).is_ok(), "the command's own 200-character cap bounds the reason");
}
