//! Where requests live in Redis: the versioned request document (`req:<id>`), the pointer from
//! the Slack request message (`req:by_msg:<channel>:<ts>`), the index of open requests
//! (`req:active`), and a "one pending request" claim (`idem:pending_level:<level>`, or with
//! per-person logins one per requester, `idem:pending_level:<level>:<user>`, holding the
//! claiming request's id, released only by that request), and the issuing lease
//! (`idem:issuing:<id>`) held while a process issues an approved request.
//!
//! Owns the keys and TTLs of request state and the compare-and-swap loop, which stores a change
//! together with the outbox notes it produces ([`RequestStore::update_with_notes`]: one atomic
//! Redis step, so a crash after the swap loses no note and a lost swap queues none). It must
//! not decide anything: callers pass a pure decision function from [`crate::access`], and this
//! module stores its result only if nobody changed the request meanwhile. It sits in `timers`
//! (the owner of Redis documents) so that both the workflow and the Slack notifier use it
//! without the notifier importing the workflow.

use super::{keys, DocStore, Idempotency, OutboxNote, TimerError};
use crate::access::{Decision, Request, Transition};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// How many times a lost compare-and-swap is re-decided before giving up.
const CAS_ATTEMPTS: u32 = 8;

/// The outcome of [`RequestStore::update`].
#[derive(Debug)]
pub enum Updated<E> {
    /// Stored: act on the transition.
    Changed { request: Request, transition: Transition },
    /// The decision was to change nothing.
    Unchanged { request: Request, decision: Decision },
    /// The decision function refused (a [`crate::access::Rejection`], usually).
    Refused { request: Request, error: E },
    /// The request is gone (expired from Redis or never existed).
    Missing,
}

/// Called with the stored request right after a change was stored, before the caller acts on
/// it: the point where a process may die. Tests stop the process there; nothing else sets it.
pub type CommitHook = Arc<dyn Fn(&Request) -> BoxFuture<'static, ()> + Send + Sync>;

/// Request documents under one prefix. Cheap to clone.
#[derive(Clone)]
pub struct RequestStore {
    docs: DocStore,
    idem: Idempotency,
    /// How long request documents and pointers are kept after their last change.
    ttl: Duration,
    after_commit: Option<CommitHook>,
    /// One pending request per level and requester (per-person logins), not per level.
    claim_per_requester: bool,
}

impl std::fmt::Debug for RequestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestStore").field("docs", &self.docs).finish_non_exhaustive()
    }
}

impl RequestStore {
    pub fn new(docs: DocStore, idem: Idempotency, ttl: Duration) -> RequestStore {
        RequestStore { docs, idem, ttl, after_commit: None, claim_per_requester: false }
    }

    /// Claims are per level and requester (`access.identity = "per_person"`: several people
    /// may hold a level, each with at most one pending request for it).
    pub fn with_claims_per_requester(mut self, on: bool) -> RequestStore {
        self.claim_per_requester = on;
        self
    }

    /// A fleet target's claims are its own (`pending_level:<target>:...`).
    fn claim_key(&self, req: &Request) -> String {
        let level = match req.target() {
            Some(t) => format!("{t}:{}", req.level()),
            None => req.level().to_string(),
        };
        if self.claim_per_requester {
            format!("pending_level:{level}:{}", req.requester())
        } else {
            format!("pending_level:{level}")
        }
    }

    /// Runs `hook` after every stored change, before [`RequestStore::update_with_notes`]
    /// returns (a test seam: a test "kills" the process there).
    pub fn with_commit_hook(mut self, hook: CommitHook) -> RequestStore {
        self.after_commit = Some(hook);
        self
    }

    pub fn docs(&self) -> &DocStore {
        &self.docs
    }

    pub async fn load(&self, id: &str) -> Result<Option<(Request, u64)>, TimerError> {
        self.docs.get::<Request>(&keys::request(id)).await
    }

