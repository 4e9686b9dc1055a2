//! The one place that sequences I/O for access requests: load the request, decide with the pure
//! [`crate::access`] domain, store the decision with compare-and-swap ([`RequestStore`]), then
//! act on it (chat posts through the [`Chat`] port, passwords through [`GrantService`], timers).
//! The outside world is reached only through [`port`]'s traits, which the outbound
//! adapter (the `slack` module) implements: the workflow never imports the adapter.
//!
//! It must not parse HTTP or verify signatures (that is [`crate::server::http`]), must not
//! hold wording beyond short audit notes (user text comes from [`crate::access::text`] and the
//! errors' `user_message`), and never sees a password: the grant service hands it straight to
//! the notifier.
//!
//! Map: [`commands`] (slash commands), `form` (the request form: open, submit), [`fleet`] (the targets served), `holders` (status, revoke, resend, activity), [`open`] (a new request), [`reactions`] (approvals and
//! what follows), `notes` (what a stored change says, committed with it), [`timeout`] (the
//! ApprovalTimeout timer), `break_glass` (issued at once, the loud trail, review reminders), `verify` (`/pgroles verify`), [`approvers`] (the approver group,
//! cached), `oncall` (on-call auto-approval through [`port::OnCall`]), [`port`] (what the
//! workflow needs from the chat: [`Chat`], [`UserGroups`]).

pub mod approvers;
mod break_glass;
pub mod commands;
mod extend;
pub mod fleet;
mod form;
mod history;
mod holders;
mod home;
mod notes;
mod oncall;
pub mod open;
pub mod port;
pub mod reactions;
pub mod timeout;
mod verify;

use crate::access::{CommandRules, ReactionEmojis, SlackUserId};
use crate::config::AccessConfig;
use crate::grants::GrantService;
use crate::metrics::Metrics;
use crate::timers::{Clock, RequestStore, TimerQueue};
use fleet::Fleet;
use port::Chat;
use std::sync::Arc;

/// A slash command as the listener hands it over (already signature-checked).
#[derive(Debug, Clone)]
pub struct CommandInput {
    pub command: String,
    pub text: String,
    pub user: String,
    pub channel: String,
    /// Empty for a request from the form (answers go to `channel` as ephemeral messages).
    pub response_url: String,
    /// Slack's handle for opening a modal for this user (3 s); empty where there is none.
    pub trigger_id: String,
}

/// A submitted request form, as the listener hands it over (already signature-checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormInput {
    pub user: String,
    /// Where the form was opened (the view's private metadata); the answers go there.
    pub channel: String,
    pub values: crate::access::FormValues,
}

/// How a submitted form was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormAnswer {
    /// Valid: the form closes and the request goes on as a typed one would.
    Accepted,
    /// Each wrong field with why: shown under the fields, the form stays open.
    Refused(Vec<crate::access::FieldError>),
}

/// A `reaction_added` / `reaction_removed` on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionInput {
    pub added: bool,
    pub user: String,
    pub reaction: String,
    pub channel: String,
    pub ts: String,
    /// Slack's `event_ts`: when the reaction happened (orders adds against removals).
    pub event_ts: Option<String>,
    /// Slack's `event_id` (forgotten again if the reaction could not be recorded).
    pub event_id: Option<String>,
}

/// `action_id` of the request message's Approve button (its `value` is the request id).
pub const APPROVE_ACTION: &str = "pgroles_approve";
/// `action_id` of the request message's Deny button.
pub const DENY_ACTION: &str = "pgroles_deny";
/// `action_id` of a break-glass request's Reviewed button (same as an approver's approve
/// reaction on it).
pub const REVIEW_ACTION: &str = "pgroles_review";

/// A press of the request message's Approve or Deny button (`block_actions`), as Slack sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonInput {
    pub user: String,
    /// `pgroles_approve` or `pgroles_deny` (anything else is ignored).
    pub action_id: String,
    pub channel: String,
    /// The request message's `ts`.
    pub ts: String,
    /// Slack's `action_ts`: when the press happened (ordered with the reactions).
    pub action_ts: Option<String>,
    /// The button's `value` (the holder's buttons: `<level>` or `<level>|<target>`).
    pub value: Option<String>,
}

