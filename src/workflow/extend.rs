//! `/firefighter extend [target] [ro|rw] <duration>` (issue 17): the holder asks in their
//! grant's thread; approvers react to the ask (`ro`: one approval, `rw`: the level's count;
//! never the holder's own; within the approval window); the last approval needed moves the
//! grant's end through the grant service (the database's VALID UNTIL first, capped there at 2
//! hours after issue).
//!
//! Owns the sequencing: find the grant, check the cap before asking, post the ask, store it
//! (compare-and-swap per reaction), and act once when it is decided. Decisions are
//! [`Extension::on_reaction`]'s, wording `access::text::extend`'s.

use super::port::GrantContext;
use super::{ReactionInput, Workflow};
use crate::access::extension::{Extension, ExtensionVerdict};
use crate::access::text::{extend as text, format_expiry, reply};
use crate::access::{GrantDuration, Rejection, SlackUserId};
use crate::grants::extend::extension_cap;
use crate::grants::GrantError;
use crate::model::Level;
use crate::timers::keys;
use std::time::Duration;

/// How long an ask is kept after its deadline (a late reaction still finds it).
const KEEP_AFTER: Duration = Duration::from_secs(3600);
/// Attempts of one reaction's compare-and-swap before it is dropped.
const CAS_ATTEMPTS: usize = 5;

impl Workflow {
    /// The holder's ask: checked against the cap, then posted in the grant's thread and stored.
    pub(super) async fn ask_extension(
        &self,
        user: &SlackUserId,
        target: Option<&str>,
        level: Option<Level>,
        by: GrantDuration,
    ) -> (&'static str, String) {
        let mut found = Vec::new();
        for (t, l) in self.targets_and_levels() {
            if target.is_some_and(|n| n != t.name) || level.is_some_and(|want| want != l) {
                continue;
            }
            match t.grants.active_of(l, user).await {
                Ok(Some(g)) => found.push((t, g)),
                Ok(None) => {}
                Err(e) => return ("error", e.user_message()),
            }
        }
        let (t, grant) = match found.len() {
            0 => return ("rejected", text::NOTHING_TO_EXTEND.into()),
            1 => found.remove(0),
            _ => return ("rejected", text::WHICH_TO_EXTEND.into()),
        };
        let now = self.now();
        let wanted = grant.expires_at + chrono::Duration::seconds(by.as_secs() as i64);
        let cap = extension_cap(&grant);
        if wanted > cap {
            return ("rejected", GrantError::BeyondCap { cap }.user_message());
        }
        let Some(thread) = GrantContext::of(&grant).message else {
            return ("rejected", text::NO_THREAD.into());
        };
        let Ok(policy) = t.approvers.policy().await else {
            return ("error", Rejection::Misconfigured.user_message());
        };
        let needed = Extension::needed(grant.level, &policy);
        let emojis = &self.inner.settings.emojis;
        let words = text::ask(
            user,
            grant.level,
            &grant.incident,
            by.as_secs(),
            &format_expiry(wanted, now),
            needed,
            emojis.approve(),
            emojis.deny(),
        );
        let ask = match self.inner.chat.post_in_thread(&thread, &words).await {
            Ok(at) => at,
            Err(e) => return ("error", reply::request_not_posted(&e.code)),
        };
        let ext = Extension {
            id: uuid::Uuid::new_v4().simple().to_string(),
            target: self.inner.fleet.is_named().then(|| t.name.clone()),
            level: grant.level,
            holder: user.clone(),
            incident: grant.incident.clone(),
            by_secs: by.as_secs(),
            needed,
            approvals: Vec::new(),
            deadline: now + policy.approval_window(),
            state: crate::access::extension::ExtensionState::Pending,
            ask: ask.clone(),
            thread,
        };
        let ttl = policy.approval_window().to_std().unwrap_or_default() + KEEP_AFTER;
        let docs = self.inner.store.docs();
        let stored = docs.put_new(&keys::extension(&ext.id), &ext, ttl).await;
        let pointer = keys::extension_by_message(&ask.channel, &ask.ts);
        let linked = docs.put_new(&pointer, &ext.id, ttl).await;
        if !matches!((stored, linked), (Ok(true), Ok(true))) {
            self.inner.chat.thread(&ask, crate::access::text::notes::VOID).await;
            return ("error", reply::STATE_STORE_DOWN.into());
        }
        ("ok", text::asked(grant.level, by.as_secs()))
    }

