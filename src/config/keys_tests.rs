//! Unit tests of the key registry: it must list exactly the fields of the config structs.

use super::*;
use crate::config::*;
use crate::model::Names;
use serde::de::{Deserialize, Deserializer, Visitor};
use std::collections::BTreeSet;

/// A deserializer that only records the field names a derived `Deserialize` asks for.
struct Recorder;

#[derive(Debug)]
struct Found(Vec<&'static str>);

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl std::error::Error for Found {}
impl serde::de::Error for Found {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Found(Vec::new())
    }
}

impl<'de> Deserializer<'de> for Recorder {
    type Error = Found;
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        Err(Found(Vec::new()))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found(fields.to_vec()))
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

fn fields_of<T: for<'de> Deserialize<'de>>() -> BTreeSet<&'static str> {
    match T::deserialize(Recorder) {
        Err(Found(f)) => f.into_iter().collect(),
        Ok(_) => panic!("recorder cannot produce a value"),
    }
}

fn registry(section: &str) -> BTreeSet<&'static str> {
    KEYS.iter().filter(|k| k.section == section).map(|k| k.name).collect()
}

#[test]
fn registry_lists_exactly_the_fields_of_every_config_struct() {
    let tables: BTreeSet<&str> = SECTIONS.iter().copied().chain(["targets"]).collect();
    assert_eq!(fields_of::<Config>(), tables);
    assert_eq!(fields_of::<Names>(), registry("model"));
    assert_eq!(fields_of::<ApplyConfig>(), registry("apply"));
    assert_eq!(fields_of::<DatabaseConfig>(), registry("database"));
    assert_eq!(fields_of::<RedisConfig>(), registry("redis"));
    assert_eq!(fields_of::<SlackConfig>(), registry("slack"));
    assert_eq!(fields_of::<AccessConfig>(), registry("access"));
    assert_eq!(fields_of::<AwsConfig>(), registry("aws"));
    assert_eq!(fields_of::<ServerConfig>(), registry("server"));
    assert_eq!(fields_of::<PagerDutyConfig>(), registry("pagerduty"));
}

#[test]
fn env_var_names_are_the_upper_cased_section_and_key() {
    let key = find("slack.bot_token").expect("key exists");
    assert_eq!(key.env_var(), "PGROLES_SLACK_BOT_TOKEN");
    assert_eq!(key.env_hint(), "PGROLES_SLACK_BOT_TOKEN / PGROLES_SLACK_BOT_TOKEN_FILE");
}

#[test]
fn env_values_are_parsed_by_kind() {
    let list = parse_env_value(Kind::List, " U1, U2,,U3 ").expect("list");
    assert_eq!(list, Some(toml::Value::Array(vec!["U1".into(), "U2".into(), "U3".into()])));
    assert_eq!(parse_env_value(Kind::Bool, "Yes"), Ok(Some(toml::Value::Boolean(true))));
    assert_eq!(parse_env_value(Kind::OptStr, ""), Ok(None));
    assert!(parse_env_value(U16, "70000").is_err());
    assert!(parse_env_value(U16, "-1").is_err());
    let sslmode = Kind::Enum(&["disable", "require", "verify-full"]);
    assert_eq!(parse_env_value(sslmode, "Require"), Ok(Some("require".into())));
    assert!(parse_env_value(sslmode, "prefer").is_err());
}

#[test]
fn typos_get_a_suggestion_and_nonsense_does_not() {
    let names = ["audit_channel", "api_url", "bot_token"];
    assert_eq!(suggest("audit_chanel", names), Some("audit_channel".into()));
    assert_eq!(suggest("completely_unrelated_thing", names), None);
}
