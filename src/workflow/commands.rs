//! Slash commands: parse, answer within Slack's 3 s, and run the slow part in a spawned task
//! that replies through the command's response_url (requests here; `status`, `revoke`,
//! `resend` and `activity` in [`super::holders`]).
//!
//! Owns the sequencing of each command. Decisions come from [`crate::access`] (`Command`,
//! `can_revoke`, rejections) and the grant service; wording from `access::text` and the errors'
//! `user_message`.

use super::port::Reply;
use super::{CommandInput, Workflow};
use crate::access::text::{firefighter_help, pgroles_help, reply};
use crate::access::{Command, Rejection, SlackUserId};
use crate::config::StatusVisibility;
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
            Command::Form => self.open_form(input),
            Command::Help => {
                self.inner.metrics.request(label, "ok");
                Reply::Sections(firefighter_help(&s.access))
            }
            Command::PgrolesHelp => {
                self.inner.metrics.request(label, "ok");
                Reply::Sections(pgroles_help())
            }
            Command::Verify { scope, post } => {
                let allowed = s.verify_users.iter().any(|u| u == user.as_str())
                    || s.verify_channels.iter().any(|c| c == &input.channel);
                if !allowed {
                    self.inner.metrics.request(label, "rejected");
                    return Reply::Text(Rejection::NotAllowedToVerify.user_message());
                }
                let wf = self.clone();
                wf.clone().spawn(async move { wf.verify(input, scope, post).await });
                Reply::Text(reply::CHECKING_THE_DATABASE.to_owned())
            }
            Command::Request { level, target, incident, duration, reason, break_glass } => {
                let Some(target) = self.inner.fleet.get(target.as_deref()).cloned() else {
                    return Reply::Text(Rejection::Misconfigured.user_message());
                };
                let ask =
                    super::open::Ask { target, level, incident, duration, reason, break_glass };
                self.request_access(input, user, ask).await
            }
            Command::Status
            | Command::Revoke { .. }
            | Command::Resend
            | Command::Done { .. }
            | Command::Extend { .. }
            | Command::History { .. }
            | Command::Activity { .. } => {
                let wf = self.clone();
                wf.clone().spawn(async move {
                    let (outcome, reply) = match cmd {
                        Command::Revoke { level, target, holder } => {
                            wf.revoke(&user, target.as_deref(), level, holder.as_ref()).await
                        }
                        Command::Resend => wf.resend(&user).await,
                        Command::Done { target } => wf.done(&user, target.as_deref()).await,
                        Command::History { target, incident, user: of, days } => {
                            wf.history(&user, target.as_deref(), incident, of, days).await
                        }
                        Command::Extend { target, level, by } => {
                            wf.ask_extension(&user, target.as_deref(), level, by).await
                        }
                        Command::Activity { target, holder } => {
                            let of = holder.as_ref().unwrap_or(&user);
                            wf.activity(&user, target.as_deref(), of).await
                        }
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
    pub(super) async fn sees_full_status(&self, user: &SlackUserId) -> bool {
        let s = &self.inner.settings;
        if s.access.status_visibility == StatusVisibility::Everyone || s.admins.contains(user) {
            return true;
        }
        for target in self.inner.fleet.all() {
            if target.approvers.policy().await.is_ok_and(|p| p.is_approver(user)) {
                return true;
            }
        }
        false
    }
}

fn label(cmd: &Command) -> &'static str {
    match cmd {
        Command::Request { level: Level::Ro, .. } => "ro",
        Command::Request { level: Level::Rw, .. } => "rw",
        Command::Form => "form",
        Command::Status => "status",
        Command::Revoke { .. } => "revoke",
        Command::Resend => "resend",
        Command::Done { .. } => "done",
        Command::Extend { .. } => "extend",
        Command::History { .. } => "history",
        Command::Activity { .. } => "activity",
        Command::Help => "help",
        Command::Verify { .. } => "verify",
        Command::PgrolesHelp => "pgroles_help",
    }
}
