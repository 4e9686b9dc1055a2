//! Names of the bot's Redis keys, after the configured prefix (see the table in [`super`]).
//!
//! Owns the naming only. [`DocStore`](super::DocStore) and [`Idempotency`](super::Idempotency)
//! take these relative names and add the prefix; nothing here talks to Redis.

/// ZSET of scheduled timer ids, scored by due time (unix ms).
pub const TIMERS_DUE: &str = "timers:due";
/// ZSET of claimed timer ids, scored by lease deadline (unix ms).
pub const TIMERS_INFLIGHT: &str = "timers:inflight";
/// HASH timer id -> JSON body.
pub const TIMERS_BODY: &str = "timers:body";
/// HASH timer id -> token of its current claim.
pub const TIMERS_CLAIMS: &str = "timers:claims";
/// ZSET lane -> when it is due (unix ms; the lease deadline while claimed).
pub const OUTBOX_DUE: &str = "outbox:due";
/// HASH note id -> JSON of [`OutboxNote`](super::OutboxNote).
pub const OUTBOX_BODY: &str = "outbox:body";
/// ZSET note id -> when it was queued (unix ms): depth and oldest age.
pub const OUTBOX_AGE: &str = "outbox:age";
/// HASH lane -> token of its current claim.
pub const OUTBOX_CLAIMS: &str = "outbox:claims";
/// Prefix of the per-lane LIST of note ids, oldest first.
pub const OUTBOX_LANE: &str = "outbox:lane:";

/// ZSET of open request ids (a [`DocStore`](super::DocStore) index).
pub const ACTIVE_REQUESTS: &str = "req:active";

/// A request document.
pub fn request(request_id: &str) -> String {
    format!("req:{request_id}")
}

/// Pointer from a Slack message (where approvals are collected) to its request id.
pub fn request_by_message(channel: &str, ts: &str) -> String {
    format!("req:by_msg:{channel}:{ts}")
}

/// The active grant document of an access level (`ro`, `rw`).
pub fn grant(level: &str) -> String {
    format!("grant:{level}")
}

/// Per-person slot `slot` of an access level: one holder's grant document.
pub fn grant_slot(level: &str, slot: u16) -> String {
    format!("grant:{level}:{slot}")
}

/// An ended grant's record, kept while a sweep of an unreachable instance is pending (its
/// thread note needs the request's message).
pub fn ended_grant(grant_id: &str) -> String {
    format!("grant:ended:{grant_id}")
}

/// An extension ask (`/firefighter extend`).
pub fn extension(id: &str) -> String {
    format!("ext:{id}")
}

/// Pointer from the ask's message (where approvers react) to its extension id.
pub fn extension_by_message(channel: &str, ts: &str) -> String {
    format!("ext:by_msg:{channel}:{ts}")
}

/// Marker: a normal request for `incident` on `target` (empty: the default target) timed out,
/// so break-glass in `after_timeout` mode may follow.
pub fn timed_out(target: &str, incident: &str) -> String {
    format!("req:timed_out:{target}:{incident}")
}

/// Idempotency key of a Slack Events API delivery (`event_id`, stable across Slack's retries).
pub fn slack_event(event_id: &str) -> String {
    format!("event:{event_id}")
}

/// Idempotency key of a slash command or interaction (`trigger_id`, unique per invocation).
pub fn slack_trigger(trigger_id: &str) -> String {
    format!("trigger:{trigger_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_share_the_req_namespace() {
        assert_eq!(request("r1"), "req:r1");
        assert_eq!(
            request_by_message("C1", "1700000000.000100"),
            "req:by_msg:C1:1700000000.000100"
        );
        assert_eq!(grant("rw"), "grant:rw");
        assert_eq!(slack_event("Ev1"), "event:Ev1");
    }
}
