//! Socket Mode (`slack.socket_mode = true`): the bot dials the fake's WebSocket, takes a slash
//! command and reactions as envelopes (acked, the command's ack carrying its reply), handles a
//! redelivered event once, reconnects after a cut or Slack's `disconnect`, and still serves
//! health and metrics over HTTP (without the `/slack/*` routes). Also: the app-level token is
//! required and checked at startup.

use crate::helpers::*;
use crate::support::{self, model::Model, pg};
use pgroles::config::{Config, DbAuth, SslMode};
use pgroles::server::{Application, Deps};
use secrecy::SecretString;
use slack_fake::{FakeSlack, SocketAck, ViewOutcome};

struct SocketBot {
    fake: FakeSlack,
    model: Option<Model>,
    port: u16,
    _task: tokio::task::JoinHandle<()>,
}

impl Drop for SocketBot {
    fn drop(&mut self) {
        self._task.abort();
    }
}

/// A config for Socket Mode against `fake` (no signing secret); the database is real when
/// `model` is given, else a closed loopback port (nothing here connects to it).
fn socket_config(fake: &FakeSlack, model: Option<&Model>, broker_password: &str) -> Config {
    let mut cfg = Config::default();
    if let Some(model) = model {
        cfg.model = model.names.clone();
        cfg.database.host = model.pg.host.clone();
        cfg.database.port = model.pg.port;
    } else {
        cfg.database.host = "127.0.0.1".into();
        cfg.database.port = support::free_port();
    }
    cfg.database.auth = DbAuth::Password;
    cfg.database.password = Some(SecretString::from(broker_password.to_owned()));
    cfg.database.sslmode = SslMode::Disable;
    cfg.database.pool_size = 2;
    cfg.redis.url = support::redis::url();
    cfg.redis.key_prefix = support::redis::prefix("socket");
    cfg.slack.socket_mode = true;
    cfg.slack.app_token = Some(SecretString::from(fake.app_token()));
    cfg.slack.bot_token = Some(SecretString::from(fake.bot_token()));
    cfg.slack.api_url = fake.api_url();
    cfg.slack.audit_channel = AUDIT.into();
    cfg.access.approvers = vec![APPROVER1.into(), APPROVER2.into()];
    cfg.access.max_duration_secs = 3600;
    cfg.access.default_duration_secs = 600;
    cfg.server.listen = "127.0.0.1:0".into();
    cfg
}

async fn spawn_socket_bot() -> SocketBot {
    capture_logs();
    let server = pg::version(15)
        .or_else(|| pg::versions().into_iter().next())
        .expect("a PostgreSQL test cluster");
    let model = Model::new(&server, "sock");
    model.apply().await;
    let broker_password = model.set_password(&model.names.broker()).await;
    let fake = FakeSlack::start().await.expect("fake Slack");
    fake.add_users(&[REQUESTER, APPROVER1, APPROVER2, OUTSIDER]);
    fake.add_channel(AUDIT);
    let cfg = socket_config(&fake, Some(&model), &broker_password);
    let app = Application::build(cfg.clone(), Deps::for_local_drill(&cfg.access))
        .await
        .expect("the bot builds in Socket Mode");
    let port = app.port();
    let task = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    SocketBot { fake, model: Some(model), port, _task: task }
}

impl SocketBot {
    async fn command(&self, user: &str, text: &str) -> SocketAck {
        let cmd = self.fake.slash_command("/firefighter", text, user, AUDIT);
        let ack = self.fake.socket_command(&cmd).await.expect("the command envelope is acked");
        assert!(ack.elapsed < std::time::Duration::from_secs(3), "ack took {:?}", ack.elapsed);
        ack
    }

    async fn ephemeral(&self, user: &str, needle: &str) {
        let (u, n) = (user.to_owned(), needle.to_owned());
        let found = self
            .fake
            .wait_for(
                |ws| {
                    ws.ephemerals(&u)
                        .into_iter()
                        .find(|e| e.text.as_deref().unwrap_or_default().contains(&n))
                },
                WAIT,
            )
            .await;
        assert!(
            found.is_ok(),
            "ephemeral {needle:?} for {user}: {:#?}",
            self.fake.ephemerals(user)
        );
    }

