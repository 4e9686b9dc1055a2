use super::*;

#[test]
fn a_timer_round_trips_through_json_without_empty_payload_fields() {
    let t = Timer::new(
        "expire:g1",
        TimerKind::ApprovalTimeout,
        DateTime::<Utc>::UNIX_EPOCH,
        TimerPayload { request_id: Some("r1".into()), ..TimerPayload::default() },
    );
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.contains("\"kind\":\"approval_timeout\""), "{json}");
    assert!(!json.contains("role"), "{json}");
    assert_eq!(serde_json::from_str::<Timer>(&json).unwrap(), t);
}

#[test]
fn the_attempt_number_is_read_from_the_token() {
    let c = Claimed { timer: placeholder("x"), token: "3:abc".into() };
    assert_eq!(c.attempt(), 3);
}

#[test]
fn a_timer_key_matches_only_its_own_field() {
    let p = TimerPayload { role: Some("ff_ro".into()), ..TimerPayload::default() };
    assert!(TimerKey::Role("ff_ro").matches(&p));
    assert!(!TimerKey::Grant("ff_ro").matches(&p));
}
