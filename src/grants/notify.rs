//! What the grant service tells the outside world: the [`Notifier`] seam (the bot implements it
//! with Slack messages) and [`LogNotifier`], used by `pgroles worker` where there is no Slack.
//!
//! Owns the event vocabulary. Only [`Notifier::deliver`] ever sees a password; events carry
//! records, names and counts. Must not know Slack types.

use super::record::GrantRecord;
use crate::access::activity::PersonActivity;
use crate::broker::TempPassword;
use anyhow::Context;
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::PathBuf;

/// Something that happened to a grant. Never carries a secret.
#[derive(Debug, Clone, Copy)]
pub enum GrantEvent<'a> {
    /// The grant ends in `reminder_before`.
    Reminder { grant: &'a GrantRecord },
    /// The grant ended on time: password expired, `sessions_ended` sessions closed;
    /// `activity`: what its per-person login did, where it could be read.
    Expired { grant: &'a GrantRecord, sessions_ended: i32, activity: Option<&'a PersonActivity> },
    /// The holder rotated their password (`/firefighter resend`); the grant is unchanged.
    Resent { grant: &'a GrantRecord },
    /// The grant's end moved later (`/firefighter extend`, approved by `by`).
    Extended { grant: &'a GrantRecord, by: &'a str },
    /// Someone ended the grant early.
    Revoked {
        grant: &'a GrantRecord,
        by: &'a str,
        sessions_ended: i32,
        activity: Option<&'a PersonActivity>,
    },
    /// `by` took the level over; the previous holder's password no longer works.
    TakenOver { previous: &'a GrantRecord, by: &'a GrantRecord },
    /// The password could not be delivered; it was expired again at once.
    DeliveryFailed { grant: &'a GrantRecord, reason: &'a str },
    /// PostgreSQL could not be reached at expiry; the expiry is retried.
    ExpiryDelayed { grant: &'a GrantRecord, reason: &'a str },
    /// The reconciler re-created a lost Expire timer for a live role.
    Restored { role: &'a str, expires_at: DateTime<Utc> },
    /// The reconciler ended sessions of a role that holds no active grant.
    OrphanSessionsEnded { role: &'a str, sessions_ended: i32 },
    /// Ending the grant's sessions failed on these instances (`host:port`); retried until they
    /// answer. The password or login is already ended on the writer.
    InstancesUnreachable { grant: &'a GrantRecord, instances: &'a [String] },
    /// A retried instance answered: `sessions_ended` of `role` ended there; `None`: it never
    /// answered and the retries stopped. `grant`: its record, where still kept.
    InstanceSwept {
        grant: Option<&'a GrantRecord>,
        role: &'a str,
        instance: &'a str,
        sessions_ended: Option<i32>,
    },
}

impl GrantEvent<'_> {
    /// Short machine name of the event, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            GrantEvent::Reminder { .. } => "reminder",
            GrantEvent::Expired { .. } => "expired",
            GrantEvent::Resent { .. } => "resent",
            GrantEvent::Extended { .. } => "extended",
            GrantEvent::Revoked { .. } => "revoked",
            GrantEvent::TakenOver { .. } => "taken_over",
            GrantEvent::DeliveryFailed { .. } => "delivery_failed",
            GrantEvent::ExpiryDelayed { .. } => "expiry_delayed",
            GrantEvent::Restored { .. } => "restored",
            GrantEvent::OrphanSessionsEnded { .. } => "orphan_sessions_ended",
            GrantEvent::InstancesUnreachable { .. } => "instances_unreachable",
            GrantEvent::InstanceSwept { .. } => "instance_swept",
        }
    }
}

/// Where grant events and passwords go (the bot: Slack DMs and the audit channel).
#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers the password to the holder. `Err` makes the service expire the password at once
    /// and emit [`GrantEvent::DeliveryFailed`]. The error is logged: it must not hold the secret.
    async fn deliver(&self, grant: &GrantRecord, password: &TempPassword) -> anyhow::Result<()>;
    /// Everything else. Errors are logged, never fatal.
    async fn notify(&self, event: GrantEvent<'_>) -> anyhow::Result<()>;
}

/// Logs events (no secrets) with `tracing`. Delivery fails unless a delivery file is set, so a
/// grant issued by a process without Slack is expired again at once instead of living unseen.
#[derive(Debug, Clone, Default)]
pub struct LogNotifier {
    delivery: Option<PathBuf>,
}

