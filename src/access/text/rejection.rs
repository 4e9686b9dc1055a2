//! What a user is told when the domain refuses an action: [`Rejection::user_message`], fixed
//! wording per variant (safe to show in any channel), and the incident-id hints.

use super::time::{format_duration, format_utc_time};
use crate::access::ids::IncidentProblem;
use crate::access::rejection::{DurationProblem, Rejection, SlashCommand};

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
            Rejection::InvalidMention { usage } => format!(
                "Name the person by picking them from Slack's @ list (a mention), not as \
                 plain text. Usage: {usage}"
            ),
            Rejection::InvalidLevel { usage } => {
                format!("The access level is ro or rw. Usage: {usage}")
            }
            Rejection::ReasonRequired { level, usage } => format!(
                "{level} requests need a reason after the duration, so the approvers know why. \
                 Usage: {usage}"
            ),
            Rejection::InvalidReason(problem) => format!(
                "I cannot take that reason: {problem}. Nothing was requested; try again with {} to \
                 {} characters of plain text after the duration.",
                crate::access::reason::MIN_REASON_CHARS,
                crate::access::reason::MAX_REASON_CHARS
            ),
            Rejection::UnknownTarget { given: Some(given), targets, usage } => format!(
                "There is no database called `{given}` here. The databases are: {}. Usage: {usage}",
                targets.join(", ")
            ),
            Rejection::UnknownTarget { given: None, targets, usage } => {
                format!("Which database? Name one of: {}. Usage: {usage}", targets.join(", "))
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
            Rejection::BreakGlassOff => "Break-glass is off on this bot: every grant needs its \
                 approvals. Nothing was requested; ask without `break-glass`."
                .into(),
            Rejection::BreakGlassBeforeTimeout => "Break-glass is allowed only after a normal \
                 request for this incident went unanswered (timed out). Nothing was requested; \
                 ask normally first."
                .into(),
            Rejection::BreakGlassNotAllowed => "You are not on the list of people who may break \
                 glass. Nothing was requested; ask normally, or ask an approver directly."
                .into(),
            Rejection::BreakGlassReasonRequired { usage } => format!(
                "Break-glass needs a reason after `break-glass`: it is posted to everyone and \
                 reviewed afterwards. Usage: {usage}"
            ),
            Rejection::NotAllowedToReview => "Only an approver other than the person who broke \
                 glass can review a break-glass grant."
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
