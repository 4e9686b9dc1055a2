//! The wording of `/firefighter history` (issue 17): its heading, refusals, and the escaping of
//! the rows' stored text for Slack. Plain text, no I/O.

/// Someone who is not an approver asked for another person's history.
pub const NOT_YOURS: &str =
    "Only approvers and admins can read someone else's history; yours is /firefighter history.";

/// A filter the history cannot take.
pub const BAD_FILTER: &str = "That filter is too long. Usage: /firefighter history [target] \
     [incident | @user] [days]";

/// The database could not be read.
pub const UNAVAILABLE: &str =
    "The history could not be read from the database right now. Try again, or run pgroles history.";

/// The heading: the window, the rows shown and, in a fleet, the target (`on \`orders\``).
pub fn heading(days: i32, rows: usize, target: &str) -> String {
    let target = if target.is_empty() { String::new() } else { format!(" {target}") };
    format!(
        "Firefighter history{target}, last {days} day(s), newest first ({rows} row(s); the full \
         export: pgroles history --format csv):"
    )
}

/// Stored text made inert for Slack: `&`, `<`, `>` escaped (no mention, broadcast or link can
/// form) and no backtick (it cannot close the code block).
pub fn escaped(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_cannot_mention_link_or_close_the_block() {
        let out = escaped("INC-1 <!channel> <@U1> <https://x|y> ``` & more");
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('`'), "{out}");
        assert!(heading(7, 2, "on `orders`").contains("on `orders`, last 7 day(s)"));
    }
}
