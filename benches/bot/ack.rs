//! Slash-command acknowledgement latency under an open-loop load: requests go out at a fixed
//! rate whether or not earlier ones were answered (so a slow bot cannot slow the load down and
//! hide its own queueing), and each one's HTTP response time is recorded.
//!
//! The load generator runs on its own OS thread with its own single-threaded runtime (Slack is
//! another machine; here it is at least another scheduler), and every request, signature
//! included, is prepared before the clock starts. Owns request preparation and firing; it must
//! not judge goals (main does).

use crate::stats::Series;
use crate::support::bot::{World, AUDIT, REQUESTER};
use axum::body::Body;
use axum::http::{header, Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::SecretString;
use slack_fake::SlackSigner;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::time::MissedTickBehavior;

/// One prepared request and the text its answer must contain.
#[derive(Clone)]
pub struct Prepared {
    method: Method,
    path: &'static str,
    body: String,
    headers: Vec<(&'static str, String)>,
    expect: &'static str,
}

/// `GET /healthz`: no signature, no work (the baseline).
pub fn healthz(n: usize) -> Vec<Prepared> {
    let req = Prepared {
        method: Method::GET,
        path: "/healthz",
        body: String::new(),
        headers: Vec::new(),
        expect: "ok",
    };
    vec![req; n]
}

/// `n` signed `/firefighter <text(i)>` commands from the requester in the audit channel, each
/// with its own trigger id and live response_url.
pub fn commands(
    world: &World,
    signing_secret: &str,
    n: usize,
    text: impl Fn(usize) -> String,
    expect: &'static str,
) -> Vec<Prepared> {
    let signer = SlackSigner::new(SecretString::from(signing_secret.to_owned()));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    (0..n)
        .map(|i| {
            let cmd = world.fake.slash_command("/firefighter", &text(i), REQUESTER, AUDIT);
            let body = cmd.form_body();
            let mut headers: Vec<(&'static str, String)> =
                signer.headers(now, &body).into_iter().collect();
            headers
                .push((header::CONTENT_TYPE.as_str(), "application/x-www-form-urlencoded".into()));
            Prepared { method: Method::POST, path: "/slack/commands", body, headers, expect }
        })
        .collect()
}

/// What one open-loop phase measured.
pub struct Phase {
    pub series: Series,
    /// Requests actually sent per second.
    pub achieved_rate: f64,
    /// Worst delay between a request's slot and its departure (the generator keeping up).
    pub max_send_lag: Duration,
}

/// Sends `reqs` to `127.0.0.1:port` at `rate` per second on a dedicated thread; waits for all.
pub async fn open_loop(
    name: &str,
    port: u16,
    reqs: Vec<Prepared>,
    rate: f64,
) -> anyhow::Result<Phase> {
    let name = name.to_owned();
    let thread = std::thread::spawn(move || -> anyhow::Result<Phase> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(fire(name, port, reqs, rate))
    });
    tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the load generator panicked"))?
}

struct Outcome {
    elapsed: Duration,
    lag: Duration,
    ok: bool,
}

async fn fire(name: String, port: u16, reqs: Vec<Prepared>, rate: f64) -> anyhow::Result<Phase> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    let base = format!("http://127.0.0.1:{port}");
    // Warm-up: open a few pooled connections before the clock starts.
    for _ in 0..10 {
        let _ = send(&client, &base, &healthz(1)[0]).await;
    }
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(reqs.len());
    for req in reqs {
        let slot = ticks.tick().await.into_std();
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let lag = Instant::now().saturating_duration_since(slot);
            let sent = Instant::now();
            let ok = send(&client, &base, &req)
                .await
                .is_ok_and(|(status, body)| status == 200 && body.contains(req.expect));
            Outcome { elapsed: sent.elapsed(), lag, ok }
        }));
    }
    let sending = started.elapsed();
    let n = tasks.len();
    let (mut samples, mut errors, mut max_lag) = (Vec::with_capacity(n), 0, Duration::ZERO);
    for t in tasks {
        let o = t.await?;
        max_lag = max_lag.max(o.lag);
        if o.ok {
            samples.push(o.elapsed);
        } else {
            errors += 1;
        }
    }
    Ok(Phase {
        series: Series::new(name, samples, errors),
        achieved_rate: n.saturating_sub(1) as f64 / sending.as_secs_f64().max(1e-9),
        max_send_lag: max_lag,
    })
}

async fn send(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Body>,
    base: &str,
    req: &Prepared,
) -> anyhow::Result<(u16, String)> {
    let mut builder =
        Request::builder().method(req.method.clone()).uri(format!("{base}{}", req.path));
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    let resp = client.request(builder.body(Body::from(req.body.clone()))?).await?;
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(Body::new(resp.into_body()), 1 << 20).await?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
