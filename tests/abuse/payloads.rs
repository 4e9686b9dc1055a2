//! The payloads of the abuse generator: category weights, injection strings for the incident
//! id and the duration, and unicode tricks (homoglyphs, invisible and direction characters,
//! non-ASCII digits and dashes). Every entry must be invalid as typed: the suite counts any
//! request it opens as accepted.
//!
//! Owns data only.

/// `(category, weight)`; oversized bodies are heavy, so fewer.
pub const CATEGORIES: &[(&str, u32)] = &[
    ("unsigned", 8),
    ("wrong_secret", 8),
    ("stale_timestamp", 8),
    ("future_timestamp", 8),
    ("bad_timestamp", 4),
    ("tampered_body", 10),
    ("oversized_body", 2),
    ("malformed_form", 8),
    ("malformed_json", 8),
    ("injection", 12),
    ("unicode_trick", 10),
    ("unknown_command", 6),
    ("odd_event", 6),
    ("unknown_message_event", 6),
    ("non_approver_reaction", 6),
    ("wrong_route", 4),
];

/// Things people type into an incident id or a duration to break out of it.
pub const INJECTIONS: &[&str] = &[
    "INC-1'; DROP ROLE x;--",
    "INC-1\"; DROP TABLE orders; --",
    "$(id)",
    "`id`",
    "INC-1;$(reboot)",
    "%00",
    "INC-1%00",
    "INC-1\0",
    "INC-1\r\nX-Injected: 1",
    "INC-1\nrw INC-2",
    "' OR '1'='1",
    "INC-1 OR 1=1",
    "INC-1; SELECT pg_sleep(10)",
    "INC-${jndi:ldap://x/a}",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "<!channel>",
    "<@U0APP00001>",
    "../../etc/passwd",
    "INC-123456789",
    "INC-",
    "INC--1",
    "INC-0x10",
    "INC-42)",
];

pub const DURATIONS: &[&str] = &[
    "1h'; DROP ROLE x;--",
    "$(sleep 10)",
    "-1h",
    "0m",
    "0s",
    "99999999999999999999h",
    "1e3s",
    "NaN",
    "inf",
    "1h1h",
    "2h",
    "61m",
    "3601s",
    "1.5h",
    "1 h",
    "%00",
    "1h\r\nX-Injected: 1",
    "\u{221e}",
];

/// Homoglyphs, invisible and direction characters, non-ASCII digits and dashes.
pub const UNICODE: &[&str] = &[
    "\u{0406}NC-42",               // Cyrillic I
    "INC-\u{FF14}\u{FF12}",        // fullwidth digits
    "\u{FF29}\u{FF2E}\u{FF23}-42", // fullwidth INC
    "INC-4\u{200B}2",              // zero-width space
    "INC-42\u{200B}",
    "\u{200D}INC-42", // zero-width joiner
    "INC-42\u{FEFF}", // BOM
    "\u{202E}INC-42", // right-to-left override
    "INC-42\u{202E}",
    "INC-\u{202E}24",
    "\u{2066}INC-42\u{2069}", // isolates
    "INC-\u{0664}\u{0662}",   // Arabic-Indic digits
    "INC-\u{0968}",           // Devanagari digit
    "INC\u{2010}42",          // hyphen
    "INC\u{2212}42",          // minus sign
    "INC\u{2013}42",          // en dash
    "I\u{0301}NC-42",         // combining accent
    "INC-4\u{0332}2",         // combining low line
    "\u{1D408}NC-42",         // mathematical bold I
    "INC-42\u{E0001}",        // language tag
    "INC-\u{1D7D2}",          // mathematical bold digit 4
];