    /// The reminder DM's buttons: "I'm done" releases the grant, "Extend" asks for
    /// [`super::EXTEND_BUTTON_SECS`] more, as `/firefighter done` and `extend` do for the one
    /// grant the button names (`<level>[|<target>]`). The answer goes to the presser's DM.
    pub(super) async fn holder_button(&self, input: &super::ButtonInput) -> &'static str {
        let Ok(user) = SlackUserId::parse(&input.user) else { return "ignored" };
        let value = input.value.as_deref().unwrap_or_default();
        let (level, target) = value.split_once('|').map_or((value, None), |(l, t)| (l, Some(t)));
        let Some(level) = Level::parse(level) else { return "ignored" };
        let (outcome, text) = if input.action_id == super::DONE_ACTION {
            self.done_level(&user, target, level).await
        } else {
            let cap = Duration::from_secs(crate::access::duration::DATABASE_CAP_SECS);
            match GrantDuration::from_secs(super::EXTEND_BUTTON_SECS, cap) {
                Ok(by) => self.ask_extension(&user, target, Some(level), by).await,
                Err(_) => return "error",
            }
        };
        let note = super::port::PendingNote::dm(user.as_str(), &text);
        self.inner.chat.queue_all(&[note]).await;
        outcome
    }

    /// A reaction on a message that is no request: an extension ask, or nothing of ours.
    pub(super) async fn extension_reaction(&self, input: &ReactionInput) -> &'static str {
        if !input.added {
            return "ignored";
        }
        let Ok(user) = SlackUserId::parse(&input.user) else { return "ignored" };
        let reaction = self.inner.settings.emojis.classify(&input.reaction);
        let docs = self.inner.store.docs();
        let pointer = keys::extension_by_message(&input.channel, &input.ts);
        let id = match docs.get::<String>(&pointer).await {
            Ok(Some((id, _))) => id,
            Ok(None) => return "ignored",
            Err(e) => {
                tracing::warn!(error = %e, "could not look up an extension ask");
                return "error";
            }
        };
        let key = keys::extension(&id);
        for _ in 0..CAS_ATTEMPTS {
            let Ok(Some((mut ext, version))) = docs.get::<Extension>(&key).await else {
                return "error";
            };
            let Some(target) = self.inner.fleet.get(ext.target.as_deref()).cloned() else {
                return "error";
            };
            let Ok(policy) = target.approvers.policy().await else { return "error" };
            let verdict = ext.on_reaction(&user, reaction, &policy, self.now());
            let note = match &verdict {
                ExtensionVerdict::Ignored => return "ignored",
                ExtensionVerdict::SelfApproval => Some(text::self_approval(&user)),
                ExtensionVerdict::NotApprover => Some(text::not_approver(&user)),
                ExtensionVerdict::Recorded { have, needed } => {
                    Some(text::approval(&user, *have, *needed))
                }
                ExtensionVerdict::Denied => Some(text::denied(&user)),
                ExtensionVerdict::TooLate => Some(text::TOO_LATE.to_owned()),
                ExtensionVerdict::Approved => None,
            };
            if matches!(verdict, ExtensionVerdict::SelfApproval | ExtensionVerdict::NotApprover) {
                if let Some(note) = note {
                    self.inner.chat.thread(&ext.thread, &note).await;
                }
                return "rejected";
            }
            let ttl = KEEP_AFTER;
            match docs.cas(&key, version, &ext, ttl).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "could not record a reaction on an extension");
                    return "error";
                }
            }
            if let Some(note) = note {
                self.inner.chat.thread(&ext.thread, &note).await;
                return "ok";
            }
            // Approved, stored once: extend now (the grant event tells the thread and the DM).
            let by = Duration::from_secs(ext.by_secs);
            return match target.grants.extend(ext.level, &ext.holder, by, user.as_str()).await {
                Ok(_) => "ok",
                Err(e) => {
                    self.inner.chat.thread(&ext.thread, &text::failed(&e.user_message())).await;
                    "error"
                }
            };
        }
        "error"
    }
}
