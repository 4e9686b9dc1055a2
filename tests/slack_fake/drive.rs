//! What the fake sends to the bot: signed, and shaped the way slack-morphism parses it; and
//! what the user sees of the bot's answers (acks, response_url posts).

use crate::*;

#[test]
fn signatures_round_trip_with_slack_morphisms_verifier() {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let signer = SlackSigner::new(SecretString::from(secret.to_string()));
    let verifier = SlackEventSignatureVerifier::new(&SlackSigningSecret::new(secret.into()));
    let now = chrono::Utc::now().timestamp();
    let body = "token=x&command=%2Ffirefighter&text=ro+INC-42";
    let [(ts_name, ts), (sig_name, sig)] = signer.headers(now, body);
    assert_eq!(
        (ts_name, sig_name),
        (
            SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP,
            SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER
        )
    );
    verifier.verify(&sig, body, &ts).expect("slack-morphism accepts our signature");
    assert!(verifier.verify(&sig, "token=x&text=rw+INC-42", &ts).is_err(), "tampered body");
    let stale = (now - 600).to_string();
    assert!(verifier.verify(&signer.sign(now - 600, body), body, &stale).is_err(), "replayed");
}

#[tokio::test]
async fn payloads_parse_as_slack_morphism_events() {
    let fake = workspace().await;
    let cmd = fake.slash_command("/firefighter", "ro INC-42 1h", ALICE, OPS);
    let parsed: SlackCommandEvent = serde_urlencoded::from_str(&cmd.form_body()).unwrap();
    assert_eq!(
        (parsed.command.0.as_str(), parsed.text.as_deref()),
        ("/firefighter", Some("ro INC-42 1h"))
    );
    assert_eq!(parsed.user_id.0, ALICE);

    let event = fake
        .reaction_event(true, BOB, "white_check_mark", OPS, "1700000000.000100")
        .to_json(1_700_000_100);
    let SlackPushEvent::EventCallback(cb) = serde_json::from_value(event).unwrap() else {
        panic!("callback")
    };
    let SlackEventCallbackBody::ReactionAdded(r) = cb.event else {
        panic!("reaction_added: {:?}", cb.event)
    };
    assert_eq!((r.user.0.as_str(), r.reaction.0.as_str()), (BOB, "white_check_mark"));
    let SlackReactionsItem::Message(m) = r.item else { panic!("message item") };
    assert_eq!(
        (m.origin.channel.unwrap().0, m.origin.ts.0),
        (OPS.to_string(), "1700000000.000100".to_string())
    );

    let removed =
        fake.reaction_event(false, BOB, "x", OPS, "1700000000.000100").to_json(1_700_000_200);
    let SlackPushEvent::EventCallback(cb) = serde_json::from_value(removed).unwrap() else {
        panic!()
    };
    assert!(matches!(cb.event, SlackEventCallbackBody::ReactionRemoved(_)));
    let verification = serde_json::from_value(slack_fake::signer::url_verification("abc")).unwrap();
    assert!(matches!(verification, SlackPushEvent::UrlVerification(v) if v.challenge == "abc"));
}

