//! What the suite proves, read from the outside after each scenario: the audit table (through
//! `db_admin.firefighter_audit_recent`), `pg_authid` (is any firefighter password still
//! usable?), `pg_stat_activity` (sessions left), the DMs the fake Slack recorded, and a scan of
//! every other place a password could leak to (Slack calls and messages, the bot's debug logs,
//! every Redis key of the prefix).
//!
//! Owns the invariants and the summary table. It must not drive the bot.

use crate::harness::{password_in, World, PREFIX, REQUESTER};
use crate::support::pg;
use chrono::{DateTime, Utc};
use pgroles::model::Level;
use std::time::{Duration, Instant};

/// One row of `<admin>.firefighter_audit`.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub event: String,
    pub role: String,
    pub at: DateTime<Utc>,
    /// Who acted (the `requester` column: the requester of an issue, the actor otherwise).
    pub by: Option<String>,
}

pub async fn audit(world: &World) -> anyhow::Result<Vec<AuditRow>> {
    let su = world.model.superuser().await;
    let sql = format!(
        "SELECT id, event, role::text, at, requester FROM {}.firefighter_audit_recent(1000) \
         ORDER BY id",
        pg::ident(&world.model.names.admin_schema)
    );
    let rows = su.query(&sql, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| AuditRow {
            id: r.get(0),
            event: r.get(1),
            role: r.get(2),
            at: r.get(3),
            by: r.get(4),
        })
        .collect())
}

fn roles(world: &World) -> Vec<String> {
    [Level::Ro, Level::Rw].iter().map(|l| world.model.names.firefighter(*l)).collect()
}

/// Firefighter roles whose password would still log in.
pub async fn unexpired(world: &World) -> anyhow::Result<Vec<String>> {
    let su = pg::superuser(&world.model.pg, "postgres").await;
    let rows = su
        .query(
            "SELECT rolname::text FROM pg_authid WHERE rolname = ANY($1) \
             AND rolpassword IS NOT NULL AND (rolvaliduntil IS NULL OR rolvaliduntil > now())",
            &[&roles(world)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub async fn sessions_left(world: &World) -> anyhow::Result<i64> {
    let su = pg::superuser(&world.model.pg, "postgres").await;
    let row = su
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = ANY($1)",
            &[&roles(world)],
        )
        .await?;
    Ok(row.get(0))
}

/// Waits until no firefighter password is usable (or the timeout).
pub async fn wait_all_expired(world: &World, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = unexpired(world).await.unwrap_or_else(|e| vec![format!("<error {e}>")]);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every plaintext password the fake saw, from any call (delivered or not).
pub fn passwords_seen(world: &World) -> Vec<String> {
    let mut out: Vec<String> = world.fake.with(|ws| {
        ws.all_calls().iter().filter_map(|c| password_in(&c.params.to_string())).collect()
    });
    out.sort();
    out.dedup();
    out
}

/// Every value under the prefix, as text (empty if Redis is down).
pub async fn redis_dump(world: &World) -> String {
    let Ok(mut conn) = world.redis_conn().await else { return String::new() };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{PREFIX}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    let mut out = String::new();
    for k in keys {
        let kind: String =
            redis::cmd("TYPE").arg(&k).query_async(&mut conn).await.unwrap_or_default();
        let cmd = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&k).clone(),
            "hash" => redis::cmd("HGETALL").arg(&k).clone(),
            "zset" => redis::cmd("ZRANGE").arg(&k).arg(0).arg(-1).clone(),
            "set" => redis::cmd("SMEMBERS").arg(&k).clone(),
            "list" => redis::cmd("LRANGE").arg(&k).arg(0).arg(-1).clone(),
            _ => redis::cmd("TYPE").arg(&k).clone(),
        };
        let value: redis::Value = cmd.query_async(&mut conn).await.unwrap_or(redis::Value::Nil);
        out.push_str(&format!("{k} = {value:?}\n"));
    }
    out
}

/// Where each secret shows up outside the one DM: `(secret kind, place)`.
pub async fn leaks(world: &World, passwords: &[String]) -> Vec<String> {
    let dm = world.fake.with(|ws| ws.dm_channel(REQUESTER)).unwrap_or_default();
    let slack = world.fake.with(|ws| {
        let mut out = String::new();
        for c in ws.all_calls() {
            let to_dm = c.method == "chat.postEphemeral" && c.params["channel"] == dm.as_str();
            if !to_dm {
                out.push_str(&format!("{} {}\n", c.method, c.params));
            }
        }
        out
    });
    let logs = std::fs::read_to_string(&world.log).unwrap_or_default();
    let mid_grant = world.redis_dumps.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let redis = format!("{mid_grant}{}", redis_dump(world).await);
    let mut found = Vec::new();
    for (place, text) in [("slack", &slack), ("logs", &logs), ("redis", &redis)] {
        for p in passwords {
            if text.contains(p.as_str()) {
                found.push(format!("password in {place}"));
            }
        }
    }
    let others = [
        ("signing secret", world.signing_secret.clone()),
        ("bot token", world.fake.bot_token()),
        ("broker password", world.broker_password.clone()),
    ];
    for (what, secret) in others {
        if logs.contains(&secret) || redis.contains(&secret) {
            found.push(format!("{what} in logs or redis"));
        }
    }
    found
}

/// One scenario's line in the summary, and what went wrong in it.
#[derive(Debug, Default)]
pub struct Row {
    pub scenario: String,
    pub issued: usize,
    pub delivered: usize,
    pub expired_on_time: usize,
    /// Largest delay from the grant's planned end to the `expire` audit row, seconds.
    pub max_lag_secs: f64,
    pub unexpired: usize,
    pub sessions_left: i64,
    pub leaked: usize,
    pub seconds: f64,
    pub notes: Vec<String>,
    pub failures: Vec<String>,
}

impl Row {
    pub fn new(scenario: &str) -> Row {
        Row { scenario: scenario.into(), ..Row::default() }
    }

    pub fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.failures.push(what.into());
        }
    }

    pub fn note(&mut self, what: impl Into<String>) {
        self.notes.push(what.into());
    }
}

