//! A request's state change and the notes it produces commit together
//! ([`RequestStore::update_with_notes`], `cas_notes.lua`), against a real Redis. The crash is
//! driven, not slept: the store's commit hook signals that the swap is stored and then never
//! returns, and the test aborts the task there (a kill -9 between the swap and the old enqueue
//! point). A lost swap, or a swap of a missing request, queues nothing; only the winning attempt
//! of a re-decided swap queues its notes, behind notes already waiting in the same lane.

use super::claims::{request, store};
use super::{Space, T0};
use pgroles::access::{Rejection, Request, RequestState};
use pgroles::timers::Updated;
use pgroles::timers::{keys, Outbox, OutboxNote, TimerError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

fn note(id: &str, lane: &str) -> OutboxNote {
    OutboxNote {
        id: id.into(),
        lane: lane.into(),
        created_ms: T0,
        attempts: 0,
        payload: serde_json::json!({ "text": format!("note {id}") }),
    }
}

fn ids(notes: &[OutboxNote]) -> Vec<&str> {
    notes.iter().map(|n| n.id.as_str()).collect()
}

fn later() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::TimeDelta::hours(1)
}

#[tokio::test]
async fn a_note_is_not_lost_when_the_process_dies_right_after_the_swap() {
    let space = Space::new("commitcrash");
    let (stored_tx, mut stored_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let hook: pgroles::timers::CommitHook = Arc::new(move |r: &Request| {
        let _ = stored_tx.send(r.id().to_string());
        // The process "dies" here: this future never completes and the task is aborted.
        Box::pin(futures::future::pending::<()>())
    });
    let store = store(&space).await.with_commit_hook(hook);
    let req = request("req-crash");
    assert!(store.create(&req).await.unwrap());

    let dying = store.clone();
    let task = tokio::spawn(async move {
        dying
            .update_with_notes(
                "req-crash",
                |r| Ok::<_, Rejection>(r.on_timeout(later())),
                |_, _| vec![note("timed-out", "thread:C1:1.2"), note("dm", "dm:U0REQ00001")],
            )
            .await
    });
    assert_eq!(stored_rx.recv().await.as_deref(), Some("req-crash"), "the swap was stored");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled(), "killed between the swap and the enqueue");

    let (after, version) = store.load("req-crash").await.unwrap().unwrap();
    assert!(matches!(after.state(), RequestState::TimedOut { .. }), "{:?}", after.state());
    assert_eq!(version, 2);
    let outbox = Outbox::new(space.conn().await, &space.prefix);
    let mut queued = outbox.pending().await.unwrap();
    queued.sort_by(|a, b| a.lane.cmp(&b.lane));
    assert_eq!(ids(&queued), ["dm", "timed-out"], "notes lost");
    let claimed = outbox.claim(T0, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 2, "both lanes are due");
}

#[tokio::test]
async fn a_lost_or_missing_swap_queues_nothing() {
    let space = Space::new("commitlost");
    let store = store(&space).await;
    let req = request("req-lost");
    assert!(store.create(&req).await.unwrap());
    let next = match req.on_timeout(later()) {
        pgroles::access::Decision::Changed { next, .. } => next,
        other => panic!("{other:?}"),
    };
    let notes = [note("n1", "thread:C1:1.2")];
    assert!(!store.compare_and_swap_with_notes(&next, 7, &notes).await.unwrap(), "stale version");
    let absent = request("req-absent");
    assert!(!store.compare_and_swap_with_notes(&absent, 1, &notes).await.unwrap(), "no document");

    let outbox = Outbox::new(space.conn().await, &space.prefix);
    assert!(outbox.pending().await.unwrap().is_empty(), "a lost swap queued a note");
    assert_eq!(outbox.depth().await.unwrap().notes, 0);
    assert!(outbox.claim(T0, 60_000, 10).await.unwrap().is_empty(), "a lane became due");
    let (kept, version) = store.load("req-lost").await.unwrap().unwrap();
    assert!((kept.is_pending(), version) == (true, 1), "the request changed");
    assert!(store.load("req-absent").await.unwrap().is_none(), "a missing request was created");

    // The right version wins and queues.
    assert!(store.compare_and_swap_with_notes(&next, 1, &notes).await.unwrap());
    assert_eq!(ids(&outbox.pending().await.unwrap()), ["n1"]);
}

