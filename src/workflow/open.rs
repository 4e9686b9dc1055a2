//! Opening a request: decide first (refuse while the level is held or another request for it is
//! pending), answer the command with that verdict, then post the request to the audit channel, store it (CAS document + message pointer + open
//! index), schedule its ApprovalTimeout timer, and tell the requester where it is.
//!
//! Every failure is answered to the requester with fixed text; a request whose message could
//! not be posted or stored is discarded, so nothing half-done can be approved.

use super::fleet::Target;
use super::port::Reply;
use super::{approval_timer_id, CommandInput, Workflow};
use crate::access::break_glass::BreakGlass;
use crate::access::text::reply::{self, STATE_STORE_DOWN};
use crate::access::{
    GrantDuration, IncidentId, MessageRef, NewRequest, Rejection, Request, RequestId, SlackUserId,
};
use crate::grants::GrantError;
use crate::model::Level;
use crate::timers::{Timer, TimerError, TimerKind, TimerPayload};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long the slash command's answer waits for the verdict of the checks (Slack gives 3 s in
/// all, and the listener may have spent up to 1.5 s on its idempotency claim).
const ACK_BUDGET: Duration = Duration::from_millis(1200);

impl Workflow {
    /// Decides first, answers after: the checks (level held, approvers, one pending request)
    /// run in a task, and the command's answer waits briefly for their verdict, so that it is
    /// either the refusal itself or "Asking the approvers…", never one then the other. If the
    /// checks are slow, the answer says only that they are running, and the verdict follows
    /// through the response_url.
    pub(super) async fn request_access(
        &self,
        input: CommandInput,
        user: SlackUserId,
        ask: Ask,
    ) -> Reply {
        let (tx, mut rx) = oneshot::channel();
        let wf = self.clone();
        let level = ask.level;
        // Tracked: shutdown waits for an accepted request (see `Workflow::drain`).
        self.spawn(async move { wf.open_request(input, user, ask, tx).await });
        if let Ok(Ok(text)) = tokio::time::timeout(ACK_BUDGET, &mut rx).await {
            return Reply::Text(text);
        }
        // Closing first: a verdict sent from now on fails on the sender's side and goes out
        // through the response_url instead; one sent just before is still read here.
        rx.close();
        match rx.try_recv() {
            Ok(text) => Reply::Text(text),
            Err(_) => Reply::Text(reply::checking_level(level)),
        }
    }

    async fn open_request(
        &self,
        input: CommandInput,
        user: SlackUserId,
        ask: Ask,
        ack: oneshot::Sender<String>,
    ) {
        let (level, duration) = (ask.level, ask.duration);
        let label = if level == Level::Ro { "ro" } else { "rw" };
        let target = ask.target.clone();
        let admitted = self.admit(&user, ask).await;
        let (outcome, text) = match admitted {
            Err(refusal) => {
                let (outcome, text) = refusal.split();
                self.inner.metrics.request(label, outcome);
                if let Err(text) = ack.send(text) {
                    self.reply(&input, &text).await;
                }
                return;
            }
            Ok(req) => {
                let asking = reply::asking_approvers(level, req.incident(), duration.as_secs());
                let asking = with_target(asking, req.target());
                // If the answer went out already ("checking…"), the posted reply below says it.
                let _ = ack.send(asking);
                let (id, glass) = (req.id().clone(), req.break_glass().is_some());
                match self.post_request(req, &target).await {
                    Ok(text) => {
                        self.inner.metrics.request(label, "ok");
                        self.reply(&input, &text).await;
                        if glass {
                            Box::pin(self.break_glass(&id)).await;
                        } else {
                            Box::pin(self.auto_approve(&id)).await;
                        }
                        return;
                    }
                    Err(refusal) => refusal.split(),
                }
            }
        };
        self.inner.metrics.request(label, outcome);
        self.reply(&input, &text).await;
    }