/// How late an expiry may be in a scenario, after the grant's planned end.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// `issue + DURATION + slack`.
    After(Duration),
    /// Any time before the database's own cap (the grant's end was lost with Redis).
    DatabaseCap,
}

/// The end-of-scenario audit: expiries, sessions, logins, leaks. `delivery_may_lag`: an
/// undelivered password may live until its grant's end (a crash between password and DM).
pub async fn settle(world: &World, row: &mut Row, bound: Bound, delivery_may_lag: bool) {
    let left = wait_all_expired(world, Duration::from_secs(30)).await;
    row.unexpired = left.len();
    row.check(left.is_empty(), format!("passwords still usable: {left:?}"));
    let rows = match audit(world).await {
        Ok(rows) => rows,
        Err(e) => {
            row.failures.push(format!("audit unreadable: {e}"));
            return;
        }
    };
    let dms = world.fake.with(|ws| {
        let dm = ws.dm_channel(REQUESTER);
        ws.all_calls()
            .into_iter()
            .filter(|c| {
                c.method == "chat.postEphemeral" && dm.as_deref() == c.params["channel"].as_str()
            })
            .filter(|c| c.outcome == "ok" && password_in(&c.params.to_string()).is_some())
            .map(|c| (DateTime::<Utc>::from(c.at), c.params.to_string()))
            .collect::<Vec<_>>()
    });
    let shown = world.fake.with(crate::harness::dm_passwords);
    let planned = chrono::Duration::from_std(crate::harness::DURATION).unwrap_or_default();
    for (i, issue) in rows.iter().enumerate().filter(|(_, r)| r.event == "issue") {
        row.issued += 1;
        let next_issue =
            rows[i + 1..].iter().find(|r| r.event == "issue" && r.role == issue.role).map(|r| r.at);
        let delivered = dms.iter().any(|(at, text)| {
            *at >= issue.at - chrono::Duration::seconds(1)
                && next_issue.is_none_or(|n| *at < n)
                && text.contains(&format!("user={}", issue.role))
        });
        if delivered {
            row.delivered += 1;
        }
        let expire = rows[i + 1..].iter().find(|r| r.event == "expire" && r.role == issue.role);
        let Some(expire) = expire else {
            row.failures.push(format!("issue #{} of {} was never expired", issue.id, issue.role));
            continue;
        };
        let lag = (expire.at - (issue.at + planned)).num_milliseconds() as f64 / 1000.0;
        row.max_lag_secs = if row.issued == 1 { lag } else { row.max_lag_secs.max(lag) };
        let on_time = match bound {
            Bound::After(slack) => lag <= slack.as_secs_f64(),
            Bound::DatabaseCap => true, // `expire` exists; the cap is checked by the scenario
        };
        if on_time {
            row.expired_on_time += 1;
        } else {
            row.failures.push(format!("issue #{} expired {lag:.1}s after its end", issue.id));
        }
        if !delivered {
            let after = (expire.at - issue.at).num_milliseconds() as f64 / 1000.0;
            let at_once = after < 3.0;
            row.note(format!(
                "undelivered password of issue #{} expired {after:.1}s after issue by {}",
                issue.id,
                expire.by.clone().unwrap_or_default()
            ));
            row.check(
                at_once || delivery_may_lag,
                format!(
                    "issue #{} was neither delivered nor expired at once ({after:.1}s)",
                    issue.id
                ),
            );
        }
    }
    row.check(
        shown.len() <= row.delivered,
        format!("{} passwords shown in DMs but {} deliveries matched", shown.len(), row.delivered),
    );
    row.sessions_left = sessions_left(world).await.unwrap_or(-1);
    row.check(row.sessions_left == 0, format!("{} firefighter sessions left", row.sessions_left));
    let passwords = passwords_seen(world);
    for p in &passwords {
        for level in [Level::Ro, Level::Rw] {
            if world.login(level, p).await.is_ok() {
                row.failures.push(format!("a delivered password still logs in as {level}"));
            }
        }
    }
    let mid_grant = world.redis_dumps.lock().unwrap_or_else(|p| p.into_inner()).clone();
    row.check(
        row.delivered == 0 || mid_grant.contains(&format!("{PREFIX}grant:")),
        "the leak scan saw Redis while a grant was live",
    );
    let leaked = leaks(world, &passwords).await;
    row.leaked = leaked.len();
    row.check(leaked.is_empty(), format!("secrets leaked: {leaked:?}"));
    let logs = std::fs::read_to_string(&world.log).unwrap_or_default();
    row.check(logs.contains("DEBUG"), "the bot's stderr has debug logs (the scan saw them)");
    let verifiers = logs.matches("SCRAM-SHA-256$").count();
    if verifiers > 0 {
        row.note(format!("{verifiers} SCRAM verifier(s) in the debug logs (query parameters)"));
    }
}

/// The summary table, as Markdown.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | grants issued | delivered | expired on time | max expiry lag (s) | \
         unexpired | sessions left | secrets leaked | time (s) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {} | {} | {} | {:.0} |\n",
            r.scenario,
            r.issued,
            r.delivered,
            r.expired_on_time,
            r.max_lag_secs,
            r.unexpired,
            r.sessions_left,
            r.leaked,
            r.seconds
        ));
    }
    out
}
