//! The help texts of `/firefighter help` (with the configured example, thresholds and
//! durations) and `/pgroles help`.

use super::time::format_duration;
use crate::access::settings::AccessConfig;

/// The `/firefighter help` text, with the configured example, thresholds and durations.
pub fn firefighter_help(cfg: &AccessConfig) -> String {
    let ex = &cfg.incident_example;
    let approvals =
        |n: u32| if n == 1 { "1 approval".to_owned() } else { format!("{n} approvals") };
    [
        "/firefighter gives you temporary PostgreSQL access for an incident.".to_owned(),
        "/firefighter alone: a form to fill in (level, incident, duration, reason)".to_owned(),
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
        "/firefighter done: you are finished: end your own access now".to_owned(),
        "/firefighter extend [ro|rw] <duration>: ask the approvers for more time (at most 2h \
         after issue)"
            .to_owned(),
        "/firefighter history [incident | @user] [days]: who had access, approved, extended, \
         ended (yours; approvers see everyone's)"
            .to_owned(),
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
    .into_iter()
    .chain(break_glass_line(cfg))
    .collect::<Vec<_>>()
    .join("\n")
}

/// How to break glass, when the bot allows it.
fn break_glass_line(cfg: &AccessConfig) -> Option<String> {
    use crate::access::break_glass::BreakGlassMode;
    let when = match cfg.break_glass {
        BreakGlassMode::Off => return None,
        BreakGlassMode::AfterTimeout => "after a normal request for the incident timed out",
        BreakGlassMode::Immediate => "when nobody can approve in time",
    };
    Some(format!(
        "/firefighter ro|rw {} [duration] break-glass <reason>: {when}, access at once without \
         approval (at most {}); everyone is told and an approver must review it afterwards",
        cfg.incident_example,
        format_duration(cfg.break_glass_max_secs.min(cfg.max_duration_secs))
    ))
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
