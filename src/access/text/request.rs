//! The request message in the approvers' channel (its text, header and footer), for each state
//! of the request, and how the approvers are named in it.

use super::time::{format_duration, format_expiry, format_utc_time};
use crate::access::ids::SlackUserId;
use crate::access::policy::ReactionEmojis;
use crate::access::request::{Request, RequestState};
use chrono::{DateTime, Utc};

fn mentions<'a>(users: impl Iterator<Item = &'a SlackUserId>) -> String {
    users.map(|u| u.mention()).collect::<Vec<_>>().join(", ")
}

/// The text of the request message in the approvers' channel, for its current state.
pub fn request_text(req: &Request, emojis: &ReactionEmojis, now: DateTime<Utc>) -> String {
    let on = req.target().map(|t| format!(" on `{t}`")).unwrap_or_default();
    let head = format!(
        "{} requests {} access{on} for {} for {}.",
        req.requester().mention(),
        req.level(),
        req.incident(),
        format_duration(req.duration().as_secs())
    );
    let approved_by = mentions(req.approvals().iter().map(|a| &a.by));
    let approved_by = if approved_by.is_empty() && req.break_glass().is_some() {
        "nobody (break-glass)".to_owned()
    } else {
        approved_by
    };
    let head = match req.reason() {
        Some(r) => format!("{head} Reason: {}", r.rendered()),
        None => head,
    };
    let tail = match req.state() {
        RequestState::Pending => {
            let so_far = if approved_by.is_empty() {
                String::new()
            } else {
                format!(" Approved so far by {approved_by}.")
            };
            format!(
                "Needs {} of {} approvals; approvers press Approve or Deny (or react with :{}: or \
                 :{}:) before {}.{so_far}",
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
        RequestState::Revoked { by, at } if by == req.requester() => {
            format!("Released early by {} at {}.", by.mention(), format_utc_time(*at))
        }
        RequestState::Revoked { by, at } => {
            format!("Access revoked by {} at {}.", by.mention(), format_utc_time(*at))
        }
    };
    match super::break_glass::status_line(req) {
        Some(line) => format!("{head} {tail} {line}"),
        None => format!("{head} {tail}"),
    }
}

/// The header of the request message: `Firefighter rw access request: INC-7`.
pub fn request_title(req: &Request) -> String {
    if req.break_glass().is_some() {
        let mark = super::break_glass::MARK;
        return format!("{mark}: firefighter {} access: {}", req.level(), req.incident());
    }
    format!("Firefighter {} access request: {}", req.level(), req.incident())
}

/// The footer of the request message: who may approve while it is pending, else its state;
/// and its id.
pub fn request_footer(req: &Request, approvers_hint: &str) -> String {
    if matches!(req.state(), RequestState::Pending) {
        format!("Who may approve: {approvers_hint}. Request id {}.", req.id())
    } else {
        format!("State: {}. Request id {}.", req.state().name(), req.id())
    }
}

/// How the approvers are named in the request message: their mentions and the user group's
/// (`<!subteam^S..>`), or that nobody is configured.
pub fn approvers_hint(approvers: &[SlackUserId], group: Option<&str>) -> String {
    let mut parts: Vec<String> = approvers.iter().map(SlackUserId::mention).collect();
    if let Some(group) = group {
        parts.push(format!("<!subteam^{group}>"));
    }
    if parts.is_empty() {
        "nobody is configured".into()
    } else {
        parts.join(", ")
    }
}
