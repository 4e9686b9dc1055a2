//! Fuzzes the psql script reader, `pgroles::model::script::parse`, which renders variables and
//! splits `sql/` scripts into statements. Owns only the harness; a panic or a failed property
//! is a bug in the reader.
//!
//! Input: UTF-8 text (invalid bytes are replaced), parsed as a whole script with a fixed set of
//! variables whose values are hostile to quoting (quotes, backslashes, newlines, `$$`).
//!
//! Properties, besides never panicking: parsing is deterministic, and every step it returns is
//! non-empty and already trimmed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pgroles::model::script;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn vars() -> &'static BTreeMap<String, String> {
    static VARS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    VARS.get_or_init(|| {
        [
            ("db", "my-pg-db"),
            ("schema", "app"),
            ("role", "o'brien\"x"),
            ("owner", "back\\slash"),
            ("password", "p$$w'o\nrd;--"),
            ("empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let first = script::parse("fuzz.sql", &text, vars());
    assert_eq!(first, script::parse("fuzz.sql", &text, vars()), "parse is not deterministic");
    match first {
        Ok(steps) => {
            for step in &steps {
                let s = step.text();
                assert!(!s.is_empty(), "empty step from {text:?}");
                assert_eq!(s, s.trim(), "untrimmed step from {text:?}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
