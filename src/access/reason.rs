//! A request's reason (issue 17): free text a requester gives with `/firefighter ro INC-1 30m
//! reason...` or in the request modal, at most [`MAX_REASON_CHARS`] characters.
//!
//! Parsed once at the edge into [`Reason`]; rendering is safe by construction: control
//! characters are refused on input, and [`Reason::rendered`] escapes `&`, `<` and `>` so the text
//! cannot form Slack mentions (`<@U..>`, `<!channel>`, `<!subteam^..>`) or links. Pure.

use std::fmt;

/// The longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 300;
/// The shortest: a reason says something (`replica lag`), not `x`.
pub const MIN_REASON_CHARS: usize = 8;

/// Why a reason was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReasonProblem {
    #[error("the reason is empty")]
    Empty,
    #[error("the reason is longer than {MAX_REASON_CHARS} characters")]
    TooLong,
    #[error("the reason is shorter than {MIN_REASON_CHARS} characters")]
    TooShort,
    #[error("the reason contains control characters")]
    ControlCharacters,
}

/// A validated reason: trimmed, non-empty, at most [`MAX_REASON_CHARS`] characters, no control
/// characters (inner whitespace runs, including newlines, are collapsed to one space).
#[derive(Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// Validates raw user text.
    pub fn parse(raw: &str) -> Result<Self, ReasonProblem> {
        let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Err(ReasonProblem::Empty);
        }
        if collapsed.chars().any(|c| c.is_control() || is_format_char(c)) {
            return Err(ReasonProblem::ControlCharacters);
        }
        if collapsed.chars().count() > MAX_REASON_CHARS {
            return Err(ReasonProblem::TooLong);
        }
        if collapsed.chars().count() < MIN_REASON_CHARS {
            return Err(ReasonProblem::TooShort);
        }
        Ok(Self(collapsed))
    }

    /// The text as the user typed it (normalised); never send this to Slack unescaped.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text safe to embed in a Slack message: `&`, `<`, `>` escaped, so no mention,
    /// broadcast or link can be formed.
    pub fn rendered(&self) -> String {
        self.0.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    }
}

/// Bidirectional overrides and zero-width characters that would let a reason disguise itself.
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A stored reason is checked again as it is read back.
impl<'de> serde::Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Reason::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reason({} chars)", self.0.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_reason_is_kept_trimmed_and_collapsed() {
        let r = Reason::parse("  replica lag\n on  orders ").unwrap();
        assert_eq!(r.as_str(), "replica lag on orders");
        assert_eq!(r.rendered(), "replica lag on orders");
    }

    #[test]
    fn mentions_broadcasts_and_links_cannot_be_formed() {
        let r = Reason::parse("ping <@U0ALICE001> <!channel> <!subteam^S1> <https://x|y> & co")
            .unwrap();
        let out = r.rendered();
        assert!(!out.contains('<') && !out.contains('>'), "{out}");
        assert_eq!(
            out,
            "ping &lt;@U0ALICE001&gt; &lt;!channel&gt; &lt;!subteam^S1&gt; &lt;https://x|y&gt; &amp; co"
        );
    }

    #[test]
    fn empty_too_long_and_control_characters_are_refused() {
        assert_eq!(Reason::parse(" \n\t "), Err(ReasonProblem::Empty));
        assert_eq!(Reason::parse("h"), Err(ReasonProblem::TooShort));
        let max = "é".repeat(MAX_REASON_CHARS);
        assert!(Reason::parse(&max).is_ok(), "300 multibyte characters fit");
        assert_eq!(Reason::parse(&format!("{max}x")), Err(ReasonProblem::TooLong));
        assert_eq!(Reason::parse("a\u{7}b"), Err(ReasonProblem::ControlCharacters));
        assert_eq!(Reason::parse("a\u{202E}b"), Err(ReasonProblem::ControlCharacters));
        assert_eq!(Reason::parse("a\u{200B}b"), Err(ReasonProblem::ControlCharacters));
    }

    #[test]
    fn debug_does_not_print_the_text() {
        let r = Reason::parse("secret-ish context").unwrap();
        assert_eq!(format!("{r:?}"), "Reason(18 chars)");
    }
}
