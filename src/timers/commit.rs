//! A document's compare-and-swap and the outbox notes it produces, committed in one Lua script
//! (`cas_notes.lua`): the notes are queued only if the swap wins, and a won swap is never
//! acknowledged without its notes, so a process that dies right after the swap loses no note.
//!
//! Owns that script only. The document encoding is [`DocStore`]'s, the outbox keys and lane order
//! are [`Outbox`](super::Outbox)'s (the script queues exactly as `outbox_push.lua` does). Like the
//! rest of [`super`] it knows no Slack and reads no clock: each note's `created_ms` is also when
//! its lane becomes due.

use super::keys::{OUTBOX_AGE, OUTBOX_BODY, OUTBOX_DUE, OUTBOX_LANE};
use super::store::encode;
use super::{ttl_ms, DocStore, OutboxNote, TimerError};
use redis::Script;
use serde::Serialize;
use std::sync::LazyLock;
use std::time::Duration;

static CAS_NOTES: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("cas_notes.lua")));

impl DocStore {
    /// Like [`DocStore::cas`], and when the swap wins, `notes` are appended to their outbox lanes
    /// (in order) in the same atomic step. Returns `false`, queueing nothing, if the document
    /// changed meanwhile or no longer exists. Notes must hold no secret.
    pub async fn cas_with_notes<T: Serialize>(
        &self,
        key: &str,
        expected_version: u64,
        doc: &T,
        ttl: Duration,
        notes: &[OutboxNote],
    ) -> Result<bool, TimerError> {
        let full = self.full_key(key);
        let value = encode(&full, expected_version.saturating_add(1), doc)?;
        let mut inv = CAS_NOTES.prepare_invoke();
        inv.key(&full)
            .key(self.full_key(OUTBOX_DUE))
            .key(self.full_key(OUTBOX_BODY))
            .key(self.full_key(OUTBOX_AGE));
        inv.arg(expected_version).arg(value).arg(ttl_ms(ttl));
        for note in notes {
            let body = serde_json::to_string(note)
                .map_err(|e| TimerError::bad_data(self.full_key(OUTBOX_BODY), e))?;
            inv.key(self.full_key(&format!("{OUTBOX_LANE}{}", note.lane)));
            inv.arg(&note.lane).arg(&note.id).arg(body).arg(note.created_ms);
        }
        let n: i64 = inv.invoke_async(&mut self.connection()).await?;
        match n {
            1 => Ok(true),
            0 | -1 => Ok(false),
            -3 => Err(TimerError::bad_data(self.full_key(OUTBOX_BODY), "outbox key of wrong type")),
            _ => Err(TimerError::bad_data(full, "stored value has no version")),
        }
    }
}