    /// The request posted as message `ts` in `channel`, if any.
    pub async fn by_message(&self, channel: &str, ts: &str) -> Result<Option<Request>, TimerError> {
        let Some(id) = self.docs.get_pointer(&keys::request_by_message(channel, ts)).await? else {
            return Ok(None);
        };
        Ok(self.load(&id).await?.map(|(r, _)| r))
    }

    /// Stores a new request (version 1). `false`: the id exists already.
    pub async fn create(&self, req: &Request) -> Result<bool, TimerError> {
        self.docs.put_new(&keys::request(req.id().as_str()), req, self.ttl).await
    }

    /// Points the Slack message at its request and lists the request as open until `until`.
    pub async fn link_message(
        &self,
        req: &Request,
        channel: &str,
        ts: &str,
        until: DateTime<Utc>,
    ) -> Result<(), TimerError> {
        let id = req.id().as_str();
        self.docs.put_pointer(&keys::request_by_message(channel, ts), id, self.ttl).await?;
        self.docs.index_add(keys::ACTIVE_REQUESTS, id, until).await
    }

    /// Remembers for `ttl` that `req` (a normal request) timed out: break-glass in
    /// `after_timeout` mode may follow for its incident and target.
    pub async fn note_timed_out(&self, req: &Request, ttl: Duration) -> Result<(), TimerError> {
        let key = keys::timed_out(req.target().unwrap_or_default(), &req.incident().to_string());
        self.docs.delete(&key).await?;
        self.docs.put_pointer(&key, req.id().as_str(), ttl).await.map(|_| ())
    }

    /// Whether a normal request for `incident` on `target` timed out within the marker's ttl.
    pub async fn timed_out(
        &self,
        target: Option<&str>,
        incident: &str,
    ) -> Result<bool, TimerError> {
        let key = keys::timed_out(target.unwrap_or_default(), incident);
        Ok(self.docs.get_pointer(&key).await?.is_some())
    }

    /// Takes the request out of the open list (it reached a final state or was issued), and
    /// gives back its level claim if it still holds it.
    pub async fn close(&self, req: &Request) -> Result<(), TimerError> {
        self.docs.index_remove(keys::ACTIVE_REQUESTS, req.id().as_str()).await?;
        self.release_level(req).await
    }

    /// Removes a request that never got its Slack message (posting failed).
    /// The claim goes first: a document left behind is harmless (it expires), a claim left
    /// behind would block the level.
    pub async fn discard(&self, req: &Request) -> Result<(), TimerError> {
        let closed = self.close(req).await;
        self.docs.delete(&keys::request(req.id().as_str())).await?;
        closed
    }

