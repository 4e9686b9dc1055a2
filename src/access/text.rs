//! Every sentence users read about access: rejection messages, help texts, request summaries,
//! and the duration and time formats (`1h 30m`, `13:05 UTC (in 1h 30m)`).
//!
//! Plain text only: no Slack mrkdwn except `<@U..>` mentions, and no internal error text (a
//! rejection's wording is fixed per variant). Block Kit assembly and Slack's length limits
//! belong to the Slack layer, not here. Pure: the time is passed in.

use super::ids::IncidentProblem;
use super::policy::ReactionEmojis;
use super::rejection::{Rejection, SlashCommand};
use super::request::{Request, RequestState};
use super::{DurationProblem, Grant};
use crate::access::settings::AccessConfig;
use chrono::{DateTime, Utc};

impl Rejection {
    /// What the user is told. Fixed wording per case; safe to show in any channel.
    pub fn user_message(&self) -> String {
        match self {
            Rejection::InvalidIncident { problem, example } => incident_message(*problem, example),
            Rejection::InvalidUserId
            | Rejection::InvalidChannelId
            | Rejection::InvalidMessageTs
            | Rejection::InvalidRequestId => "Slack sent an identifier I could not read. Please \
                 try again; if it keeps happening, tell the platform team."
                .into(),
            Rejection::InvalidDuration { problem, cap_secs } => {
                let lead = match problem {
                    DurationProblem::Empty => "Please give a duration.",
                    DurationProblem::Negative => "A duration cannot be negative.",
                    DurationProblem::Zero => "A duration must be longer than zero.",
                    DurationProblem::Format => "I could not read that duration.",
                };
                format!(
                    "{lead} Write it like 90m, 2h, 1h30m, 45s or 3600 (seconds), at most {}.",
                    format_duration(*cap_secs)
                )
            }
            Rejection::DurationOverCap { cap_secs } => format!(
                "The longest access you can request is {}. Please ask for {} or less.",
                format_duration(*cap_secs),
                format_duration(*cap_secs)
            ),
            Rejection::TextTooLong { max } => format!(
                "That command is longer than {max} characters. See /firefighter help for the forms."
            ),
            Rejection::ControlCharacter => "That command contains a line break, control or \
                invisible character (often pasted along with the text), so nothing was done. \
                Please type it again on one line."
                .into(),
            Rejection::UnknownCommand => {
                "I do not know that command. Try /firefighter help or /pgroles help.".into()
            }
            Rejection::UnknownSubcommand { command, given, help } => {
                let name = match command {
                    SlashCommand::Firefighter => "/firefighter",
                    SlashCommand::Pgroles => "/pgroles",
                };
                match given {
                    Some(word) => format!("{name} has no subcommand \"{word}\".\n\n{help}"),
                    None => format!("{name} has no such subcommand.\n\n{help}"),
                }
            }
            Rejection::MissingArgument { usage } => {
                format!("Something is missing. Usage: {usage}")
            }
            Rejection::UnexpectedArgument { usage } => {
                format!("That has more words than I expected. Usage: {usage}")
            }
            Rejection::InvalidLevel { usage } => {
                format!("The access level is ro or rw. Usage: {usage}")
            }
            Rejection::SelfApproval => {
                "You cannot approve your own request; another approver has to.".into()
            }
            Rejection::NotApprover => {
                "Only approvers can approve or deny access requests, so your reaction does not \
                 count."
                    .into()
            }
            Rejection::LevelHeld { level, holder, incident, until } => format!(
                "{level} is held by {} for {incident} until {}; ask them or use /firefighter \
                 revoke {level}.",
                holder.mention(),
                format_utc_time(*until)
            ),
            Rejection::AlreadyPending { level, requester, incident } => format!(
                "A request for {level} by {} for {incident} is already waiting for approval; \
                 wait for it to be decided.",
                requester.mention()
            ),
            Rejection::NotAllowedToRevoke { level, holder } => format!(
                "Only {} (who holds {level}), an approver or an admin can revoke it.",
                holder.mention()
            ),
            Rejection::NothingToRevoke { level } => {
                format!("Nobody holds {level} right now, so there is nothing to revoke.")
            }
            Rejection::NothingToResend => "You hold no firefighter access right now, so there \
                 is nothing to resend. Request it with /firefighter ro or /firefighter rw."
                .into(),
            Rejection::NotAllowedToCancel => "Only the requester can cancel a request.".into(),
            Rejection::NotAllowedToVerify => "You are not allowed to run /pgroles verify here. \
                 Ask the platform team to add you or this channel."
                .into(),
            Rejection::Misconfigured => "The bot's access settings are invalid, so I cannot \
                 take requests. Please tell the platform team."
                .into(),
        }
    }
}

fn incident_message(problem: IncidentProblem, example: &str) -> String {
    let lead = match problem {
        IncidentProblem::Empty => "Please give an incident id.",
        IncidentProblem::Invisible => {
            "That incident id contains an invisible or text-direction character (often pasted \
             along with it)."
        }
        IncidentProblem::Control => "That incident id contains a control character.",
        IncidentProblem::Quote => "Please give the incident id without quotes.",
        IncidentProblem::Whitespace => "An incident id cannot contain spaces.",
        IncidentProblem::NonAscii => {
            "That incident id contains a character that is not plain ASCII (perhaps a look-alike \
             letter)."
        }
        IncidentProblem::TooLong => "That incident id is too long.",
        IncidentProblem::NoMatch => "That does not look like an incident id.",
    };
    if example.is_empty() {
        format!("{lead} Type it by hand.")
    } else {
        format!("{lead} Type it by hand, like {example}.")
    }
}

