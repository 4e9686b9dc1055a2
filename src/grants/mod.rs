//! Grants: issuing firefighter passwords, ending them on time (Redis timers), and keeping the
//! database and Redis in agreement (the reconciler). Used by the Slack bot (`pgroles serve`) and
//! by `pgroles worker` / `pgroles revoke` / `pgroles status`.
//!
//! The invariants this module owns:
//! - **Fail closed.** A password is set only after its Expire timer and the grant document are in
//!   Redis; if anything fails after the password was set, it is expired again at once.
//! - **One grant per level, or per person.** With the shared identity the grant document at
//!   `<prefix>grant:<level>` is the lock; with per-person logins each holder's document takes a
//!   slot `<prefix>grant:<level>:<n>` (at most `access.max_holders_per_level`). Documents change
//!   only by compare-and-swap. A timer acts only on the grant it names: an old timer never ends
//!   a newer grant.
//! - **The database is the truth for what is live, Redis says when to act.** The reconciler
//!   re-creates lost Expire timers for roles whose `VALID UNTIL` is still ahead and ends sessions
//!   of roles that hold no grant; a per-person login without an active grant is ended.
//! - **No secret leaves memory** except through [`Notifier::deliver`]: not to Redis, logs, errors.
//!
//! It must not know Slack (the bot adapts [`Notifier`] and [`GrantEvent`]) nor decide who may
//! approve or revoke (the caller checks that).
//!
//! Module map:
//! - [`record`]: [`GrantRecord`], [`IssueRequest`], [`GrantSettings`], timer ids and keys, and
//!   `Ending` (how a grant ended).
//! - [`notify`]: [`Notifier`], [`GrantEvent`], [`LogNotifier`].
//! - [`error`]: the [`GrantError`] enum.
//! - [`service`]: [`GrantService`]: `issue`, `resend`, `revoke`, `expire_now`, `active`.
//! - [`person`]: per-person grants (a login of one's own, slots of a level), and what both
//!   identities share: lookups over a level's documents, starting and ending a credential.
//! - [`ending`]: how a grant ends (expire, end sessions, forget) and the undo paths of issue.
//! - [`instances`]: ending sessions on the cluster's other instances (Aurora readers);
//!   `sweep`: retrying an instance that was unreachable when a grant ended.
//! - [`timers`]: `GrantService::handle_timer` (Expire, Reminder).
//! - [`reconcile`]: `GrantService::{reconcile, status}`, [`ReconcileReport`], [`Status`];
//!   `reconcile_person`: its pass over per-person logins (lost timers, logins without a grant);
//!   `reconcile_instances`: its pass over the other instances (sessions without a grant).
//! - [`worker`]: [`run`]: the timer worker (one task per claimed timer, per-attempt back-off)
//!   and the reconcile loop in its own task.
//! - [`watch`]: [`ExpiryWatch`]: the worker's heartbeat, expiry lag and failed expiries.
//! - [`cli`]: `pgroles revoke|status|worker` bodies, built from [`Config`](crate::config::Config).

pub mod cli;
pub mod ending;
pub mod error;
pub mod extend;
pub mod instances;
pub mod notify;
pub mod person;
pub mod reconcile;
mod reconcile_instances;
mod reconcile_person;
pub mod record;
pub mod service;
mod sweep;
pub mod timers;
pub mod watch;
pub mod worker;

pub use error::GrantError;
pub use instances::InstanceReport;
pub use notify::{GrantEvent, LogNotifier, Notifier};
pub use reconcile::{ReconcileReport, RoleStatus, Status};
pub use record::{GrantRecord, GrantSettings, IssueRequest};
pub use service::GrantService;
pub use timers::TimerOutcome;
pub use watch::ExpiryWatch;
pub use worker::{run, run_extra_only, ExtraTimerHandler, RunStats};
