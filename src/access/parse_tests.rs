use super::*;

fn pattern() -> IncidentPattern {
    IncidentPattern::from_config(&AccessConfig::default()).unwrap()
}

fn problem(s: &str) -> Option<IncidentProblem> {
    match IncidentId::parse(s, &pattern()) {
        Err(Rejection::InvalidIncident { problem, example }) => {
            assert_eq!(example, "INC-1234");
            Some(problem)
        }
        Err(other) => panic!("unexpected rejection {other:?}"),
        Ok(_) => None,
    }
}

#[test]
fn a_plain_incident_id_is_accepted() {
    let id = IncidentId::parse("INC-42", &pattern()).unwrap();
    assert_eq!(id.as_str(), "INC-42");
}

#[test]
fn the_pattern_is_applied_exactly_without_case_folding() {
    assert_eq!(problem("inc-42"), Some(IncidentProblem::NoMatch));
    assert_eq!(problem("Inc-42"), Some(IncidentProblem::NoMatch));
    let any_case = IncidentPattern::new("(?i)INC-[0-9]{1,8}", "INC-1").unwrap();
    let id = IncidentId::parse("inc-42", &any_case).unwrap();
    assert_eq!(id.as_str(), "inc-42", "kept as typed, not upper-cased");
}

#[test]
fn format_characters_anywhere_are_refused() {
    for s in ["INC-4\u{2066}2", "INC-42\u{0605}", "INC-42\u{E0041}", "\u{200E}INC-42"] {
        assert_eq!(problem(s), Some(IncidentProblem::Invisible), "{s:?}");
    }
}

#[test]
fn a_pattern_is_anchored_at_both_ends() {
    assert_eq!(problem("xINC-42"), Some(IncidentProblem::NoMatch));
    assert_eq!(problem("INC-42x"), Some(IncidentProblem::NoMatch));
    assert_eq!(problem("INC-123456789"), Some(IncidentProblem::NoMatch));
    let alternation = IncidentPattern::new("INC-[0-9]+|SEV-[0-9]+", "SEV-1").unwrap();
    assert!(IncidentId::parse("SEV-12", &alternation).is_ok());
    assert!(IncidentId::parse("INC-1SEV-2", &alternation).is_err());
}

#[test]
fn an_empty_incident_id_is_rejected() {
    assert_eq!(problem(""), Some(IncidentProblem::Empty));
}

#[test]
fn incident_id_with_zero_width_space_is_rejected() {
    assert_eq!(problem("INC-4\u{200B}2"), Some(IncidentProblem::Invisible));
    assert_eq!(problem("\u{FEFF}INC-42"), Some(IncidentProblem::Invisible));
    assert_eq!(problem("INC-42\u{2060}"), Some(IncidentProblem::Invisible));
}

#[test]
fn incident_id_with_right_to_left_override_is_rejected() {
    assert_eq!(problem("INC-\u{202E}24"), Some(IncidentProblem::Invisible));
    assert_eq!(problem("INC-\u{2067}42"), Some(IncidentProblem::Invisible));
}

#[test]
fn incident_id_with_a_cyrillic_look_alike_is_rejected() {
    // U+0406 CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I, U+0421 CYRILLIC CAPITAL ES.
    assert_eq!(problem("\u{0406}NC-42"), Some(IncidentProblem::NonAscii));
    assert_eq!(problem("IN\u{0421}-42"), Some(IncidentProblem::NonAscii));
    // Full-width and other-script digits.
    assert_eq!(problem("INC-\u{FF14}2"), Some(IncidentProblem::NonAscii));
    assert_eq!(problem("INC-\u{0664}\u{0662}"), Some(IncidentProblem::NonAscii));
}

#[test]
fn incident_id_with_whitespace_is_rejected() {
    assert_eq!(problem("INC- 42"), Some(IncidentProblem::Whitespace));
    assert_eq!(problem("INC-42\u{00A0}"), Some(IncidentProblem::Whitespace));
    assert_eq!(problem(" INC-42"), Some(IncidentProblem::Whitespace));
}

#[test]
fn incident_id_with_quotes_is_rejected() {
    assert_eq!(problem("\"INC-42\""), Some(IncidentProblem::Quote));
    assert_eq!(problem("'INC-42'"), Some(IncidentProblem::Quote));
    assert_eq!(problem("`INC-42`"), Some(IncidentProblem::Quote));
    assert_eq!(problem("\u{201C}INC-42\u{201D}"), Some(IncidentProblem::Quote));
}

#[test]
fn incident_id_with_control_characters_is_rejected() {
    assert_eq!(problem("INC-42\n"), Some(IncidentProblem::Control));
    assert_eq!(problem("INC-\u{0}42"), Some(IncidentProblem::Control));
    assert_eq!(problem("INC-42\u{1b}[31m"), Some(IncidentProblem::Control));
    assert_eq!(problem("INC-42\u{85}"), Some(IncidentProblem::Control));
}

