//! The grant service's [`Notifier`], implemented by [`SlackBot`]: the password as an ephemeral
//! message in the holder's DM (fail closed, never queued), and every other grant event as a note
//! in the request's thread (through the outbox), a DM to the holder where it concerns them, and
//! the request message brought up to date.
//!
//! Owns the wording of the grant events' notes. Must not decide anything about access; the
//! password is rendered only in `deliver` and goes only to the holder's DM.

use crate::access::text::{format_expiry, format_utc_time};
use crate::access::{Request, SlackUserId};
use crate::broker::TempPassword;
use crate::grants::{GrantEvent, GrantRecord, Notifier};
use crate::slack::notes;
use crate::slack::notifier::{GrantContext, SlackBot};
use crate::slack::render::{self, ConnectInfo, Rendered};
use anyhow::anyhow;

fn mention(user: &str) -> String {
    SlackUserId::parse(user).map(|u| u.mention()).unwrap_or_else(|_| user.to_owned())
}

#[async_trait::async_trait]
impl Notifier for SlackBot {
    async fn deliver(&self, grant: &GrantRecord, password: &TempPassword) -> anyhow::Result<()> {
        let info = ConnectInfo {
            host: self.connect.host.clone(),
            port: self.connect.port,
            dbname: self.connect.dbname.clone(),
            role: grant.role.clone(),
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
                let text = format!(
                    "Your {} access for {} ends at {when}. Request it again if you still need it.",
                    grant.level, grant.incident
                );
                let sent = self.dm_ephemeral(grant.holder.as_str(), &Rendered::text(&text)).await;
                let note = match sent {
                    Ok(()) => format!(
                        "Reminder sent to {}: access ends at {when}.",
                        grant.holder.mention()
                    ),
                    Err(e) => format!(
                        "Could not remind {} by DM ({}); access ends at {when}.",
                        grant.holder.mention(),
                        e.code
                    ),
                };
                self.audit(&ctx, &note).await;
            }
            GrantEvent::Expired { grant, sessions_ended } => {
                self.metrics.expiry(sessions_ended);
                let ctx = GrantContext::of(grant);
                let text = format!(
                    "Password expired: {} access of {} for {} ended at {}; {} ended.",
                    grant.level,
                    grant.holder.mention(),
                    grant.incident,
                    format_utc_time(now),
                    sessions(sessions_ended)
                );
                self.audit(&ctx, &text).await;
                // The request may end a moment after the grant; the grant's end is what counts.
                self.advance_request(&ctx, |r| r.on_expired(now.max(request_end(r)))).await;
            }
            GrantEvent::Resent { grant } => {
                let text = notes::resent(grant.level.as_str(), grant.holder.as_str());
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::Revoked { grant, by, sessions_ended } => {
                self.metrics.sessions(sessions_ended);
                let ctx = GrantContext::of(grant);
                let text = format!(
                    "Access revoked by {}: the {} password of {} expired; {} ended.",
                    mention(by),
                    grant.level,
                    grant.holder.mention(),
                    sessions(sessions_ended)
                );
                self.audit(&ctx, &text).await;
                let dm = notes::revoked(
                    grant.level.as_str(),
                    grant.incident.as_str(),
                    by,
                    &sessions(sessions_ended),
                );
                self.dm_note(grant.holder.as_str(), &dm).await;
                if let Ok(by) = SlackUserId::parse(by) {
                    self.advance_request(&ctx, |r| r.on_revoked(&by, now)).await;
                }
            }
            GrantEvent::TakenOver { previous, by } => {
                let text = format!(
                    "{} took {} over for {}; the previous password of {} no longer works.",
                    by.holder.mention(),
                    by.level,
                    by.incident,
                    previous.holder.mention()
                );
                self.audit(&GrantContext::of(previous), &text).await;
            }
            GrantEvent::DeliveryFailed { grant, reason } => {
                let text = format!(
                    "The password could not be delivered to {} by DM ({reason}), so it was \
                     expired again right away. Please request access again.",
                    grant.holder.mention()
                );
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::ExpiryDelayed { grant, .. } => {
                let text = format!(
                    "The {} password of {} could not be expired yet (database unreachable); \
                     retrying. The database itself caps it at {}.",
                    grant.level,
                    grant.holder.mention(),
                    format_utc_time(grant.db_valid_until)
                );
                self.audit(&GrantContext::of(grant), &text).await;
            }
            GrantEvent::Restored { role, expires_at } => {
                let text = format!(
                    "Found {role} with a live password and no expiry timer; it will be expired at {}.",
                    format_utc_time(expires_at)
                );
                self.audit(&GrantContext::default(), &text).await;
            }
            GrantEvent::OrphanSessionsEnded { role, sessions_ended } => {
                let text = format!(
                    "Ended {} of {role}, which holds no active grant.",
                    sessions(sessions_ended)
                );
                self.audit(&GrantContext::default(), &text).await;
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

fn sessions(n: i32) -> String {
    if n == 1 {
        "1 session".into()
    } else {
        format!("{n} sessions")
    }
}