impl LogNotifier {
    pub fn new() -> LogNotifier {
        LogNotifier::default()
    }

    /// Deliver passwords into `path`: a new file created with mode 0600 (it must not exist:
    /// no password is ever appended to an old file), or `/dev/fd/<n>` (an inherited descriptor,
    /// e.g. a pipe to a secrets tool). Nothing is printed to stdout or logs.
    pub fn with_delivery_file(path: impl Into<PathBuf>) -> LogNotifier {
        LogNotifier { delivery: Some(path.into()) }
    }

    fn write_password(&self, grant: &GrantRecord, password: &TempPassword) -> anyhow::Result<()> {
        let Some(path) = &self.delivery else {
            anyhow::bail!("no delivery channel: this process has no Slack and no delivery file");
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true);
        if !path.starts_with("/dev/fd") {
            opts.create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        }
        let mut file =
            opts.open(path).with_context(|| format!("opening delivery file {}", path.display()))?;
        let line = zeroize::Zeroizing::new(format!(
            "role={} level={} expires_at={} password={}\n",
            grant.role,
            grant.level,
            grant.expires_at.to_rfc3339(),
            password.expose_for_delivery()
        ));
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .with_context(|| format!("writing delivery file {}", path.display()))
    }
}

#[async_trait::async_trait]
impl Notifier for LogNotifier {
    async fn deliver(&self, grant: &GrantRecord, password: &TempPassword) -> anyhow::Result<()> {
        self.write_password(grant, password)?;
        tracing::info!(grant_id = %grant.id, level = %grant.level, incident = %grant.incident,
            "password delivered to the delivery file");
        Ok(())
    }

    async fn notify(&self, event: GrantEvent<'_>) -> anyhow::Result<()> {
        let name = event.name();
        match event {
            GrantEvent::Reminder { grant } => tracing::info!(event = name, grant_id = %grant.id,
                level = %grant.level, incident = %grant.incident, holder = %grant.holder,
                expires_at = %grant.expires_at, "grant ends soon"),
            GrantEvent::Expired { grant, sessions_ended, .. } => tracing::info!(event = name,
                grant_id = %grant.id, level = %grant.level, incident = %grant.incident,
                sessions_ended, "grant expired"),
            GrantEvent::Resent { grant } => tracing::info!(event = name, grant_id = %grant.id,
                level = %grant.level, incident = %grant.incident, "password rotated"),
            GrantEvent::Extended { grant, by } => tracing::info!(event = name,
                grant_id = %grant.id, level = %grant.level, incident = %grant.incident, by,
                expires_at = %grant.expires_at, "grant extended"),
            GrantEvent::Revoked { grant, by, sessions_ended, .. } => tracing::info!(event = name,
                grant_id = %grant.id, level = %grant.level, incident = %grant.incident, by,
                sessions_ended, "grant revoked"),
            GrantEvent::TakenOver { previous, by } => tracing::info!(event = name,
                grant_id = %by.id, previous_grant_id = %previous.id, level = %by.level,
                incident = %by.incident, previous_holder = %previous.holder, holder = %by.holder,
                "grant taken over"),
            GrantEvent::DeliveryFailed { grant, reason } => tracing::warn!(event = name,
                grant_id = %grant.id, level = %grant.level, incident = %grant.incident, reason,
                "password not delivered; expired again"),
            GrantEvent::ExpiryDelayed { grant, reason } => tracing::warn!(event = name,
                grant_id = %grant.id, level = %grant.level, incident = %grant.incident, reason,
                "expiry delayed; retrying"),
            GrantEvent::Restored { role, expires_at } => tracing::warn!(event = name, role,
                %expires_at, "expiry timer restored"),
            GrantEvent::OrphanSessionsEnded { role, sessions_ended } => {
                tracing::warn!(event = name, role, sessions_ended, "sessions without a grant ended")
            }
            GrantEvent::InstancesUnreachable { grant, instances } => tracing::warn!(event = name,
                grant_id = %grant.id, instances = %instances.join(","),
                "instances unreachable at the grant's end; retrying"),
            GrantEvent::InstanceSwept { role, instance, sessions_ended, .. } => {
                tracing::info!(event = name, role, instance, ?sessions_ended, "instance swept")
            }
        }
        Ok(())
    }
}