#[test]
fn incident_id_longer_than_64_characters_is_rejected_even_if_the_pattern_allows_it() {
    let loose = IncidentPattern::new("[A-Z0-9-]+", "INC-1").unwrap();
    let long = format!("INC-{}", "1".repeat(61));
    assert!(matches!(
        IncidentId::parse(&long, &loose),
        Err(Rejection::InvalidIncident { problem: IncidentProblem::TooLong, .. })
    ));
    assert!(IncidentId::parse(&format!("INC-{}", "1".repeat(60)), &loose).is_ok());
}

#[test]
fn a_pattern_that_allows_anything_still_refuses_unicode_tricks() {
    let anything = IncidentPattern::new("(?s).*", "x").unwrap();
    assert!(IncidentId::parse("INC-4\u{200B}2", &anything).is_err());
    assert!(IncidentId::parse("a b", &anything).is_err());
}

#[test]
fn the_rejection_message_shows_the_expected_form() {
    let err = IncidentId::parse("INC-\u{200B}42", &pattern()).unwrap_err();
    let msg = err.user_message();
    assert!(msg.contains("INC-1234"), "{msg}");
    assert!(msg.contains("invisible"), "{msg}");
    assert!(!msg.contains('\u{200B}'), "{msg}");
}

#[test]
fn stored_incident_ids_are_rechecked_on_deserialization() {
    let id = IncidentId::parse("INC-7", &pattern()).unwrap();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, "\"INC-7\"");
    assert_eq!(serde_json::from_str::<IncidentId>(&json).unwrap(), id);
    assert!(serde_json::from_str::<IncidentId>("\"INC-\\u200b7\"").is_err());
}

#[test]
fn slack_user_ids_are_u_or_w_then_upper_case_alphanumerics() {
    for ok in ["U1", "U012AB3CD", "W0123ABCD", "U1234567890123456789"] {
        assert!(SlackUserId::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "U",
        "u012AB3CD",
        "U012ab3cd",
        "C012AB3CD",
        "U012AB3CD ",
        "<@U012AB3CD>",
        "U12345678901234567890",
        "U0\u{0406}",
        "Ｕ1",
    ] {
        assert_eq!(SlackUserId::parse(bad), Err(Rejection::InvalidUserId), "{bad:?}");
    }
}

#[test]
fn a_user_id_renders_as_a_mention() {
    assert_eq!(SlackUserId::parse("U1").unwrap().mention(), "<@U1>");
}

#[test]
fn channel_ids_are_c_g_or_d_then_upper_case_alphanumerics() {
    for ok in ["C012AB3CD", "G01", "D0ABC"] {
        assert!(ChannelId::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["", "U012AB3CD", "c012", "C", "C01-2", "#general"] {
        assert_eq!(ChannelId::parse(bad), Err(Rejection::InvalidChannelId), "{bad:?}");
    }
}

#[test]
fn message_timestamps_are_seconds_dot_six_digits() {
    assert!(MessageTs::parse("1234567890.123456").is_ok());
    for bad in [
        "",
        ".",
        "1234567890",
        "1234567890.12345",
        "1234567890.1234567",
        "1234567890.12345a",
        ".123456",
        "-1.123456",
        "+1.123456",
        "1234567890123.123456",
        "1.2.123456",
        "١٢٣.123456",
    ] {
        assert_eq!(MessageTs::parse(bad), Err(Rejection::InvalidMessageTs), "{bad:?}");
    }
}

#[test]
fn request_ids_come_from_uuids_and_refuse_other_characters() {
    let id = RequestId::from_uuid(uuid::Uuid::nil());
    assert_eq!(id.as_str(), "00000000-0000-0000-0000-000000000000");
    assert_eq!(RequestId::parse(id.as_str()), Ok(id));
    for bad in ["", "a b", "a/b", "é", &"a".repeat(65)] {
        assert_eq!(RequestId::parse(bad), Err(Rejection::InvalidRequestId), "{bad:?}");
    }
}

#[test]
fn stored_slack_ids_are_rechecked_on_deserialization() {
    assert!(serde_json::from_str::<SlackUserId>("\"U1\"").is_ok());
    assert!(serde_json::from_str::<SlackUserId>("\"u1\"").is_err());
    assert!(serde_json::from_str::<ChannelId>("\"C1\"").is_ok());
    assert!(serde_json::from_str::<MessageTs>("\"1.000001\"").is_ok());
    assert!(serde_json::from_str::<MessageTs>("\"1.1\"").is_err());
}

#[test]
fn parsers_do_not_panic_on_awkward_input() {
    let samples = [
        "",
        "\u{0}",
        "é",
        "👩‍🚒",
        "\u{10FFFF}",
        "INC-",
        "-",
        ".",
        "..",
        "a.b",
        "\u{200B}.\u{200B}",
        "Ü1",
        "U\u{301}1",
        "1.12345\u{301}",
    ];
    for s in samples {
        let _ = IncidentId::parse(s, &pattern());
        let _ = SlackUserId::parse(s);
        let _ = ChannelId::parse(s);
        let _ = MessageTs::parse(s);
        let _ = RequestId::parse(s);
    }
}

#[test]
fn an_invalid_pattern_is_a_config_error() {
    assert!(matches!(
        IncidentPattern::new("INC-(", "INC-1"),
        Err(AccessConfigError::IncidentPattern(_))
    ));
}