    fn count_in_thread(&self, ts: &str, needle: &str) -> usize {
        self.fake.thread(AUDIT, ts).iter().filter(|m| text_of(m).contains(needle)).count()
    }

    async fn http(&self, method: reqwest::Method, path: &str) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let resp = reqwest::Client::new().request(method, url).send().await.expect("HTTP");
        (resp.status().as_u16(), resp.text().await.unwrap_or_default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_takes_commands_and_approvals_over_the_socket_and_survives_reconnects() {
    let mut bot = spawn_socket_bot().await;
    bot.fake.wait_socket_connections(1, WAIT).await.expect("the bot connects");
    assert_eq!(bot.http(reqwest::Method::GET, "/healthz").await.0, 200);
    let (status, _) = bot.http(reqwest::Method::POST, "/slack/commands").await;
    assert_eq!(status, 404, "no Slack HTTP routes in Socket Mode");

    // The command's ack carries the immediate reply, shown to the requester.
    let ack = bot.command(REQUESTER, "ro INC-7").await;
    let reply = ack.payload.clone().expect("the ack carries the reply").to_string();
    assert!(reply.contains("Asking the approvers"), "{reply}");
    bot.ephemeral(REQUESTER, "Asking the approvers").await;
    let request = bot.fake.wait_for(|ws| ws.messages(AUDIT).first().cloned(), WAIT).await;
    let request = request.expect("the request is posted in the channel");
    assert!(text_of(&request).contains("requests ro access for INC-7"), "{}", text_of(&request));

    // A self-approval, then Slack's redelivery of the same event: handled once.
    let own = bot.fake.reaction_event(true, REQUESTER, APPROVE, AUDIT, &request.ts);
    let own = own.to_json(now_secs());
    let first = bot.fake.socket_event(&own, 0).await.expect("the event is acked");
    assert_eq!(first.payload, None, "an event's ack has no payload");
    let note = "reacted to their own request; that does not count";
    let ts = request.ts.clone();
    bot.fake
        .wait_for(|ws| ws.thread(AUDIT, &ts).into_iter().find(|m| text_of(m).contains(note)), WAIT)
        .await
        .expect("the self-approval is noted");
    bot.fake.socket_event(&own, 1).await.expect("the redelivery is acked too");

    // The approver's reaction leads to the password DM.
    let approval = bot.fake.reaction_event(true, APPROVER1, APPROVE, AUDIT, &request.ts);
    bot.fake.socket_event(&approval.to_json(now_secs()), 0).await.expect("acked");
    bot.ephemeral(REQUESTER, "Password: `").await;
    let dm = bot.fake.with(|ws| ws.dm_channel(REQUESTER));
    let in_dm = bot.fake.ephemerals(REQUESTER).into_iter().any(|e| {
        Some(&e.channel) == dm.as_ref() && e.text.unwrap_or_default().contains("Password: `")
    });
    assert!(in_dm, "the password comes in the DM");
    let ts = request.ts.clone();
    bot.fake
        .wait_for(
            |ws| ws.thread(AUDIT, &ts).into_iter().find(|m| text_of(m).contains("Access issued")),
            WAIT,
        )
        .await
        .expect("the issue is noted");
    assert_eq!(bot.count_in_thread(&request.ts, note), 1, "the redelivered event was handled");
    let (_, metrics) = bot.http(reqwest::Method::GET, "/metrics").await;
    assert!(
        metrics.contains(r#"command="reaction_added",outcome="duplicate"} 1"#),
        "the duplicate is counted: {metrics}"
    );

    // A network cut: the bot opens a new connection (a new apps.connections.open).
    let opened = bot.fake.calls("apps.connections.open").len();
    bot.fake.cut_sockets();
    bot.fake.wait_socket_connections(2, WAIT).await.expect("the bot reconnects after a cut");
    assert!(bot.fake.calls("apps.connections.open").len() > opened, "a new URL was asked for");
    bot.command(APPROVER1, "status").await;
    bot.ephemeral(APPROVER1, &format!("ro: held by <@{REQUESTER}> for INC-7")).await;

    // Slack asks for a refresh: the bot reconnects and keeps working.
    assert!(bot.fake.send_disconnect("refresh_requested"), "a socket is open");
    bot.fake.wait_socket_connections(3, WAIT).await.expect("the bot reconnects on disconnect");
    let ack = bot.command(APPROVER2, "status").await;
    assert!(ack.payload.is_some(), "the status reply comes with the ack");
    bot.ephemeral(APPROVER2, "ro: held by").await;

    let uses_app_token = bot.fake.calls("apps.connections.open").iter().all(|c| c.outcome == "ok");
    assert!(uses_app_token, "every apps.connections.open used the app-level token");
    let logs = logs();
    assert!(!logs.contains(&bot.fake.app_token()), "app token in the logs");
    assert!(!logs.contains(&bot.fake.bot_token()), "bot token in the logs");
    if let Some(model) = bot.model.take() {
        model.drop().await;
    }
}

/// The request form over the socket: `/firefighter` alone is acked bare and the form opens; a
/// wrong form's errors ride on the envelope's ack (the modal stays open), a right one closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_opens_the_form_and_answers_a_wrong_one_on_the_ack() {
    let mut bot = spawn_socket_bot().await;
    bot.fake.wait_socket_connections(1, WAIT).await.expect("the bot connects");
    let ack = bot.command(REQUESTER, "").await;
    assert_eq!(ack.payload, None, "acked bare: the form is the answer");
    bot.fake.wait_for(|ws| ws.modal(REQUESTER), WAIT).await.expect("the form opens");

    let wrong = [("pgroles_level", "ro"), ("pgroles_incident", "INC 7")];
    let payload = bot.fake.view_submission(REQUESTER, &wrong).expect("submittable");
    let (ack, outcome) = bot.fake.socket_view_submission(&payload).await.expect("acked");
    assert!(ack.elapsed < std::time::Duration::from_secs(3), "ack took {:?}", ack.elapsed);
    let ViewOutcome::Errors(errors) = outcome else { panic!("errors on the ack: {outcome:?}") };
    assert!(errors["pgroles_incident"].contains("cannot contain spaces"), "{errors:?}");

    let right = [("pgroles_level", "ro"), ("pgroles_incident", "INC-7")];
    let payload = bot.fake.view_submission(REQUESTER, &right).expect("submittable");
    let (_, outcome) = bot.fake.socket_view_submission(&payload).await.expect("acked");
    assert_eq!(outcome, ViewOutcome::Closed);
    bot.ephemeral(REQUESTER, "Asking the approvers").await;
    let request = bot.fake.wait_for(|ws| ws.messages(AUDIT).first().cloned(), WAIT).await;
    assert!(text_of(&request.expect("posted")).contains("requests ro access for INC-7"));
    if let Some(model) = bot.model.take() {
        model.drop().await;
    }
}

#[tokio::test]
async fn socket_mode_without_an_app_token_is_refused_with_one_clear_line() {
    let fake = FakeSlack::start().await.expect("fake Slack");
    let mut cfg = socket_config(&fake, None, "unused");
    cfg.slack.app_token = None;
    let err = Application::build(cfg.clone(), Deps::for_local_drill(&cfg.access))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("slack.app_token") && err.contains("PGROLES_SLACK_APP_TOKEN"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(fake.calls("apps.connections.open").is_empty(), "refused before calling Slack");
}

#[tokio::test]
async fn socket_mode_with_a_wrong_app_token_stops_at_startup() {
    let fake = FakeSlack::start().await.expect("fake Slack");
    let mut cfg = socket_config(&fake, None, "unused");
    cfg.slack.app_token = Some(SecretString::from(fake.bot_token()));
    let err = Application::build(cfg.clone(), Deps::for_local_drill(&cfg.access))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("apps.connections.open failed (not_allowed_token_type)"), "{err}");
    assert!(err.contains("slack.app_token"), "{err}");
    cfg.slack.app_token = Some(SecretString::from("xapp-1-A0-0-wrong"));
    let err = Application::build(cfg.clone(), Deps::for_local_drill(&cfg.access))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("(invalid_auth)"), "{err}");
    assert_eq!(fake.socket_connections(), 0);
}
