//! `pgroles serve`: builds the bot from configuration and runs it: the axum app (Slack routes,
//! `/healthz`, `/readyz`, `/metrics`) and the grants worker (expiry, reminders, the reconciler,
//! and the bot's ApprovalTimeout timers), until shutdown.
//!
//! With `slack.socket_mode` the Slack routes are not mounted: `SocketMode` dials out to Slack
//! instead and feeds the same listener state; health and metrics are served either way.
//!
//! Process lifetime: every spawned task is tracked and supervised. The timer worker ending
//! before shutdown (a panic, or the test hook [`Deps::worker_kill`]) turns `/readyz` red at once
//! and stops the process with an error, so the orchestrator restarts it. On SIGTERM the HTTP
//! server stops accepting, the workflow's tasks (an issue between password and DM included)
//! get `drain_timeout` to finish, the worker finishes its timers in flight (a failing one is
//! released for another replica at once), then the process exits. Idle broker connections are
//! closed every few seconds, and the connection budget is checked against the broker role's
//! `rolconnlimit` at start (see [`crate::broker::budget`]).
//!
//! This file owns wiring and process lifetime only, zero2prod style: [`Application::build`]
//! binds the configured address (port 0 in tests) and exposes [`Application::port`], so tests
//! and benchmarks run exactly what production runs. The inbound Slack side is in its
//! submodules: [`http`] (signatures, the routes), `socket_mode`, and [`dispatch`] (the one
//! command and event dispatch both share); the seams tests replace are `deps`' [`Deps`]. None
//! of it holds request logic (that is [`crate::workflow`]).

mod deps;
pub mod dispatch;
mod health;
pub mod http;
pub mod interaction;
mod lifecycle;
mod reject_log;
mod socket_mode;
mod targets;

use crate::access::{parse_user_ids, CommandRules, IncidentId, ReactionEmojis};
use crate::config::Config;
use crate::grants::{self, ExpiryWatch, GrantSettings};
use crate::metrics::Metrics;
use crate::slack::client::SlackApi;
use crate::slack::notifier::SlackBot;
use crate::slack::outbox::NoteSender;
use crate::timers::{self, DocStore, Idempotency, RequestStore, TimerQueue};
use crate::workflow::timeout::ApprovalTimeoutHandler;
use crate::workflow::{Workflow, WorkflowParts, WorkflowSettings};
use anyhow::Context;
use axum::routing::get;
use axum::Router;
pub use deps::Deps;
use dispatch::ListenerState;
pub(crate) use lifecycle::shutdown_signal;
use lifecycle::{close_idle_connections, refresh_instances, supervise_worker, WORKER_MAX_AGE};
use secrecy::ExposeSecret;
use socket_mode::SocketMode;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

type StopFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The built bot, bound to its port, not yet serving.
pub struct Application {
    port: u16,
    listener: TcpListener,
    router: Router,
    workflow: Workflow,
    /// The requests' queue (approval timeouts; a single target's grant timers too).
    queue: TimerQueue,
    /// Each target's grant timers, in [`crate::workflow::fleet::Fleet::all`]'s order.
    target_queues: Vec<TimerQueue>,
    metrics: Metrics,
    run_worker: bool,
    socket: Option<SocketMode>,
    notes: NoteSender,
    drain_timeout: Duration,
    worker_kill: Option<Arc<tokio::sync::Notify>>,
    idle_timeout: Duration,
}

