//! `/firefighter history [target] [incident | @user] [days]` (issue 17): its words, in any order
//! after the target, each at most once: a mention names the person, a number of days (`30` or
//! `30d`, 1 to 366) the window, anything else must be an incident id. Part of [`super`]'s
//! grammar; pure.

use super::{parse_mention, Command, CommandRules};
use crate::access::history::MAX_DAYS;
use crate::access::ids::IncidentId;
use crate::access::rejection::Rejection;

const USAGE: &str = "/firefighter history [target] [incident | @user] [days]";

pub(super) fn history(rest: &[&str], rules: &CommandRules) -> Result<Command, Rejection> {
    let (target, rest) = rules.optional_target(rest, USAGE)?;
    let (mut incident, mut user, mut days) = (None, None, None);
    let twice = || Rejection::UnexpectedArgument { usage: USAGE.into() };
    for word in rest {
        if word.starts_with("<@") {
            let u = parse_mention(word)
                .ok_or_else(|| Rejection::InvalidMention { usage: USAGE.into() })?;
            if user.replace(u).is_some() {
                return Err(twice());
            }
        } else if let Some(n) = day_count(word) {
            if days.replace(n).is_some() {
                return Err(twice());
            }
        } else if incident.replace(IncidentId::parse(word, rules.pattern())?).is_some() {
            return Err(twice());
        }
    }
    if incident.is_some() && user.is_some() {
        return Err(twice());
    }
    Ok(Command::History { target, incident, user, days })
}

/// `30` or `30d`, 1 to 366.
fn day_count(word: &str) -> Option<u32> {
    let digits = word.strip_suffix(['d', 'D']).unwrap_or(word);
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (1..=MAX_DAYS as u32).contains(&n).then_some(n)
}
