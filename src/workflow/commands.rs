//! Slash commands: parse, answer within Slack's 3 s, and run the slow part in a spawned task
//! that replies through the command's response_url (`status`, `revoke`, `resend`, requests).
//!
//! Owns the sequencing of each command. Decisions come from [`crate::access`] (`Command`,
//! `can_revoke`, rejections) and the grant service; wording from `access::text` and the errors'
//! `user_message`.

use super::port::Reply;
use super::{CommandInput, Workflow};
use crate::access::text::{firefighter_help, format_expiry, pgroles_help, reply};
use crate::access::{can_revoke, Command, Grant, Rejection, RequestId, SlackUserId};
use crate::config::StatusVisibility;
use crate::grants::{GrantError, GrantRecord};
use crate::model::Level;

impl Workflow {
    /// Handles a verified slash command; returns the immediate answer (an ephemeral message),
    /// and continues slow work in the background.
    pub async fn on_command(&self, input: CommandInput) -> Reply {
        let s = &self.inner.settings;
        let parsed = Command::parse_with(&input.command, &input.text, &s.rules);
        let cmd = match parsed {
            Ok(cmd) => cmd,
            Err(rejection) => {
                self.inner.metrics.request("invalid", "rejected");
                return Reply::Text(rejection.user_message());
            }
        };
        let Ok(user) = SlackUserId::parse(&input.user) else {
            return Reply::Text(Rejection::InvalidUserId.user_message());
        };
        let label = label(&cmd);
        match cmd {
            Command::Help => {
                self.inner.metrics.request(label, "ok");
                Reply::Sections(firefighter_help(&s.access))
            }
            Command::PgrolesHelp => {
                self.inner.metrics.request(label, "ok");
                Reply::Sections(pgroles_help())
            }
            Command::Verify { post } => {
                let allowed = s.verify_users.iter().any(|u| u == user.as_str())
                    || s.verify_channels.iter().any(|c| c == &input.channel);
                if !allowed {
                    self.inner.metrics.request(label, "rejected");
                    return Reply::Text(Rejection::NotAllowedToVerify.user_message());
                }
                let wf = self.clone();
                wf.clone().spawn(async move { wf.verify(input, post).await });
                Reply::Text(reply::CHECKING_THE_DATABASE.to_owned())
            }
            Command::Request { level, incident, duration } => {
                self.request_access(input, user, level, incident, duration).await
            }
            Command::Status | Command::Revoke { .. } | Command::Resend => {
                let wf = self.clone();
                wf.clone().spawn(async move {
                    let (outcome, reply) = match cmd {
                        Command::Revoke { level } => wf.revoke(&user, level).await,
                        Command::Resend => wf.resend(&user).await,
                        _ => wf.status(&user).await,
                    };
                    wf.inner.metrics.request(label, outcome);
                    wf.reply(&input, &reply).await;
                });
                Reply::Text(reply::WORKING_ON_IT.to_owned())
            }
        }
    }

    pub(super) async fn reply(&self, input: &CommandInput, text: &str) {
        let msg = Reply::Sections(text.to_owned());
        self.inner.chat.respond(&input.response_url, &input.channel, &input.user, &msg).await;
    }

    /// Whether `user` sees `/firefighter status` in full (`access.status_visibility`). Fails
    /// closed: if the approvers cannot be read, only admins do.
    async fn sees_full_status(&self, user: &SlackUserId) -> bool {
        let s = &self.inner.settings;
        if s.access.status_visibility == StatusVisibility::Everyone || s.admins.contains(user) {
            return true;
        }
        self.inner.approvers.policy().await.is_ok_and(|p| p.is_approver(user))
    }