#[tokio::test]
async fn a_re_decided_swap_queues_only_the_winning_attempts_notes_in_lane_order() {
    let space = Space::new("commitrace");
    let store = store(&space).await;
    let req = request("req-race");
    assert!(store.create(&req).await.unwrap());
    let outbox = Outbox::new(space.conn().await, &space.prefix);
    // An older note of the same thread waits already (and is being delivered).
    let older = OutboxNote { created_ms: T0 - 1_000, ..note("older", "thread:C1:1.2") };
    assert!(outbox.push(&older, T0).await.unwrap());
    let older = outbox.claim(T0, 60_000, 10).await.unwrap().remove(0);

    let key = format!("{}{}", space.prefix, keys::request("req-race"));
    let other = redis::Client::open(space.url.as_str()).unwrap().get_connection().unwrap();
    let other = Mutex::new(other);
    let attempt = AtomicU32::new(0);
    let outcome = store
        .update_with_notes(
            "req-race",
            |r| {
                // Between the first read and its swap, "another replica" writes a new version.
                if attempt.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut other = other.lock().unwrap();
                    let raw: String = redis::cmd("GET").arg(&key).query(&mut *other).unwrap();
                    let (version, json) = raw.split_once(':').unwrap();
                    let bumped = format!("{}:{json}", version.parse::<u64>().unwrap() + 1);
                    let _: () = redis::cmd("SET")
                        .arg(&key)
                        .arg(bumped)
                        .arg("KEEPTTL")
                        .query(&mut *other)
                        .unwrap();
                }
                Ok::<_, Rejection>(r.on_timeout(later()))
            },
            |_, _| {
                let n = attempt.load(Ordering::SeqCst);
                vec![note(&format!("attempt{n}"), "thread:C1:1.2")]
            },
        )
        .await
        .unwrap();
    assert!(matches!(outcome, Updated::Changed { .. }), "{outcome:?}");
    assert_eq!(attempt.load(Ordering::SeqCst), 2, "decided twice");
    assert_eq!(store.load("req-race").await.unwrap().unwrap().1, 3);
    assert_eq!(ids(&outbox.pending().await.unwrap()), ["older", "attempt2"], "the loser queued");

    // The lane stays leased to the older note's delivery, and the new note comes after it.
    assert!(outbox.claim(T0, 60_000, 10).await.unwrap().is_empty(), "the lease was broken");
    assert!(outbox.delivered(&older, T0).await.unwrap());
    let next = outbox.claim(T0, 60_000, 10).await.unwrap();
    assert_eq!(next.iter().map(|c| c.note.id.as_str()).collect::<Vec<_>>(), ["attempt2"]);
}

#[tokio::test]
async fn an_outbox_key_of_the_wrong_type_fails_closed_and_changes_nothing() {
    let space = Space::new("commitbad");
    let store = store(&space).await;
    let req = request("req-bad");
    assert!(store.create(&req).await.unwrap());
    let next = match req.on_timeout(later()) {
        pgroles::access::Decision::Changed { next, .. } => next,
        other => panic!("{other:?}"),
    };
    let mut conn = redis::Client::open(space.url.as_str()).unwrap().get_connection().unwrap();
    let lane = format!("{}{}thread:C1:1.2", space.prefix, keys::OUTBOX_LANE);
    let _: () = redis::cmd("SET").arg(&lane).arg("not a list").query(&mut conn).unwrap();
    let notes = [note("n1", "dm:U0REQ00001"), note("n2", "thread:C1:1.2")];
    let err = store.compare_and_swap_with_notes(&next, 1, &notes).await.unwrap_err();
    assert!(matches!(err, TimerError::BadData { .. }), "{err:?}");
    let (kept, version) = store.load("req-bad").await.unwrap().unwrap();
    assert!((kept.is_pending(), version) == (true, 1), "the request changed");
    let outbox = Outbox::new(space.conn().await, &space.prefix);
    assert!(outbox.pending().await.unwrap().is_empty(), "a note was half queued");
}