    /// The checks that decide whether a request may be opened; on success the level is claimed
    /// for the new request (the claim holds its id).
    async fn admit(&self, user: &SlackUserId, ask: Ask) -> Result<Request, Refusal> {
        let Ask { target, level, incident, duration, reason, break_glass } = ask;
        let glass = match break_glass {
            true => Some(
                self.admit_break_glass(&target, user, &incident)
                    .await
                    .map_err(Refusal::Rejected)?,
            ),
            false => None,
        };
        self.check_holders(&target, user, level).await?;
        let policy = target
            .approvers
            .policy()
            .await
            .map_err(|_| Refusal::Failed(Rejection::Misconfigured.user_message()))?;
        // Break-glass needs no approvals, but someone to review it afterwards.
        let reviewable = policy.approvers().any(|a| a != user);
        if glass.is_some() && !reviewable {
            return Err(Refusal::Rejected(reply::not_enough_approvers(level, 1)));
        }
        if glass.is_none() && !policy.can_be_satisfied(level, user) {
            return Err(Refusal::Rejected(reply::not_enough_approvers(
                level,
                policy.threshold(level),
            )));
        }
        let new = NewRequest {
            id: RequestId::from_uuid(uuid::Uuid::new_v4()),
            level,
            incident,
            requester: user.clone(),
            duration,
        };
        let now = self.now();
        let named = self.inner.fleet.is_named().then(|| target.name.clone());
        let review = glass.map(|rules| BreakGlass::new(now, rules.review_within));
        let req = Request::open(new, &policy, now)
            .with_target(named)
            .with_reason(reason)
            .with_break_glass(review);
        let window = policy.approval_window().to_std().unwrap_or_default();
        // The document first, then the claim: a claim's holder always has a document, which
        // is how an orphaned claim is told from one being taken right now.
        if !matches!(self.inner.store.create(&req).await, Ok(true)) {
            return Err(Refusal::Failed(STATE_STORE_DOWN.into()));
        }
        let claimed = match self.inner.store.claim_level(&req, window).await {
            Ok(false) => match self.inner.store.free_orphaned_claim(&req).await {
                Ok(true) => self.inner.store.claim_level(&req, window).await,
                other => other.map(|_| false),
            },
            other => other,
        };
        match claimed {
            Ok(true) => Ok(req),
            Ok(false) => {
                self.forget(&req).await;
                Err(self.already_pending(&req, &target).await)
            }
            Err(e) => {
                self.forget(&req).await;
                Err(redis(e))
            }
        }
    }

    /// Whether the level can take `user` as a (new) holder: with the shared identity the level
    /// must be free; with per-person logins, `user` must not hold it already and it must have
    /// room (`access.max_holders_per_level`; the grant service checks again when issuing).
    async fn check_holders(
        &self,
        target: &Target,
        user: &SlackUserId,
        level: Level,
    ) -> Result<(), Refusal> {
        let grants = target
            .grants
            .active_grants(level)
            .await
            .map_err(|e| Refusal::Failed(e.user_message()))?;
        let held = |g: &crate::grants::GrantRecord| match as_grant(g) {
            Some(g) => Rejection::LevelHeld {
                level,
                holder: g.holder,
                incident: g.incident,
                until: g.expires_at,
            }
            .user_message(),
            None => reply::held_until_it_expires(level, &g.holder),
        };
        let settings = target.grants.settings();
        if !settings.per_person() {
            return match grants.first() {
                Some(g) => Err(Refusal::Rejected(held(g))),
                None => Ok(()),
            };
        }
        if let Some(own) = grants.iter().find(|g| g.holder == *user) {
            return Err(Refusal::Rejected(
                GrantError::AlreadyHolds(Box::new(own.clone())).user_message(),
            ));
        }
        if grants.len() >= usize::from(settings.max_holders) {
            let full = GrantError::Full { level, max: settings.max_holders };
            return Err(Refusal::Rejected(full.user_message()));
        }
        Ok(())
    }

    /// Deletes the document of a request that was never admitted (it holds no claim).
    async fn forget(&self, req: &Request) {
        let key = crate::timers::keys::request(req.id().as_str());
        if let Err(e) = self.inner.store.docs().delete(&key).await {
            tracing::warn!(error = %e, request_id = %req.id(), "could not delete a refused request");
        }
    }

