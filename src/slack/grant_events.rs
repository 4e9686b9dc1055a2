//! The grant service's [`Notifier`], implemented by [`SlackBot`]: the password as an ephemeral
//! message in the holder's DM (fail closed, never queued), and every other grant event as a note
//! in the request's thread (through the outbox), a DM to the holder where it concerns them, and
//! the request message brought up to date.
//!
//! Owns where each grant event is told; the wording is `access::text::grant`'s. Must not
//! decide anything about access; the password is rendered only in `deliver` and goes only to
//! the holder's DM.

use crate::access::text::{dm, format_expiry, format_utc_time, grant as grant_text};
use crate::access::{Request, SlackUserId};
use crate::broker::TempPassword;
use crate::grants::{GrantEvent, GrantRecord, Notifier};
use crate::slack::notifier::SlackBot;
use crate::slack::render::{self, ConnectInfo};
use crate::workflow::port::GrantContext;
use anyhow::anyhow;

#[async_trait::async_trait]
impl Notifier for SlackBot {
    async fn deliver(&self, grant: &GrantRecord, password: &TempPassword) -> anyhow::Result<()> {
        let info = ConnectInfo {
            host: self.connect.host.clone(),
            port: self.connect.port,
            dbname: self.connect.dbname.clone(),
            role: grant.db_user().to_owned(),
            sslmode: self.connect.sslmode.clone(),
        };
        let msg = render::credentials(
            grant.level.as_str(),
            grant.incident.as_str(),
            &info,
            password,
            grant.expires_at,
            self.clock.now(),
        );
        self.dm_secret(grant.holder.as_str(), &msg)
            .await
            .map_err(|e| anyhow!("Slack {} failed: {}", e.method, e.code))
    }

    async fn notify(&self, event: GrantEvent<'_>) -> anyhow::Result<()> {
        let now = self.clock.now();
        match event {
            GrantEvent::Reminder { grant } => {
                let ctx = GrantContext::of(grant);
                let when = format_expiry(grant.expires_at, now);
                let text = grant_text::reminder(grant.level, &grant.incident, &when);
                let msg = render::reminder(&text, grant.level.as_str(), self.target.as_deref());
                let sent = self.dm_ephemeral(grant.holder.as_str(), &msg).await;
                let note = match sent {
                    Ok(()) => grant_text::reminder_sent(&grant.holder, &when),
                    Err(e) => grant_text::reminder_failed(&grant.holder, &e.code, &when),
                };
                self.audit(&ctx, &note).await;
            }
            GrantEvent::Expired { grant, sessions_ended, activity } => {
                self.metrics.expiry(sessions_ended);
                let ctx = GrantContext::of(grant);
                let at = format_utc_time(now);
                let text = grant_text::expired(
                    grant.level,
                    &grant.holder,
                    &grant.incident,
                    &at,
                    sessions_ended,
                );
                let text =
                    grant_text::with_login_and_activity(&text, grant.login.as_deref(), activity);
                self.audit(&ctx, &text).await;
                // The request may end a moment after the grant; the grant's end is what counts.
                self.advance_request(&ctx, |r| r.on_expired(now.max(request_end(r)))).await;
            }
            GrantEvent::Extended { grant, by } => {
                let until = format_expiry(grant.expires_at, now);
                let text = grant_text::extended(by, grant.level, &grant.holder, &until);
                self.audit(&GrantContext::of(grant), &text).await;
                let dm = dm::extended(grant.level, &grant.incident, &until);
                self.dm_note(grant.holder.as_str(), &dm).await;
            }
            GrantEvent::Resent { grant } => {
                let text = dm::resent(grant.level, &grant.holder);
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::Revoked { grant, by, sessions_ended, activity } => {
                self.metrics.sessions(sessions_ended);
                let ctx = GrantContext::of(grant);
                let text = grant_text::revoked(by, grant.level, &grant.holder, sessions_ended);
                let text =
                    grant_text::with_login_and_activity(&text, grant.login.as_deref(), activity);
                self.audit(&ctx, &text).await;
                let sessions = grant_text::sessions(sessions_ended);
                let dm = if by == grant.holder.as_str() {
                    dm::released(grant.level, &grant.incident, &sessions)
                } else {
                    dm::revoked(grant.level, &grant.incident, by, &sessions)
                };
                self.dm_note(grant.holder.as_str(), &dm).await;
                if let Ok(by) = SlackUserId::parse(by) {
                    self.advance_request(&ctx, |r| r.on_revoked(&by, now)).await;
                }
            }
            GrantEvent::TakenOver { previous, by } => {
                let text =
                    grant_text::taken_over(&by.holder, by.level, &by.incident, &previous.holder);
                self.audit(&GrantContext::of(previous), &text).await;
            }
            GrantEvent::DeliveryFailed { grant, reason } => {
                let text = grant_text::delivery_failed(&grant.holder, reason);
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::ExpiryDelayed { grant, .. } => {
                let cap = format_utc_time(grant.db_valid_until);
                let text = grant_text::expiry_delayed(grant.level, &grant.holder, &cap);
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::Restored { role, expires_at } => {
                let text = grant_text::restored(role, &format_utc_time(expires_at));
                self.audit(&GrantContext::default(), &text).await;
            }
            GrantEvent::OrphanSessionsEnded { role, sessions_ended } => {
                let text = grant_text::orphan_sessions_ended(role, sessions_ended);
                self.audit(&GrantContext::default(), &text).await;
            }
            GrantEvent::InstancesUnreachable { grant, instances } => {
                let text = grant_text::instances_unreachable(grant.db_user(), instances);
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::InstanceSwept { grant, role, instance, sessions_ended } => {
                if let Some(n) = sessions_ended {
                    self.metrics.sessions(n);
                }
                let text = grant_text::instance_swept(role, instance, sessions_ended);
                self.audit(&grant.map(GrantContext::of).unwrap_or_default(), &text).await;
            }
        }
        Ok(())
    }
}

fn request_end(r: &Request) -> chrono::DateTime<chrono::Utc> {
    match r.state() {
        crate::access::RequestState::Issued { expires_at, .. } => *expires_at,
        _ => chrono::DateTime::<chrono::Utc>::MIN_UTC,
    }
}