impl Application {
    /// Connects Redis, checks the Slack token (`auth.test`), prepares the broker (connects
    /// lazily), and binds `server.listen`.
    pub async fn build(cfg: Config, deps: Deps) -> anyhow::Result<Application> {
        cfg.validate_for_serve()?;
        crate::access::validate_config(&cfg.access)?;
        let conn = timers::connect(&cfg.redis).await.context("connecting to Redis")?;
        let prefix = cfg.redis.key_prefix.clone();
        let docs = DocStore::new(conn.clone(), &prefix);
        let queue = TimerQueue::new(conn.clone(), &prefix);
        let idempotency = Idempotency::new(conn.clone(), &prefix);
        let slack = SlackApi::from_config(&cfg.slack)?.with_retry(deps.slack_retry);
        let bot_user = slack.auth_test().await.map_err(|e| {
            anyhow::anyhow!("Slack auth.test failed ({}): check slack.bot_token", e.code)
        })?;
        let metrics = Metrics::new();
        let access = Arc::new(cfg.access.clone());
        // A break-glass request is kept through its review window (and a day more).
        let request_ttl = Duration::from_secs(
            access.approval_window_secs
                + access.max_duration_secs
                + access.break_glass_review_secs.min(30 * 24 * 3600)
                + 24 * 3600,
        );
        let per_person = access.identity == crate::config::Identity::PerPerson;
        let mut store = RequestStore::new(docs.clone(), idempotency.clone(), request_ttl)
            .with_claims_per_requester(per_person);
        if let Some(hook) = deps.commit_hook.clone() {
            store = store.with_commit_hook(hook);
        }
        let emojis = ReactionEmojis::from_config(&cfg.slack);
        let first = cfg.target_names().remove(0);
        let connect = targets::connect_template(&cfg.for_target(&first).context("a target")?);
        let notes = NoteSender::new(
            timers::Outbox::new(conn.clone(), &prefix),
            slack.clone(),
            metrics.clone(),
            deps.clock.clone(),
            deps.outbox,
        );
        let bot = SlackBot::new(
            slack.clone(),
            &cfg.slack.audit_channel,
            metrics.clone(),
            deps.clock.clone(),
            emojis.clone(),
            store.clone(),
            connect,
        )?
        .with_outbox(notes.clone())
        .with_alert_group(cfg.slack.alert_group.as_deref())?;
        let settings =
            deps.grant_settings.clone().unwrap_or_else(|| GrantSettings::from_access(&cfg.access));
        drop(docs);
        let watch = Arc::new(ExpiryWatch::default());
        let shared = targets::Shared {
            conn: &conn,
            bot: &bot,
            slack: &slack,
            metrics: &metrics,
            clock: deps.clock.clone(),
            settings: &settings,
            approver_cache_ttl: deps.approver_cache_ttl,
            watch: watch.clone(),
        };
        let (fleet, target_queues) = targets::build(&cfg, &shared).await?;
        let on_call = crate::slack::oncall::SlackPagerDutyOnCall::from_config(&cfg, slack.clone())?;
        let rules = CommandRules::from_config(&access)?.with_targets(fleet.names());
        if let Some(name) =
            fleet.names().into_iter().find(|n| IncidentId::parse(n, rules.pattern()).is_ok())
        {
            anyhow::bail!(
                "targets.{name}: the name is also a valid incident id (access.incident_pattern); \
                 rename the target"
            );
        }
        let workflow = Workflow::new(WorkflowParts {
            settings: WorkflowSettings {
                rules,
                emojis,
                admins: parse_user_ids("admins", &access.admins)?,
                verify_users: cfg.slack.verify_users.clone(),
                verify_channels: cfg.slack.verify_channels.clone(),
                access,
                config: Arc::new(cfg.clone()),
            },
            chat: Arc::new(bot),
            store,
            queue: queue.clone(),
            fleet: fleet.clone(),
            clock: deps.clock.clone(),
            metrics: metrics.clone(),
            bot_user,
        });
        if let Some(on_call) = on_call {
            workflow.set_on_call(on_call);
        }
        let state =
            ListenerState { workflow: workflow.clone(), idempotency, metrics: metrics.clone() };
        metrics.register_expiry(
            watch.lag.clone(),
            watch.failed.clone(),
            watch.instance_sweeps.clone(),
        );
        let mut all_queues = target_queues.clone();
        if fleet.is_named() {
            all_queues.push(queue.clone());
        }
        let health = health::HealthState {
            redis: conn,
            fleet,
            queues: all_queues,
            metrics: metrics.clone(),
            worker: deps.run_worker,
            worker_max_age: WORKER_MAX_AGE,
        };
        let (slack_routes, socket) = if cfg.slack.socket_mode {
            (Router::new(), Some(SocketMode::check(&cfg.slack, state).await?))
        } else {
            let secret =
                cfg.slack.signing_secret.as_ref().context("slack.signing_secret is not set")?;
            (http::routes(state, secret.expose_secret()), None)
        };
        let router = slack_routes.merge(
            Router::new()
                .route("/healthz", get(health::healthz))
                .route("/readyz", get(health::readyz))
                .route("/metrics", get(health::metrics))
                .with_state(health),
        );
        let listener = TcpListener::bind(&cfg.server.listen)
            .await
            .with_context(|| format!("binding server.listen {}", cfg.server.listen))?;
        let port = listener.local_addr()?.port();
        Ok(Application {
            port,
            listener,
            router,
            workflow,
            queue,
            target_queues,
            metrics,
            run_worker: deps.run_worker,
            socket,
            notes,
            drain_timeout: deps.drain_timeout,
            worker_kill: deps.worker_kill,
            idle_timeout: Duration::from_secs(cfg.database.idle_timeout_secs.max(1)),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request workflow (benchmarks drive it directly).
    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves and runs the timer worker until `shutdown` completes; in-flight requests (up to
    /// the drain timeout) and the timers in flight are finished first. Returns an error when
    /// the worker ended on its own (then everything else is stopped too).
    pub fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
        // Boxed as a trait object: callers' futures stay shallow.
        Box::pin(self.run_inner(shutdown))
    }

    async fn run_inner(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let wait_stop = |mut rx: tokio::sync::watch::Receiver<bool>| -> StopFuture {
            Box::pin(async move {
                let _ = rx.wait_for(|stopped| *stopped).await;
            })
        };
        let tasks = tokio_util::task::TaskTracker::new();
        let fleet = self.workflow.fleet().clone();
        let extra: Arc<dyn grants::ExtraTimerHandler> =
            Arc::new(ApprovalTimeoutHandler(self.workflow.clone()));
        let mut workers = Vec::new();
        if self.run_worker {
            // One worker per target on its own queue; the requests' approval timeouts ride on
            // the single target's queue, or on a worker of their own in a fleet.
            let single = !fleet.is_named();
            for (target, queue) in fleet.all().iter().zip(&self.target_queues) {
                let extra = single.then(|| extra.clone());
                let run = grants::run(
                    target.grants.clone(),
                    queue.clone(),
                    wait_stop(stop_rx.clone()),
                    extra,
                );
                workers.push(tokio::spawn(run));
            }
            if !single {
                let first = fleet.first().grants.clone();
                let queue = self.queue.clone();
                let run = grants::run_extra_only(first, queue, wait_stop(stop_rx.clone()), extra);
                workers.push(tokio::spawn(run));
            }
        }
        let watch = fleet.first().grants.watch().clone();
        let workers: Vec<_> = workers
            .into_iter()
            .map(|handle| {
                tasks.spawn(supervise_worker(
                    handle,
                    watch.clone(),
                    stop_rx.clone(),
                    stop_tx.clone(),
                    self.worker_kill.clone(),
                ))
            })
            .collect();
        for target in fleet.all() {
            let grants = target.grants.clone();
            tasks.spawn(close_idle_connections(grants.clone(), self.idle_timeout, stop_rx.clone()));
            if grants.instances().discovers() {
                tasks.spawn(refresh_instances(grants, stop_rx.clone()));
            }
        }
        let socket = self.socket.map(|s| tasks.spawn(s.run(wait_stop(stop_rx.clone()))));
        let notes = tasks.spawn(self.notes.run(wait_stop(stop_rx.clone())));
        let server =
            axum::serve(self.listener, self.router).with_graceful_shutdown(wait_stop(stop_rx));
        let signal_tx = stop_tx.clone();
        // Not tracked: the signal may never come; aborted at the end.
        let signal = tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutdown requested; draining");
            let _ = signal_tx.send(true);
        });
        let served = server.await.context("serving HTTP");
        // Accepted Slack work (an issue between its password and its DM) finishes or times out.
        self.workflow.drain(self.drain_timeout).await;
        let mut result = served;
        if let Some(socket) = socket {
            match socket.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = result.and(Err(e)),
                Err(e) => result = result.and(Err(anyhow::anyhow!("the Socket Mode client: {e}"))),
            }
        }
        for worker in workers {
            match worker.await {
                Ok(Ok(stats)) => {
                    tracing::info!(
                        acked = stats.acked,
                        failed = stats.failed,
                        "timer worker stopped"
                    )
                }
                Ok(Err(e)) => result = result.and(Err(e)),
                Err(e) => result = result.and(Err(anyhow::anyhow!("the worker supervisor: {e}"))),
            }
        }
        let _ = stop_tx.send(true);
        signal.abort();
        if let Err(e) = notes.await {
            result = result.and(Err(anyhow::anyhow!("the outbox worker: {e}")));
        }
        tasks.close();
        tasks.wait().await;
        result
    }
}

/// `pgroles serve`: build from `cfg` and run until a signal.
pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    let app = Application::build(cfg, Deps::default()).await?;
    tracing::info!(port = app.port(), "pgroles bot listening");
    app.run_until_stopped().await
}