    async fn status(&self, user: &SlackUserId) -> (&'static str, String) {
        let now = self.now();
        let full = self.sees_full_status(user).await;
        let mut lines = Vec::new();
        for level in [Level::Ro, Level::Rw] {
            match self.inner.grants.active(level).await {
                Ok(Some(g)) if g.is_active(now) && (full || g.holder == *user) => {
                    let expiry = format_expiry(g.expires_at, now);
                    lines.push(reply::status_held_by(level, &g.holder, &g.incident, &expiry));
                }
                Ok(Some(g)) if g.is_active(now) => lines.push(reply::status_held(level)),
                Ok(_) => lines.push(reply::status_free(level)),
                Err(e) => return ("error", e.user_message()),
            }
        }
        match self.inner.store.open_requests(now).await {
            Ok(open) => {
                for r in open.into_iter().filter(|r| full || r.requester() == user) {
                    lines.push(reply::status_pending(
                        r.level(),
                        r.requester(),
                        r.incident(),
                        r.approvals().len(),
                        r.needed(),
                        &format_expiry(r.approval_deadline(), now),
                    ));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing open requests failed");
                lines.push(reply::STATUS_PENDING_UNAVAILABLE.into());
            }
        }
        if !full {
            lines.push(reply::STATUS_ONLY_YOURS.into());
        }
        ("ok", lines.join("\n"))
    }

    async fn revoke(&self, by: &SlackUserId, level: Level) -> (&'static str, String) {
        let grant = match self.inner.grants.active(level).await {
            Ok(Some(g)) => g,
            Ok(None) => return ("rejected", Rejection::NothingToRevoke { level }.user_message()),
            Err(e) => return ("error", e.user_message()),
        };
        let policy = match self.inner.approvers.policy().await {
            Ok(p) => p,
            Err(_) => return ("error", Rejection::Misconfigured.user_message()),
        };
        let allowed = match as_grant(&grant) {
            Some(g) => can_revoke(by, &g, &policy, &self.inner.settings.admins),
            // A grant issued outside Slack (`cli:` holder): approvers and admins only.
            None if policy.is_approver(by) || self.inner.settings.admins.contains(by) => Ok(()),
            None => return ("rejected", reply::revoke_needs_approver(level)),
        };
        if let Err(rejection) = allowed {
            return ("rejected", rejection.user_message());
        }
        match self.inner.grants.revoke(level, by.as_str()).await {
            Ok(n) => ("ok", reply::revoked(level, n)),
            Err(GrantError::NotActive) => {
                ("rejected", Rejection::NothingToRevoke { level }.user_message())
            }
            Err(e) => ("error", e.user_message()),
        }
    }

    async fn resend(&self, user: &SlackUserId) -> (&'static str, String) {
        for level in [Level::Ro, Level::Rw] {
            match self.inner.grants.active(level).await {
                Ok(Some(g)) if g.holder == *user => {
                    return match self.inner.grants.resend(level, user).await {
                        Ok(_) => ("ok", reply::resent(level)),
                        Err(e) => ("error", e.user_message()),
                    };
                }
                Ok(_) => {}
                Err(e) => return ("error", e.user_message()),
            }
        }
        ("rejected", Rejection::NothingToResend.user_message())
    }
}

fn label(cmd: &Command) -> &'static str {
    match cmd {
        Command::Request { level: Level::Ro, .. } => "ro",
        Command::Request { level: Level::Rw, .. } => "rw",
        Command::Status => "status",
        Command::Revoke { .. } => "revoke",
        Command::Resend => "resend",
        Command::Help => "help",
        Command::Verify { .. } => "verify",
        Command::PgrolesHelp => "pgroles_help",
    }
}

/// The access domain's view of a stored grant: its request, else its own id, names it (None if
/// neither is a request id).
pub(super) fn as_grant(g: &GrantRecord) -> Option<Grant> {
    Some(Grant {
        level: g.level,
        holder: g.holder.clone(),
        incident: g.incident.clone(),
        granted_at: g.granted_at,
        expires_at: g.expires_at,
        request_id: match &g.request_id {
            Some(id) => id.clone(),
            None => RequestId::parse(&g.id).ok()?,
        },
    })
}