    /// Open requests still waiting at `now`, oldest deadline first.
    pub async fn open_requests(&self, now: DateTime<Utc>) -> Result<Vec<Request>, TimerError> {
        let mut out = Vec::new();
        for id in self.docs.index_members(keys::ACTIVE_REQUESTS, now).await? {
            if let Some((r, _)) = self.load(&id).await? {
                if r.is_pending() {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// Claims "the one pending request of its level" for `req`, for `window` (across
    /// replicas). The claim holds the request id: it is the fencing token.
    pub async fn claim_level(&self, req: &Request, window: Duration) -> Result<bool, TimerError> {
        self.idem.claim_as(&self.claim_key(req), req.id().as_str(), window).await
    }

    /// Frees the claim `req` wants if its holder is no longer a pending request (its release was
    /// lost, e.g. to a Redis blip), so that it does not block the level for the whole approval
    /// window. Returns whether the level may be claimed now. A request's document is created
    /// before it claims, so a holder without a document was discarded, not "being created".
    pub async fn free_orphaned_claim(&self, req: &Request) -> Result<bool, TimerError> {
        let (key, level) = (self.claim_key(req), req.level());
        let Some(holder) = self.idem.holder(&key).await? else { return Ok(true) };
        if self.load(&holder).await?.is_some_and(|(r, _)| r.is_pending()) {
            return Ok(false);
        }
        tracing::info!(request_id = %holder, level = %level, "freed an orphaned level claim");
        self.idem.release_if_held_by(&key, &holder).await?;
        Ok(true)
    }

    /// Gives back `req`'s level claim, and only its own: once the claim expired and a newer
    /// request took the level, this leaves the newer claim alone (compare-and-delete).
    pub async fn release_level(&self, req: &Request) -> Result<(), TimerError> {
        self.idem.release_if_held_by(&self.claim_key(req), req.id().as_str()).await.map(|_| ())
    }

    /// Marks `req` as being issued by this process, for at most `lease` (a process that dies
    /// while issuing leaves it to expire). While it is held, the issuing deadline does not
    /// settle the request: the issuer will, with the grant service's real outcome.
    pub async fn start_issuing(&self, req: &Request, lease: Duration) -> Result<bool, TimerError> {
        self.idem.claim_as(&issuing_key(req), req.id().as_str(), lease).await
    }

    pub async fn end_issuing(&self, req: &Request) -> Result<(), TimerError> {
        self.idem.release_if_held_by(&issuing_key(req), req.id().as_str()).await.map(|_| ())
    }

    /// Whether some process is still issuing `req`.
    pub async fn is_issuing(&self, req: &Request) -> Result<bool, TimerError> {
        self.idem.is_held(&issuing_key(req)).await
    }

    /// Forgets that Slack event `event_id` was handled, so that a redelivery is handled again.
    pub async fn forget_event(&self, event_id: &str) -> Result<(), TimerError> {
        self.idem.release(&keys::slack_event(event_id)).await.map(|_| ())
    }

    /// Loads the request, applies `decide`, and stores the result with compare-and-swap,
    /// re-reading and re-deciding when someone else changed it first.
    pub async fn update<E>(
        &self,
        id: &str,
        decide: impl Fn(&Request) -> Result<Decision, E>,
    ) -> Result<Updated<E>, TimerError> {
        self.update_with_notes(id, decide, |_, _| Vec::new()).await
    }

    /// Replaces the request if its stored version is still `expected_version`, and queues
    /// `notes` in the outbox in the same atomic step: all or nothing. `false`: the request
    /// changed meanwhile (or is gone), and nothing was written or queued.
    pub async fn compare_and_swap_with_notes(
        &self,
        doc: &Request,
        expected_version: u64,
        notes: &[OutboxNote],
    ) -> Result<bool, TimerError> {
        let key = keys::request(doc.id().as_str());
        let stored = if notes.is_empty() {
            self.docs.cas(&key, expected_version, doc, self.ttl).await?
        } else {
            self.docs.cas_with_notes(&key, expected_version, doc, self.ttl, notes).await?
        };
        if stored {
            if let Some(hook) = &self.after_commit {
                hook(doc).await;
            }
        }
        Ok(stored)
    }

    /// [`RequestStore::update`], where the stored change and the notes it produces
    /// (`notes(next, transition)`, built anew for each attempt) commit together: a lost
    /// compare-and-swap queues nothing, a won one has queued its notes before this returns.
    pub async fn update_with_notes<E>(
        &self,
        id: &str,
        decide: impl Fn(&Request) -> Result<Decision, E>,
        notes: impl Fn(&Request, &Transition) -> Vec<OutboxNote>,
    ) -> Result<Updated<E>, TimerError> {
        let key = keys::request(id);
        for _ in 0..CAS_ATTEMPTS {
            let Some((current, version)) = self.docs.get::<Request>(&key).await? else {
                return Ok(Updated::Missing);
            };
            match decide(&current) {
                Err(error) => return Ok(Updated::Refused { request: current, error }),
                Ok(Decision::Changed { next, transition }) => {
                    let queued = notes(&next, &transition);
                    if self.compare_and_swap_with_notes(&next, version, &queued).await? {
                        return Ok(Updated::Changed { request: *next, transition });
                    }
                    tracing::debug!(request_id = %id, "request changed meanwhile; deciding again");
                }
                Ok(decision @ Decision::Ignored(_)) => {
                    return Ok(Updated::Unchanged { request: current, decision });
                }
            }
        }
        Err(TimerError::Contended { key, attempts: CAS_ATTEMPTS })
    }
}

fn issuing_key(req: &Request) -> String {
    format!("issuing:{}", req.id())
}