    /// Stores, posts and records an admitted request; returns what the requester is told.
    async fn post_request(&self, req: Request, target: &Target) -> Result<String, Refusal> {
        let now = self.now();
        let hint = target.approvers.hint().await;
        let at = match self.inner.chat.post_request(&req, &hint, now).await {
            Ok(at) => at,
            Err(e) => {
                self.discard(&req).await;
                return Err(Refusal::Failed(reply::request_not_posted(&e.code)));
            }
        };
        if let Err(e) = self.record_posted(&req, &at).await {
            tracing::warn!(error = %e, request_id = %req.id(), "storing a posted request failed");
            self.inner.chat.thread(&at, crate::access::text::notes::VOID).await;
            self.discard(&req).await;
            return Err(Refusal::Failed(STATE_STORE_DOWN.into()));
        }
        let link = (self.inner.chat.permalink(&at).await)
            .unwrap_or_else(|_| reply::APPROVERS_CHANNEL.into());
        let posted = reply::request_posted(
            req.level(),
            req.incident(),
            req.duration().as_secs(),
            &link,
            req.needed(),
        );
        Ok(with_target(posted, req.target()))
    }

    /// Removes a request that could not be posted or recorded, and its claim. If that fails,
    /// the claim is an orphan the next request frees ([`RequestStore::free_orphaned_claim`]).
    ///
    /// [`RequestStore::free_orphaned_claim`]: crate::timers::RequestStore::free_orphaned_claim
    async fn discard(&self, req: &Request) {
        if let Err(e) = self.inner.store.discard(req).await {
            tracing::warn!(error = %e, request_id = %req.id(), "could not discard a void request");
        }
    }

    /// Attaches the message, points it at the request, lists it as open, schedules the timeout.
    async fn record_posted(&self, req: &Request, at: &MessageRef) -> Result<(), TimerError> {
        let id = req.id().as_str();
        let at2 = at.clone();
        self.inner.store.update(id, |r| Ok::<_, Rejection>(r.attach_message(at2.clone()))).await?;
        let deadline = req.approval_deadline();
        self.inner.store.link_message(req, &at.channel, &at.ts, deadline).await?;
        let payload = TimerPayload {
            level: Some(req.level().as_str().to_owned()),
            request_id: Some(id.to_owned()),
            incident: Some(req.incident().to_string()),
            ..TimerPayload::default()
        };
        let timer =
            Timer::new(approval_timer_id(id), TimerKind::ApprovalTimeout, deadline, payload);
        self.inner.queue.schedule(&timer).await
    }

    async fn already_pending(&self, req: &Request, target: &Target) -> Refusal {
        let (level, now) = (req.level(), self.now());
        let open = self.inner.store.open_requests(now).await.unwrap_or_default();
        let mine = target.grants.settings().per_person();
        let pending = open.iter().find(|r| {
            r.level() == level
                && r.target() == req.target()
                && r.id() != req.id()
                && (!mine || r.requester() == req.requester())
        });
        match crate::access::no_pending_request(level, pending, now) {
            Err(rejection) => Refusal::Rejected(rejection.user_message()),
            Ok(()) => Refusal::Rejected(reply::request_being_opened(level)),
        }
    }
}

/// What a request asks for: the target, the level, the incident and how long.
pub(super) struct Ask {
    pub target: Arc<Target>,
    pub level: Level,
    pub incident: IncidentId,
    pub duration: GrantDuration,
    pub reason: Option<crate::access::reason::Reason>,
    /// Break glass: issued at once without approvals (if the rules allow it).
    pub break_glass: bool,
}

enum Refusal {
    Rejected(String),
    Failed(String),
}

impl Refusal {
    /// The metrics outcome and the text for the requester.
    fn split(self) -> (&'static str, String) {
        match self {
            Refusal::Rejected(text) => ("rejected", text),
            Refusal::Failed(text) => ("error", text),
        }
    }
}

/// A fleet request's answers name its target first.
fn with_target(text: String, target: Option<&str>) -> String {
    match target {
        Some(t) => format!("[{t}] {text}"),
        None => text,
    }
}

fn redis(e: TimerError) -> Refusal {
    tracing::warn!(error = %e, "Redis failed while opening a request");
    Refusal::Failed(STATE_STORE_DOWN.into())
}

/// The access domain's view of a stored grant: its request, else its own id, names it (None if
/// neither is a request id).
pub(super) fn as_grant(g: &crate::grants::GrantRecord) -> Option<crate::access::Grant> {
    Some(crate::access::Grant {
        level: g.level,
        holder: g.holder.clone(),
        incident: g.incident.clone(),
        granted_at: g.granted_at,
        expires_at: g.expires_at,
        request_id: match &g.request_id {
            Some(id) => id.clone(),
            None => RequestId::parse(&g.id).ok()?,
        },
    })
}
