//! Throughput of the Redis timer queue: schedule 100,000 timers (pipelined), claim them all in
//! batches of 100 and 1000, ack them, plus raw ZADD and empty-poll cost; and a request change
//! with its two notes: swap then two outbox pushes (the old sequencing, three round trips) beside
//! `DocStore::cas_with_notes` (one script). Prints a table.
//!
//! `REDIS_URL` (default `redis://127.0.0.1:6379`); keys live under a unique prefix and are
//! deleted at the end. Run: `cargo bench --bench timers` (or `--profile dev` on a shared box;
//! the work is Redis-bound either way). Goal: claim throughput >= 100k timers/s.

use chrono::{TimeZone, Utc};
use pgroles::timers::{
    self, Claimed, DocStore, Outbox, OutboxNote, Timer, TimerKind, TimerPayload, TimerQueue,
};
use redis::aio::ConnectionManager;
use std::time::{Duration, Instant};

const N: usize = 100_000;
const T0: i64 = 1_700_000_000_000;

struct Row {
    op: String,
    items: usize,
    elapsed: Duration,
    /// Time Redis spent executing the phase's commands (from `INFO commandstats`; other
    /// clients of the same server add noise).
    server: Duration,
}

/// Measures one phase: wall time, and Redis' own time for `cmd` (e.g. `evalsha`).
struct Phase {
    cmd: &'static str,
    started: Instant,
    usec: u64,
}

impl Phase {
    async fn start(conn: &ConnectionManager, cmd: &'static str) -> anyhow::Result<Phase> {
        Ok(Phase { cmd, usec: server_usec(conn, cmd).await?, started: Instant::now() })
    }

    async fn finish(
        self,
        conn: &ConnectionManager,
        op: String,
        items: usize,
    ) -> anyhow::Result<Row> {
        let elapsed = self.started.elapsed();
        let usec = server_usec(conn, self.cmd).await?.saturating_sub(self.usec);
        Ok(Row { op, items, elapsed, server: Duration::from_micros(usec) })
    }
}

async fn server_usec(conn: &ConnectionManager, cmd: &str) -> anyhow::Result<u64> {
    let info: String =
        redis::cmd("INFO").arg("commandstats").query_async(&mut conn.clone()).await?;
    let tag = format!("cmdstat_{cmd}:");
    let usec = info
        .lines()
        .find_map(|l| l.strip_prefix(tag.as_str()))
        .and_then(|l| l.split(',').find_map(|kv| kv.strip_prefix("usec=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(usec)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("bench:{}:", uuid::Uuid::new_v4().simple());
    let cfg =
        pgroles::config::RedisConfig { url, key_prefix: prefix.clone(), ..Default::default() };
    let conn = timers::connect(&cfg).await?;
    let result = run(&conn, &prefix).await;
    cleanup(&conn, &prefix).await?;
    let rows = result?;

    println!("\n| operation | items | wall s | items/s | Redis s | items/s of Redis time |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let (wall, server) = (r.elapsed.as_secs_f64(), r.server.as_secs_f64());
        let per_server = if server > 0.0 { r.items as f64 / server } else { f64::NAN };
        println!(
            "| {} | {} | {wall:.3} | {:.0} | {server:.3} | {per_server:.0} |",
            r.op,
            r.items,
            r.items as f64 / wall
        );
    }
    Ok(())
}

async fn run(conn: &ConnectionManager, prefix: &str) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();

    // Raw ZADD, pipelined 1000 per round trip.
    let zkey = format!("{prefix}raw-zadd");
    let phase = Phase::start(conn, "zadd").await?;
    for chunk in (0..N).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.zadd(&zkey, format!("t{i}"), T0 + *i as i64).ignore();
        }
        let () = pipe.query_async(&mut conn.clone()).await?;
    }
    rows.push(phase.finish(conn, "ZADD (pipelined x1000)".into(), N).await?);

    let q = TimerQueue::new(conn.clone(), prefix);
    let timers: Vec<Timer> = (0..N)
        .map(|i| {
            let payload = TimerPayload {
                role: Some("pgroles_firefighter_ro".into()),
                level: Some("ro".into()),
                grant_id: Some(format!("g{i}")),
                incident: Some("INC-42".into()),
                ..TimerPayload::default()
            };
            let due = Utc.timestamp_millis_opt(T0 + (i % 1000) as i64).single();
            Timer::new(format!("expire:g{i}"), TimerKind::Expire, due.unwrap_or_default(), payload)
        })
        .collect();

    for batch in [100usize, 1000] {
        let phase = Phase::start(conn, "exec").await?;
        q.schedule_many(&timers).await?;
        let op = format!("schedule_many (MULTI x1000), before batch {batch}");
        rows.push(phase.finish(conn, op, N).await?);

        let phase = Phase::start(conn, "evalsha").await?;
        let mut claimed: Vec<Claimed> = Vec::with_capacity(N);
        loop {
            let got = q.claim(T0 + 10_000, 60_000, batch).await?;
            if got.is_empty() {
                break;
            }
            claimed.extend(got);
        }
        anyhow::ensure!(claimed.len() == N, "claimed {} of {N}", claimed.len());
        rows.push(phase.finish(conn, format!("claim, batch {batch}"), N).await?);

        let phase = Phase::start(conn, "evalsha").await?;
        for chunk in claimed.chunks(batch) {
            let acked = q.ack_many(chunk).await?;
            anyhow::ensure!(acked.iter().all(|a| *a), "an ack was rejected");
        }
        rows.push(phase.finish(conn, format!("ack_many, batch {batch}"), N).await?);
        anyhow::ensure!(q.counts().await? == (0, 0), "queue not empty after acks");
    }

    // The claim script alone, replies left undecoded: Redis and the wire without the client's
    // JSON decoding (which dominates in an unoptimised build).
    let claim_lua = redis::Script::new(include_str!("../src/timers/claim.lua"));
    for batch in [100usize, 1000] {
        q.schedule_many(&timers).await?;
        let phase = Phase::start(conn, "evalsha").await?;
        let mut total = 0;
        loop {
            let reply: redis::Value = claim_lua
                .key(format!("{prefix}timers:due"))
                .key(format!("{prefix}timers:inflight"))
                .key(format!("{prefix}timers:body"))
                .key(format!("{prefix}timers:claims"))
                .arg(T0 + 10_000)
                .arg(T0 + 70_000)
                .arg(batch)
                .arg("bench")
                .invoke_async(&mut conn.clone())
                .await?;
            let n = match reply {
                redis::Value::Array(items) => items.len() / 3,
                _ => 0,
            };
            if n == 0 {
                break;
            }
            total += n;
        }
        anyhow::ensure!(total == N, "claimed {total} of {N}");
        let op = format!("claim.lua, reply not decoded, batch {batch}");
        rows.push(phase.finish(conn, op, N).await?);
        cleanup(conn, prefix).await?;
    }

    let polls = 2000;
    let phase = Phase::start(conn, "evalsha").await?;
    for _ in 0..polls {
        let got = q.claim(T0, 60_000, 100).await?;
        anyhow::ensure!(got.is_empty(), "unexpected timer");
    }
    rows.push(phase.finish(conn, "empty poll (claim on empty queue)".into(), polls).await?);
    rows.extend(swaps_with_notes(conn, prefix).await?);
    Ok(rows)
}

