//! The durable outbox against a real Redis: order per lane, one note per lane at a time,
//! leases handed over after a crash (a late `done` is refused), retries that keep their place,
//! deduplicated pushes, depth; and delivery to the strict fake Slack with a controlled clock:
//! `Retry-After` honoured, a late note marked delayed, a hopeless one given up and counted.

use crate::{Space, T0};
use chrono::{TimeZone, Utc};
use pgroles::metrics::Metrics;
use pgroles::slack::client::SlackApi;
use pgroles::slack::outbox::{NoteSender, NoteTarget, OutboxPolicy};
use pgroles::timers::{Clock, Outbox, OutboxNote};
use secrecy::SecretString;
use slack_fake::{FakeFault, FakeSlack};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

fn note(id: &str, lane: &str, at: i64) -> OutboxNote {
    OutboxNote {
        id: id.into(),
        lane: lane.into(),
        created_ms: at,
        attempts: 0,
        payload: serde_json::json!({ "n": id }),
    }
}

async fn outbox(space: &Space) -> Outbox {
    Outbox::new(space.conn().await, &space.prefix)
}

fn ids(claimed: &[pgroles::timers::ClaimedNote]) -> Vec<String> {
    let mut v: Vec<String> = claimed.iter().map(|c| c.note.id.clone()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn notes_of_one_lane_come_out_in_order_one_at_a_time() {
    let space = Space::new("outbox-order");
    let ob = outbox(&space).await;
    for (id, lane) in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("a3", "A")] {
        assert!(ob.push(&note(id, lane, T0), T0).await.unwrap());
    }
    let first = ob.claim(T0, 60_000, 10).await.unwrap();
    assert_eq!(ids(&first), ["a1", "b1"], "the head of each lane only");
    assert!(ob.claim(T0, 60_000, 10).await.unwrap().is_empty(), "both lanes are leased");
    let a1 = first.iter().find(|c| c.note.id == "a1").unwrap();
    assert!(ob.delivered(a1, T0).await.unwrap());
    assert_eq!(ids(&ob.claim(T0, 60_000, 10).await.unwrap()), ["a2"]);
    let depth = ob.depth().await.unwrap();
    assert_eq!((depth.notes, depth.oldest_ms), (3, Some(T0)));
}

#[tokio::test]
async fn a_dead_workers_lane_passes_on_after_the_lease_and_its_late_done_is_refused() {
    let space = Space::new("outbox-lease");
    let ob = outbox(&space).await;
    ob.push(&note("n1", "L", T0), T0).await.unwrap();
    let dead = ob.claim(T0, 1_000, 10).await.unwrap().remove(0);
    assert!(ob.claim(T0 + 999, 1_000, 10).await.unwrap().is_empty(), "still leased");
    // Another replica takes the lane over once the lease ran out.
    let other = outbox(&space).await;
    let alive = other.claim(T0 + 1_000, 1_000, 10).await.unwrap().remove(0);
    assert_eq!(alive.note.id, "n1");
    assert!(!ob.delivered(&dead, T0 + 1_001).await.unwrap(), "the dead worker's done is refused");
    assert!(!ob.retry_at(&dead, T0 + 9_999).await.unwrap());
    assert_eq!(other.pending().await.unwrap().len(), 1, "the note is still there");
    assert!(other.delivered(&alive, T0 + 1_002).await.unwrap());
    assert!(other.pending().await.unwrap().is_empty());
    assert_eq!(other.depth().await.unwrap().notes, 0);
}

#[tokio::test]
async fn a_retried_note_keeps_its_place_and_counts_its_attempts() {
    let space = Space::new("outbox-retry");
    let ob = outbox(&space).await;
    assert!(ob.push(&note("r1", "L", T0), T0).await.unwrap());
    assert!(!ob.push(&note("r1", "L", T0), T0).await.unwrap(), "a retried push is deduplicated");
    let c = ob.claim(T0, 60_000, 10).await.unwrap().remove(0);
    assert!(ob.retry_at(&c, T0 + 5_000).await.unwrap());
    // A note queued meanwhile must not overtake it, nor make the lane due early.
    ob.push(&note("r2", "L", T0 + 100), T0 + 100).await.unwrap();
    assert!(ob.claim(T0 + 4_999, 60_000, 10).await.unwrap().is_empty());
    let again = ob.claim(T0 + 5_000, 60_000, 10).await.unwrap().remove(0);
    assert_eq!((again.note.id.as_str(), again.note.attempts), ("r1", 1));
}

/// A fake Slack with an audit channel and the request message to thread under; a sender on a
/// clock the test moves.
async fn sender(space: &Space, now: &Arc<AtomicI64>) -> (FakeSlack, NoteSender, String, Metrics) {
    let fake = FakeSlack::start().await.unwrap();
    fake.add_channel("C0AUDIT001");
    fake.add_users(&["U0REQ00001"]);
    let api = SlackApi::new(&fake.api_url(), &SecretString::from(fake.bot_token())).unwrap();
    let ts = api.post_message("C0AUDIT001", "request", &[], None).await.unwrap();
    let clock_now = now.clone();
    let clock: Arc<dyn Clock> = Arc::new(move || {
        Utc.timestamp_millis_opt(clock_now.load(Ordering::SeqCst)).single().unwrap_or_default()
    });
    let metrics = Metrics::new();
    let notes =
        NoteSender::new(outbox(space).await, api, metrics.clone(), clock, OutboxPolicy::default());
    (fake, notes, ts, metrics)
}

#[tokio::test]
async fn delivery_honours_retry_after_and_marks_a_late_note() {
    let space = Space::new("outbox-deliver");
    let now = Arc::new(AtomicI64::new(T0));
    let (fake, notes, ts, metrics) = sender(&space, &now).await;
    let thread = NoteTarget::Thread { channel: "C0AUDIT001".into(), ts: ts.clone() };
    notes.queue(thread.clone(), "Password expired: first").await.unwrap();
    notes.queue(thread.clone(), "second").await.unwrap();

    fake.fail_next("chat.postMessage", FakeFault::RateLimited { retry_after_secs: 30 }, 1);
    assert_eq!(notes.deliver_due().await.unwrap(), 1);
    assert_eq!(fake.thread("C0AUDIT001", &ts).len(), 0, "refused by Slack");
    now.store(T0 + 29_000, Ordering::SeqCst);
    assert_eq!(notes.deliver_due().await.unwrap(), 0, "Retry-After: 30 s is honoured");

    // Seven minutes after the event, the note goes out and says it is late.
    now.store(T0 + 7 * 60_000 + 1_000, Ordering::SeqCst);
    notes.deliver_due().await.unwrap();
    notes.deliver_due().await.unwrap();
    let texts: Vec<String> =
        fake.thread("C0AUDIT001", &ts).iter().map(|m| m.text.clone().unwrap_or_default()).collect();
    assert_eq!(
        texts,
        [
            "Password expired: first (delayed: posted 7m after it happened)",
            "second (delayed: posted 7m after it happened)"
        ]
    );
    notes.observe().await;
    assert!(metrics.encode().contains("pgroles_outbox_notes 0"), "{}", metrics.encode());
}

#[tokio::test]
async fn a_note_is_retried_for_a_day_then_given_up_and_counted() {
    let space = Space::new("outbox-giveup");
    let now = Arc::new(AtomicI64::new(T0));
    let (fake, notes, _ts, metrics) = sender(&space, &now).await;
    notes.queue(NoteTarget::Dm { user: "U0REQ00001".into() }, "Your ro request…").await.unwrap();
    fake.fail_next("conversations.open", FakeFault::Status(503), 1000);
    let mut tries = 0;
    // An hour of failures: still queued.
    while now.load(Ordering::SeqCst) < T0 + 3_600_000 {
        tries += notes.deliver_due().await.unwrap();
        now.fetch_add(60_000, Ordering::SeqCst);
    }
    assert!(tries >= 12, "retried with capped backoff, {tries} tries in an hour");
    notes.observe().await;
    assert!(metrics.encode().contains("pgroles_outbox_notes 1"), "{}", metrics.encode());
    now.store(T0 + 24 * 3_600_000 + 1, Ordering::SeqCst);
    notes.deliver_due().await.unwrap();
    notes.observe().await;
    let text = metrics.encode();
    assert!(text.contains("pgroles_outbox_notes 0"), "{text}");
    assert!(text.contains("pgroles_outbox_dropped_total{reason=\"gave_up\"} 1"), "{text}");
}