/// A minimal stand-in bot: checks Slack's signature with slack-morphism, acks commands with an
/// ephemeral body, follows up on the response_url, and reports Slack's retry headers.
async fn signature_checking_bot(secret: &'static str) -> String {
    use axum::http::{HeaderMap, StatusCode};
    async fn verified(headers: &HeaderMap, body: &str) -> bool {
        let get =
            |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        SlackEventSignatureVerifier::new(&SlackSigningSecret::new("bot-test-signing-secret".into()))
            .verify(&get("x-slack-signature"), body, &get("x-slack-request-timestamp"))
            .is_ok()
    }
    assert_eq!(secret, "bot-test-signing-secret");
    let app = axum::Router::new()
        .route(
            "/slack/commands",
            axum::routing::post(|headers: HeaderMap, body: String| async move {
                if !verified(&headers, &body).await {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                let cmd: SlackCommandEvent = serde_urlencoded::from_str(&body).unwrap();
                let url = cmd.response_url.0.to_string();
                tokio::spawn(async move {
                    reqwest::Client::new()
                        .post(url)
                        .json(&json!({ "text": "request posted" }))
                        .send()
                        .await
                        .unwrap();
                });
                (
                    StatusCode::OK,
                    json!({ "text": format!("got {}", cmd.text.unwrap_or_default()) }).to_string(),
                )
            }),
        )
        .route(
            "/slack/events",
            axum::routing::post(|headers: HeaderMap, body: String| async move {
                if !verified(&headers, &body).await {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                let retry =
                    headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()).unwrap_or("0");
                (StatusCode::OK, format!("retry={retry}"))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn signed_command_reaches_the_bot_and_its_answers_reach_the_user() {
    let fake = workspace().await;
    let bot = signature_checking_bot("bot-test-signing-secret").await;
    let sender =
        SlackEventSender::new(&bot, SecretString::from("bot-test-signing-secret".to_string()))
            .with_fake(&fake);

    let cmd = fake.slash_command("/firefighter", "ro INC-42", ALICE, OPS);
    let ack = sender.send_command(&cmd).await.unwrap();
    assert_eq!(ack.status, 200);
    let texts = fake
        .wait_for(
            |ws| {
                let e = ws.ephemerals(ALICE);
                (e.len() == 2).then(|| {
                    e.into_iter()
                        .map(|e| (e.source, e.text.unwrap_or_default()))
                        .collect::<Vec<_>>()
                })
            },
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(
        texts.contains(&(slack_fake::EphemeralSource::CommandAck, "got ro INC-42".into())),
        "{texts:?}"
    );
    assert!(
        texts.contains(&(slack_fake::EphemeralSource::ResponseUrl, "request posted".into())),
        "{texts:?}"
    );
    assert_eq!(fake.with(|ws| ws.responses(&cmd.response_url)).len(), 1);

    let forged = SlackEventSender::new(&bot, SecretString::from("not-the-secret".to_string()));
    assert_eq!(forged.send_command(&cmd).await.unwrap().status, 401);
    let event = fake
        .reaction_event(true, BOB, "white_check_mark", OPS, "1700000000.000100")
        .to_json(1_700_000_000);
    assert_eq!(sender.send_event(&event).await.unwrap().body, "retry=0");
    assert_eq!(sender.resend_event(&event, 2, "http_timeout").await.unwrap().body, "retry=2");
}

#[tokio::test]
async fn response_url_takes_five_posts_then_refuses() {
    let fake = workspace().await;
    let url = fake.new_response_url(OPS, ALICE);
    let http = reqwest::Client::new();
    let post = |body: Value| http.post(url.clone()).json(&body).send();
    assert_eq!(post(json!({ "text": "" })).await.unwrap().status(), 400, "no_text");
    assert_eq!(
        post(json!({ "text": "for everyone", "response_type": "in_channel" }))
            .await
            .unwrap()
            .status(),
        200
    );
    for i in 0..4 {
        assert_eq!(post(json!({ "text": format!("private {i}") })).await.unwrap().status(), 200);
    }
    let sixth = post(json!({ "text": "one too many" })).await.unwrap();
    assert_eq!(
        (sixth.status().as_u16(), sixth.text().await.unwrap()),
        (404, "used_url".to_string())
    );
    assert_eq!(fake.messages(OPS)[0].user, ALICE, "in_channel shows as the user's");
    assert_eq!(fake.ephemerals(ALICE).len(), 4);
    let unknown = format!("{}/nope", url.rsplit_once('/').unwrap().0);
    assert_eq!(
        http.post(unknown).json(&json!({ "text": "x" })).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn a_slow_command_ack_shows_slacks_timeout_notice() {
    let fake = workspace().await;
    let cmd = fake.slash_command("/firefighter", "status", ALICE, OPS);
    let slow = slack_fake::SentResponse {
        status: 200,
        body: "late".into(),
        elapsed: Duration::from_millis(3_500),
    };
    fake.record_command_ack(&cmd, &slow);
    let shown = fake.ephemerals(ALICE);
    assert_eq!(
        shown[0].text.as_deref(),
        Some("/firefighter failed with the error \"operation_timeout\"")
    );
}