/// One request change with its thread note and DM, `SWAPS` times in a row (one at a time, as
/// the workflow does): the old sequencing (swap, then push each note) beside the atomic script.
async fn swaps_with_notes(conn: &ConnectionManager, prefix: &str) -> anyhow::Result<Vec<Row>> {
    const SWAPS: usize = 5_000;
    let docs = DocStore::new(conn.clone(), prefix);
    let outbox = Outbox::new(conn.clone(), prefix);
    let ttl = Duration::from_secs(3600);
    // About the size of a request document.
    let doc = |v: usize| serde_json::json!({ "id": "req-bench", "v": v, "pad": "x".repeat(600) });
    let notes = |v: usize| -> Vec<OutboxNote> {
        ["thread:C0AUDIT001:1700000000.000100", "dm:U0REQ00001"]
            .iter()
            .enumerate()
            .map(|(i, lane)| OutboxNote {
                id: format!("n{v}-{i}"),
                lane: (*lane).into(),
                created_ms: T0,
                attempts: 0,
                payload: serde_json::json!({ "to": "dm", "user": "U0REQ00001", "text": "x".repeat(150) }),
            })
            .collect()
    };
    let mut rows = Vec::new();
    for atomic in [false, true] {
        let key = format!("req:bench-{atomic}");
        anyhow::ensure!(docs.put_new(&key, &doc(0), ttl).await?, "bench document exists");
        let phase = Phase::start(conn, "evalsha").await?;
        for v in 1..=SWAPS {
            let expected = v as u64;
            if atomic {
                let ok = docs.cas_with_notes(&key, expected, &doc(v), ttl, &notes(v)).await?;
                anyhow::ensure!(ok, "swap lost");
            } else {
                anyhow::ensure!(docs.cas(&key, expected, &doc(v), ttl).await?, "swap lost");
                for n in notes(v) {
                    outbox.push(&n, T0).await?;
                }
            }
        }
        let op = if atomic {
            "request swap + 2 notes: cas_with_notes (one script)"
        } else {
            "request swap + 2 notes: cas, then 2 pushes (baseline)"
        };
        rows.push(phase.finish(conn, op.into(), SWAPS).await?);
        anyhow::ensure!(outbox.depth().await?.notes == 2 * SWAPS as u64, "notes missing");
        cleanup(conn, prefix).await?;
    }
    Ok(rows)
}

async fn cleanup(conn: &ConnectionManager, prefix: &str) -> anyhow::Result<()> {
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn.clone()).await?;
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn.clone()).await?;
    }
    Ok(())
}
