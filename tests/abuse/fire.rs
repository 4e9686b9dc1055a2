//! Sends the attacks to the bot (reqwest, bounded concurrency), signing each at send time, and
//! tallies the answers by category and status. A transport error (the connection dropped, no
//! answer) is tallied as status 0.
//!
//! Owns sending and counting. It must not decide what is acceptable (the test does).

use crate::gen::{Attack, Signing};
use futures::stream::{self, StreamExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// `category -> status -> count`.
pub type Tally = BTreeMap<&'static str, BTreeMap<u16, u64>>;

pub async fn fire(base: &str, secret: &str, attacks: Vec<Attack>, concurrency: usize) -> Tally {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("HTTP client");
    let answers: Vec<(&'static str, u16)> = stream::iter(attacks)
        .map(|a| {
            let client = client.clone();
            async move { (a.category, send(&client, base, secret, a).await) }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut tally = Tally::new();
    for (category, status) in answers {
        *tally.entry(category).or_default().entry(status).or_default() += 1;
    }
    tally
}

async fn send(client: &reqwest::Client, base: &str, secret: &str, a: Attack) -> u16 {
    let method = reqwest::Method::from_bytes(a.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let category = a.category;
    let mut body = a.body;
    let mut req = client
        .request(method, format!("{base}{}", a.path))
        .header("content-type", a.content_type)
        .header("user-agent", "Slackbot 1.0 (+https://api.slack.com/robots)");
    if body.len() > 64 * 1024 {
        // The bot answers 413 without reading the body and closes the connection; a pooled
        // reuse of it would race that close and look like a crash.
        req = req.header("connection", "close");
    }
    match a.signing {
        Signing::Unsigned { timestamp, signature } => {
            let ts = now_secs().to_string();
            if timestamp {
                req = req.header("x-slack-request-timestamp", &ts);
            }
            if signature {
                req = req.header("x-slack-signature", sign("", &ts, &body));
            }
        }
        Signing::Signed { secret: other, offset, tamper } => {
            let ts = (now_secs() + offset).to_string();
            let sig = sign(other.as_deref().unwrap_or(secret), &ts, &body);
            if let Some((at, bits)) = tamper {
                if !body.is_empty() {
                    let i = at % body.len();
                    body[i] ^= bits;
                }
            }
            req = req.header("x-slack-request-timestamp", ts).header("x-slack-signature", sig);
        }
        Signing::BadTimestamp(ts) => {
            let sig = sign(secret, &ts, &body);
            req = req.header("x-slack-request-timestamp", ts).header("x-slack-signature", sig);
        }
    }
    match req.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let _ = resp.bytes().await;
            status
        }
        Err(e) => {
            if std::env::var_os("PGROLES_ABUSE_DEBUG").is_some() {
                eprintln!("{category}: {e:?}");
            }
            0
        }
    }
}