/// The `/firefighter help` text, with the configured example, thresholds and durations.
pub fn firefighter_help(cfg: &AccessConfig) -> String {
    let ex = &cfg.incident_example;
    let approvals =
        |n: u32| if n == 1 { "1 approval".to_owned() } else { format!("{n} approvals") };
    [
        "/firefighter gives you temporary PostgreSQL access for an incident.".to_owned(),
        format!(
            "/firefighter ro {ex} [duration]: read-only access (needs {})",
            approvals(cfg.approvals_ro)
        ),
        format!(
            "/firefighter rw {ex} [duration]: read-write access, no schema changes (needs {})",
            approvals(cfg.approvals_rw)
        ),
        "/firefighter status: pending requests and who holds access now".to_owned(),
        "/firefighter revoke ro|rw: end access now (the holder, an approver or an admin)"
            .to_owned(),
        "/firefighter resend: send your connection details again".to_owned(),
        "/firefighter help: this text".to_owned(),
        format!(
            "Durations look like 90m, 2h, 1h30m, 45s or 3600 (seconds); the default is {}, the \
             most is {}.",
            format_duration(cfg.default_duration_secs),
            format_duration(cfg.max_duration_secs)
        ),
        format!(
            "Approvers approve or deny by reacting to the request message within {}; your own \
             approval does not count.",
            format_duration(cfg.approval_window_secs)
        ),
    ]
    .join("\n")
}

/// The `/pgroles help` text.
pub fn pgroles_help() -> String {
    [
        "/pgroles checks the PostgreSQL role model.",
        "/pgroles verify: compare the database with the expected privileges (shown only to you)",
        "/pgroles verify post: the same, posted to this channel",
        "/pgroles help: this text",
    ]
    .join("\n")
}

/// `1h 30m`, `45s`, `2h`, `1h 5s`; zero is `0s`.
pub fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let parts: Vec<String> = [(h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// `13:05 UTC`.
pub fn format_utc_time(t: DateTime<Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}

/// `13:05 UTC (in 1h 30m)`, or `13:05 UTC (passed)` once it is over. The remaining time is
/// exact to the second (a 90 s window is "in 1m 30s", never a rounded "in 2m").
pub fn format_expiry(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let remaining = (at - now).num_seconds();
    if remaining <= 0 {
        return format!("{} (passed)", format_utc_time(at));
    }
    format!("{} (in {})", format_utc_time(at), format_duration(remaining.unsigned_abs()))
}

fn mentions<'a>(users: impl Iterator<Item = &'a super::SlackUserId>) -> String {
    users.map(|u| u.mention()).collect::<Vec<_>>().join(", ")
}

/// The text of the request message in the approvers' channel, for its current state.
pub fn request_text(req: &Request, emojis: &ReactionEmojis, now: DateTime<Utc>) -> String {
    let head = format!(
        "{} requests {} access for {} for {}.",
        req.requester().mention(),
        req.level(),
        req.incident(),
        format_duration(req.duration().as_secs())
    );
    let approved_by = mentions(req.approvals().iter().map(|a| &a.by));
    let tail = match req.state() {
        RequestState::Pending => {
            let so_far = if approved_by.is_empty() {
                String::new()
            } else {
                format!(" Approved so far by {approved_by}.")
            };
            format!(
                "Needs {} of {} approvals; approvers react with :{}: to approve or :{}: to deny \
                 before {}.{so_far}",
                req.needed().saturating_sub(req.approvals().len().try_into().unwrap_or(u32::MAX)),
                req.needed(),
                emojis.approve(),
                emojis.deny(),
                format_expiry(req.approval_deadline(), now)
            )
        }
        RequestState::Approved { .. } => format!("Approved by {approved_by}; issuing access."),
        RequestState::Denied { by, .. } => format!("Denied by {}.", by.mention()),
        RequestState::Cancelled { .. } => "Cancelled by the requester.".into(),
        RequestState::TimedOut { at } => {
            format!("Timed out at {} without enough approvals.", format_utc_time(*at))
        }
        RequestState::Issued { expires_at, .. } => format!(
            "Approved by {approved_by}. Access granted until {}.",
            format_expiry(*expires_at, now)
        ),
        RequestState::Failed { .. } => {
            "Approved, but the access could not be issued; the platform team has been alerted."
                .into()
        }
        RequestState::Expired { at } => format!("Access expired at {}.", format_utc_time(*at)),
        RequestState::Revoked { by, at } => {
            format!("Access revoked by {} at {}.", by.mention(), format_utc_time(*at))
        }
    };
    format!("{head} {tail}")
}

/// One line of `/firefighter status`: `rw: <@U1> for INC-7 until 12:00 UTC (in 1h)`.
pub fn grant_line(grant: &Grant, now: DateTime<Utc>) -> String {
    format!(
        "{}: {} for {} until {}",
        grant.level,
        grant.holder.mention(),
        grant.incident,
        format_expiry(grant.expires_at, now)
    )
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
