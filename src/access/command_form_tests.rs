use super::*;
use crate::access::settings::AccessConfig;

fn rules() -> CommandRules {
    CommandRules::from_config(&AccessConfig::default()).expect("default rules")
}

fn form(level: &str, incident: &str, duration: &str, reason: &str) -> FormValues {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    FormValues {
        target: None,
        level: some(level),
        incident: some(incident),
        duration: some(duration),
        reason: some(reason),
    }
}

fn fields(errors: &[FieldError]) -> Vec<FormField> {
    errors.iter().map(|e| e.field).collect()
}

#[test]
fn a_filled_form_is_the_typed_request_and_never_break_glass() {
    let typed = Command::parse_with("/firefighter", "rw INC-42 90m replica lag on db2", &rules());
    let filled = rules()
        .request_from_form(&form("rw", "INC-42", "90m", "replica lag on db2"))
        .map(Command::from);
    assert_eq!(filled.clone().ok(), typed.ok());
    assert!(matches!(filled, Ok(Command::Request { break_glass: false, .. })));
}

#[test]
fn an_empty_duration_is_the_default_and_an_empty_reason_none() {
    let Ok(FormRequest { duration, reason, .. }) =
        rules().request_from_form(&form("ro", "INC-7", " ", ""))
    else {
        panic!("a request");
    };
    assert_eq!(duration, rules().default_duration());
    assert_eq!(reason, None);
}

#[test]
fn every_wrong_field_is_reported_at_once_in_form_order() {
    let errors = rules().request_from_form(&form("", "inc 7", "3h", "short")).unwrap_err();
    assert_eq!(
        fields(&errors),
        [FormField::Level, FormField::Incident, FormField::Duration, FormField::Reason]
    );
    assert!(matches!(errors[2].rejection, Rejection::DurationOverCap { cap_secs: 7200 }));
}

#[test]
fn hostile_text_is_refused_per_field() {
    let long = "9".repeat(MAX_DURATION_CHARS + 1);
    let errors = rules()
        .request_from_form(&form("rw; drop", "INC-1\u{202E}", &long, "ok\u{0007}reason here"))
        .unwrap_err();
    assert_eq!(
        fields(&errors),
        [FormField::Level, FormField::Incident, FormField::Duration, FormField::Reason]
    );
}

#[test]
fn a_required_reason_is_asked_for_only_on_its_level() {
    let cfg = AccessConfig { require_reason_rw: true, ..AccessConfig::default() };
    let rules = CommandRules::from_config(&cfg).unwrap();
    assert!(rules.request_from_form(&form("ro", "INC-1", "", "")).is_ok());
    let errors = rules.request_from_form(&form("rw", "INC-1", "", "")).unwrap_err();
    assert_eq!(fields(&errors), [FormField::Reason]);
    assert!(matches!(errors[0].rejection, Rejection::ReasonRequired { level: Level::Rw, .. }));
}

#[test]
fn a_fleet_form_needs_one_of_its_targets_and_a_single_target_form_ignores_it() {
    let fleet = rules().with_targets(vec!["orders".into(), "billing".into()]);
    let mut f = form("ro", "INC-1", "", "");
    assert_eq!(fields(&fleet.request_from_form(&f).unwrap_err()), [FormField::Target]);
    f.target = Some("payroll".into());
    assert_eq!(fields(&fleet.request_from_form(&f).unwrap_err()), [FormField::Target]);
    f.target = Some("billing".into());
    assert!(matches!(
        fleet.request_from_form(&f),
        Ok(FormRequest { target: Some(t), .. }) if t == "billing"
    ));
    assert!(matches!(rules().request_from_form(&f), Ok(FormRequest { target: None, .. })));
}
