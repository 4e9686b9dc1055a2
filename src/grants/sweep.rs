//! Issue 16: an instance that could not be reached when a grant ended is swept later. One
//! `sweep` timer per (grant, instance) is retried with the worker's back-off until the instance
//! answers (its sessions of the grant's role that started before the end are ended there, the
//! count is recorded on the writer and told in the thread) or until [`SWEEP_GIVE_UP`] after the
//! end (told in the thread, so a person checks that instance by hand).
//!
//! Owns the sweep timer (id, payload, handler) and the ended grant's record kept for its notes.
//! The password or login was ended on the writer before any sweep is scheduled, so a sweep only
//! closes sessions that were already open; it never decides whether a grant ends.

use super::error::GrantError;
use super::instances::end_on;
use super::notify::GrantEvent;
use super::record::GrantRecord;
use super::service::{GrantService, ACTOR_TIMER};
use super::timers::TimerOutcome;
use crate::broker::ActionAudit;
use crate::timers::{keys, Timer, TimerKind, TimerPayload};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long an unreachable instance is retried after the grant's end.
pub const SWEEP_GIVE_UP: Duration = Duration::from_secs(24 * 3600);

/// The sweep timer of `grant_id` on `instance` (one per pair: re-scheduling replaces it).
pub fn sweep_timer_id(grant_id: &str, instance: &str) -> String {
    format!("sweep:{grant_id}:{instance}")
}

impl GrantService {
    /// Schedules a sweep of each of `failed` (`host:port`) for `rec`, which ended at `before`,
    /// and keeps `rec` for the notes. Best effort: a Redis failure is logged (the writer's end
    /// stands; the instance's sessions then end only by hand or with the next grant's end).
    pub(crate) async fn schedule_sweeps(
        &self,
        rec: &GrantRecord,
        failed: &[String],
        before: DateTime<Utc>,
    ) {
        let kept = self.store.put_new(&keys::ended_grant(&rec.id), rec, SWEEP_GIVE_UP * 2).await;
        if let Err(e) = kept {
            tracing::warn!(grant_id = %rec.id, error = %e, "keeping the ended grant failed");
        }
        let due = self.now() + self.settings.retry_base;
        let timers: Vec<Timer> = failed
            .iter()
            .map(|addr| {
                let payload = TimerPayload {
                    instance: Some(addr.clone()),
                    before_ms: Some(before.timestamp_millis()),
                    ..rec.payload()
                };
                Timer::new(sweep_timer_id(&rec.id, addr), TimerKind::Sweep, due, payload)
            })
            .collect();
        match self.queue.schedule_many(&timers).await {
            Ok(()) => self.watch.instance_sweep("unreachable", timers.len()),
            Err(e) => tracing::error!(grant_id = %rec.id, error = %e,
                "scheduling the sweep of unreachable instances failed"),
        }
    }

    /// Runs one sweep. `Err` (the instance still does not answer) retries it after the
    /// worker's back-off.
    pub(super) async fn on_sweep(&self, timer: &Timer) -> Result<TimerOutcome, GrantError> {
        let p = &timer.payload;
        let (Some(role), Some(addr), Some(before)) = (
            p.role.as_deref(),
            p.instance.as_deref(),
            p.before_ms.and_then(DateTime::from_timestamp_millis),
        ) else {
            tracing::warn!(timer_id = %timer.id, "sweep timer without role, instance or time");
            return Ok(TimerOutcome::Handled);
        };
        let Some(instance) = self.instances.get(addr) else {
            tracing::warn!(timer_id = %timer.id, instance = addr,
                "the instance is no longer configured; sweep dropped");
            return Ok(TimerOutcome::Handled);
        };
        let failure = match end_on(&instance, role, before).await {
            Ok(end) => {
                let audit = ActionAudit {
                    incident: p.incident.clone().unwrap_or_default(),
                    actor: ACTOR_TIMER.into(),
                };
                let counts = serde_json::json!({ addr: end.sessions_ended });
                self.record_on_writer(role, &audit, counts).await;
                self.finish_sweep(timer, role, addr, Some(end.sessions_ended)).await;
                return Ok(TimerOutcome::Handled);
            }
            Err(why) => why,
        };
        let age = (self.now() - before).to_std().unwrap_or_default();
        if age >= SWEEP_GIVE_UP {
            self.finish_sweep(timer, role, addr, None).await;
            return Ok(TimerOutcome::Handled);
        }
        tracing::info!(timer_id = %timer.id, instance = addr, reason = %failure,
            "instance still unreachable; the sweep is retried");
        Err(GrantError::Unavailable(anyhow::anyhow!("instance {addr} is unreachable: {failure}")))
    }

    /// Tells how a sweep ended (`None`: abandoned) in the ended grant's thread.
    async fn finish_sweep(&self, timer: &Timer, role: &str, addr: &str, n: Option<i32>) {
        let grant_id = timer.payload.grant_id.as_deref().unwrap_or_default();
        let kept = self.store.get::<GrantRecord>(&keys::ended_grant(grant_id)).await;
        let rec = kept.ok().flatten().map(|(rec, _)| rec);
        self.watch.instance_sweep(if n.is_some() { "recovered" } else { "abandoned" }, 1);
        tracing::info!(timer_id = %timer.id, instance = addr, role, sessions_ended = ?n,
            "sweep finished");
        let event = GrantEvent::InstanceSwept {
            grant: rec.as_ref(),
            role,
            instance: addr,
            sessions_ended: n,
        };
        self.emit(event).await;
    }
}
