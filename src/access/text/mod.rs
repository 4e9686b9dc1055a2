//! Every sentence users read: rejection messages, help texts, the request message, command
//! replies, thread notes, DMs and alerts, and the duration and time formats (`1h 30m`,
//! `13:05 UTC (in 1h 30m)`). Callers (`workflow`, the Slack adapter, the listeners) pass ids and
//! numbers in and send what comes back; no sentence a user reads is written anywhere else.
//!
//! Plain text only: no Slack mrkdwn except `<@U..>` mentions (and the approver group's
//! `<!subteam^S..>`; the activity summary's escaped code spans), and no internal error text (a
//! rejection's wording is fixed per variant).
//! Block Kit assembly and Slack's length limits belong to the Slack layer, not here. Pure: the
//! time is passed in.
//!
//! - [`rejection`]: what a refused user is told (`Rejection::user_message`).
//! - [`help`]: `/firefighter help`, `/pgroles help`.
//! - [`request`]: the request message and how approvers are named in it.
//! - [`reply`]: answers to slash commands, and the shared "state store down" text.
//! - [`notes`]: the request thread's notes (approvals, decision, issue, ignored reactions).
//! - [`grant`]: grant events after issuing (reminder, expiry, revocation, takeover, ...).
//! - [`break_glass`]: the break-glass notice, DMs, review and reminders.
//! - [`dm`]: DMs to the requester and the failed-issue alert.
//! - [`extend`]: `/firefighter extend` (the ask, its answers and notes).
//! - [`form`]: the request form (`/firefighter` alone): labels, hints, inline errors.
//! - [`history`]: `/firefighter history` (heading, refusals, escaping).
//! - [`home`]: the App Home tab.
//! - [`errors`]: what users are told when the grant service or the database fails.
//! - [`time`]: duration and time formats.
//! - [`activity`]: a per-person login's activity summary (statement text escaped, bounded).

pub mod activity;
pub mod break_glass;
pub mod dm;
pub mod errors;
pub mod extend;
pub mod form;
pub mod grant;
pub mod help;
pub mod history;
pub mod home;
pub mod notes;
pub mod rejection;
pub mod reply;
pub mod request;
pub mod time;

pub use help::{firefighter_help, pgroles_help};
pub use request::{approvers_hint, request_footer, request_text, request_title};
pub use time::{format_duration, format_expiry, format_utc_time};

use super::ids::SlackUserId;

/// `<@U..>` for a Slack user id; any other actor name (`cli`) as it is. For actors that are
/// not parsed ids yet (the grant service's `by`); a parsed id uses [`SlackUserId::mention`].
pub fn mention_or_name(actor: &str) -> String {
    SlackUserId::parse(actor).map(|u| u.mention()).unwrap_or_else(|_| actor.to_owned())
}

#[cfg(test)]
mod tests;
