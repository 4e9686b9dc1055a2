//! The commands about live grants: `/firefighter status`, `revoke ro|rw [@user]`, `resend` and
//! `activity [@user]`, for both identities (`access.identity`): with per-person logins a level
//! has up to `access.max_holders_per_level` holders, each revoked, resent and summarised on
//! their own; with the shared roles, at most one.
//!
//! In a fleet each target is listed, revoked and resent on its own; a command that names no
//! target looks at every target, and refuses when that is ambiguous.
//!
//! Owns who may see or end whose grant here (the decisions are `access::can_revoke` and the
//! status visibility); wording from `access::text`.

use super::fleet::Target;
use super::open::as_grant;
use super::Workflow;
use crate::access::text::activity::activity_summary;
use crate::access::text::{format_expiry, reply};
use crate::access::{can_revoke, Rejection, SlackUserId};
use crate::broker::activity::DEFAULT_TOP_STATEMENTS;
use crate::grants::{GrantError, GrantRecord};
use crate::model::Level;
use std::sync::Arc;

impl Workflow {
    pub(super) async fn status(&self, user: &SlackUserId) -> (&'static str, String) {
        let now = self.now();
        let full = self.sees_full_status(user).await;
        let mut lines = Vec::new();
        let named = self.inner.fleet.is_named();
        for (target, level) in self.targets_and_levels() {
            if named && level == Level::Ro {
                lines.push(format!("*{}*", target.name));
            }
            let grants = match target.grants.active_grants(level).await {
                Ok(grants) => grants,
                Err(e) => return ("error", e.user_message()),
            };
            let (shown, hidden): (Vec<_>, Vec<_>) =
                grants.iter().partition(|g| full || g.holder == *user);
            for g in &shown {
                let expiry = format_expiry(g.expires_at, now);
                let line = reply::status_held_by(level, &g.holder, &g.incident, &expiry);
                lines.push(match &g.login {
                    Some(login) => reply::with_login(&line, login),
                    None => line,
                });
            }
            if !hidden.is_empty() {
                lines.push(reply::status_held(level));
            }
            if grants.is_empty() {
                lines.push(reply::status_free(level));
            }
        }
        match self.inner.store.open_requests(now).await {
            Ok(open) => {
                for r in open.into_iter().filter(|r| full || r.requester() == user) {
                    if let Some(t) = r.target() {
                        lines.push(format!("*{t}*"));
                    }
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

    /// Which grant `revoke ro|rw [@user]` means: the named holder's; without a name, the
    /// caller's own, else the level's only one; several holders and no name is refused (a
    /// typo must not end everybody's access: `pgroles revoke` is the kill switch).
    async fn grant_to_revoke(
        &self,
        target: &Target,
        by: &SlackUserId,
        level: Level,
        holder: Option<&SlackUserId>,
    ) -> Result<GrantRecord, (&'static str, String)> {
        let grants = target.grants.active_grants(level).await.map_err(|e| failed(&e))?;
        let nothing = || ("rejected", Rejection::NothingToRevoke { level }.user_message());
        match holder {
            Some(h) => grants
                .into_iter()
                .find(|g| g.holder == *h)
                .ok_or_else(|| ("rejected", reply::holds_nothing(level, h))),
            None => {
                if let Some(own) = grants.iter().find(|g| g.holder == *by) {
                    return Ok(own.clone());
                }
                if grants.len() > 1 {
                    let holders: Vec<_> = grants.iter().map(|g| g.holder.clone()).collect();
                    return Err(("rejected", reply::revoke_which(level, &holders)));
                }
                grants.into_iter().next().ok_or_else(nothing)
            }
        }
    }

    /// The target `revoke` means: the named one, the only one, else the one target where the
    /// level has a grant matching the command (several: refused, naming them).
    async fn target_to_revoke(
        &self,
        by: &SlackUserId,
        target: Option<&str>,
        level: Level,
        holder: Option<&SlackUserId>,
    ) -> Result<Arc<Target>, (&'static str, String)> {
        if let Some(t) = self.inner.fleet.get(target) {
            return Ok(t.clone());
        }
        let mut found = Vec::new();
        for t in self.inner.fleet.all() {
            let grants = t.grants.active_grants(level).await.map_err(|e| failed(&e))?;
            let wanted = holder.unwrap_or(by);
            if grants.iter().any(|g| g.holder == *wanted)
                || (holder.is_none() && !grants.is_empty())
            {
                found.push(t.clone());
            }
        }
        match found.len() {
            0 => Err(("rejected", Rejection::NothingToRevoke { level }.user_message())),
            1 => Ok(found.remove(0)),
            _ => {
                let names: Vec<_> = found.iter().map(|t| t.name.clone()).collect();
                Err(("rejected", reply::revoke_which_target(level, &names)))
            }
        }
    }

    pub(super) async fn revoke(
        &self,
        by: &SlackUserId,
        target: Option<&str>,
        level: Level,
        holder: Option<&SlackUserId>,
    ) -> (&'static str, String) {
        let target = match self.target_to_revoke(by, target, level, holder).await {
            Ok(t) => t,
            Err(refused) => return refused,
        };
        let grant = match self.grant_to_revoke(&target, by, level, holder).await {
            Ok(g) => g,
            Err(refused) => return refused,
        };
        let policy = match target.approvers.policy().await {
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
        match target.grants.revoke_holder(level, &grant.holder, by.as_str()).await {
            Ok(n) => {
                ("ok", format!("{}{}", reply::revoked(level, n), target.label(&self.inner.fleet)))
            }
            Err(GrantError::NotActive) => {
                ("rejected", Rejection::NothingToRevoke { level }.user_message())
            }
            Err(e) => failed(&e),
        }
    }

    pub(super) async fn resend(&self, user: &SlackUserId) -> (&'static str, String) {
        for (target, level) in self.targets_and_levels() {
            match target.grants.active_of(level, user).await {
                Ok(Some(_)) => {
                    return match target.grants.resend(level, user).await {
                        Ok(_) => ("ok", reply::resent(level)),
                        Err(e) => failed(&e),
                    };
                }
                Ok(None) => {}
                Err(e) => return failed(&e),
            }
        }
        ("rejected", Rejection::NothingToResend.user_message())
    }

    /// `/firefighter done [target]`: ends every grant `user` holds (on `target` only, when
    /// named), as a revoke by the holder themselves: password or login ended, sessions ended on
    /// every instance, the thread and the DM say it was released.
    pub(super) async fn done(
        &self,
        user: &SlackUserId,
        target: Option<&str>,
    ) -> (&'static str, String) {
        self.release(user, target, None).await
    }

    /// [`Workflow::done`] for one level (the reminder's "I'm done" button).
    pub(super) async fn done_level(
        &self,
        user: &SlackUserId,
        target: Option<&str>,
        level: Level,
    ) -> (&'static str, String) {
        self.release(user, target, Some(level)).await
    }

    async fn release(
        &self,
        user: &SlackUserId,
        target: Option<&str>,
        only: Option<Level>,
    ) -> (&'static str, String) {
        let mut lines = Vec::new();
        for (t, level) in self.targets_and_levels() {
            if target.is_some_and(|name| name != t.name) || only.is_some_and(|l| l != level) {
                continue;
            }
            match t.grants.active_of(level, user).await {
                Ok(Some(_)) => {}
                Ok(None) => continue,
                Err(e) => return failed(&e),
            }
            match t.grants.revoke_holder(level, user, user.as_str()).await {
                Ok(n) => lines.push(format!(
                    "{}{}",
                    reply::released(level, n),
                    t.label(&self.inner.fleet)
                )),
                Err(GrantError::NotActive) => {}
                Err(e) => return failed(&e),
            }
        }
        if lines.is_empty() {
            return ("rejected", reply::NOTHING_TO_RELEASE.into());
        }
        ("ok", lines.join("\n"))
    }

    /// `/firefighter activity [@user]`: the summary of each live per-person login of `of`.
    /// Someone else's activity is for those who see the full status.
    pub(super) async fn activity(
        &self,
        user: &SlackUserId,
        target: Option<&str>,
        of: &SlackUserId,
    ) -> (&'static str, String) {
        if of != user && !self.sees_full_status(user).await {
            return ("rejected", reply::ACTIVITY_NOT_YOURS.into());
        }
        let mut parts = Vec::new();
        for (t, level) in self.targets_and_levels() {
            if target.is_some_and(|name| name != t.name) {
                continue;
            }
            let grant = match t.grants.active_of(level, of).await {
                Ok(Some(g)) => g,
                Ok(None) => continue,
                Err(e) => return failed(&e),
            };
            let Some(login) = &grant.login else {
                parts.push(reply::activity_shared(level));
                continue;
            };
            match t.grants.broker().person_activity(login, DEFAULT_TOP_STATEMENTS).await {
                Ok(a) => parts.push(activity_summary(&a)),
                Err(e) => {
                    tracing::warn!(error = %e, level = %level, "reading activity failed");
                    parts.push(reply::activity_unavailable(level));
                }
            }
        }
        if parts.is_empty() {
            return ("rejected", reply::holds_nothing_at_all(of));
        }
        ("ok", parts.join("\n\n"))
    }
}

impl Workflow {
    /// Every (target, level), targets in name order, `ro` before `rw`.
    pub(super) fn targets_and_levels(&self) -> Vec<(Arc<Target>, Level)> {
        let targets = self.inner.fleet.all();
        targets.iter().flat_map(|t| [(t.clone(), Level::Ro), (t.clone(), Level::Rw)]).collect()
    }
}

fn failed(e: &GrantError) -> (&'static str, String) {
    ("error", e.user_message())
}