/// `action_id` of the reminder DM's "I'm done" button (value `<level>[|<target>]`).
pub const DONE_ACTION: &str = "pgroles_done";
/// `action_id` of the reminder DM's "Extend" button (asks for [`EXTEND_BUTTON_SECS`] more).
pub const EXTEND_ACTION: &str = "pgroles_extend";
/// What the reminder's Extend button asks for.
pub const EXTEND_BUTTON_SECS: u64 = 1800;

/// What the workflow needs from the configuration, compiled once.
#[derive(Debug, Clone)]
pub struct WorkflowSettings {
    pub access: Arc<AccessConfig>,
    pub rules: CommandRules,
    pub emojis: ReactionEmojis,
    pub admins: Vec<SlackUserId>,
    pub verify_users: Vec<String>,
    pub verify_channels: Vec<String>,
    /// The whole configuration (verify opens its own broker connection).
    pub config: Arc<crate::config::Config>,
}

/// The request workflow. Cheap to clone.
#[derive(Clone)]
pub struct Workflow {
    inner: Arc<Inner>,
}

/// The parts of a [`Workflow`].
pub struct WorkflowParts {
    pub settings: WorkflowSettings,
    pub chat: Arc<dyn Chat>,
    pub store: RequestStore,
    pub queue: TimerQueue,
    /// The databases served, each with its grant service and approvers.
    pub fleet: Fleet,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// The bot's own user id (its reactions are ignored).
    pub bot_user: String,
}

struct Inner {
    settings: WorkflowSettings,
    chat: Arc<dyn Chat>,
    store: RequestStore,
    queue: TimerQueue,
    fleet: Fleet,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    bot_user: String,
    /// Every task the workflow spawns (a request, a reaction, a command): drained on shutdown.
    tasks: tokio_util::task::TaskTracker,
    /// One `/pgroles verify` at a time, on the broker's pool (see `verify.rs`).
    verify_slot: tokio::sync::Semaphore,
    /// On-call auto-approval, when configured (see `oncall.rs`).
    on_call: std::sync::OnceLock<Arc<dyn port::OnCall>>,
}

impl Workflow {
    pub fn new(p: WorkflowParts) -> Workflow {
        Workflow {
            inner: Arc::new(Inner {
                settings: p.settings,
                chat: p.chat,
                store: p.store,
                queue: p.queue,
                fleet: p.fleet,
                clock: p.clock,
                metrics: p.metrics,
                bot_user: p.bot_user,
                tasks: tokio_util::task::TaskTracker::new(),
                verify_slot: tokio::sync::Semaphore::new(1),
                on_call: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The first target's grant service (the only one without `[targets]`).
    pub fn grants(&self) -> &Arc<GrantService> {
        &self.inner.fleet.first().grants
    }

    pub fn fleet(&self) -> &Fleet {
        &self.inner.fleet
    }

    /// Runs `work` as a tracked task: shutdown waits for it (see [`Workflow::drain`]).
    pub fn spawn<F>(&self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.tasks.spawn(work);
    }

    /// Waits up to `timeout` for every spawned task; returns whether all finished. New tasks
    /// can still be spawned meanwhile (a Slack event already accepted) and are waited for too.
    pub async fn drain(&self, timeout: std::time::Duration) -> bool {
        self.inner.tasks.close();
        let done = tokio::time::timeout(timeout, self.inner.tasks.wait()).await.is_ok();
        if !done {
            tracing::warn!(left = self.inner.tasks.len(), "shutdown: tasks still running");
        }
        done
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    /// The target a stored request is for; `None` when the configuration no longer has it.
    fn target_of(&self, req: &crate::access::Request) -> Option<Arc<fleet::Target>> {
        let found = self.inner.fleet.get(req.target()).cloned();
        if found.is_none() {
            tracing::warn!(request_id = %req.id(), target = ?req.target(), "unknown target");
        }
        found
    }

    /// Who approves a stored request's target, for its message ("" for an unknown target).
    async fn hint_for(&self, req: &crate::access::Request) -> String {
        match self.target_of(req) {
            Some(t) => t.approvers.hint().await,
            None => String::new(),
        }
    }
}

/// Id of the ApprovalTimeout timer of a request.
pub fn approval_timer_id(request_id: &str) -> String {
    format!("approval_timeout:{request_id}")
}
