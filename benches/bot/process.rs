//! The `pgroles` binary as a process: resident memory of `pgroles serve` (started with a valid
//! configuration against PostgreSQL 15, Redis and this run's fake Slack), idle and after a burst
//! of commands, and the binary's size on disk.
//!
//! Owns starting, probing and stopping that one child process (SIGTERM by its own pid). It must
//! not judge goals (main does).

use crate::ack;
use crate::setup;
use crate::support::{self, bot::World};
use anyhow::Context;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Memory of the process (KiB, from /proc/<pid>/status).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mem {
    pub rss_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
    pub hwm_kib: u64,
}

impl Mem {
    fn read(pid: u32) -> anyhow::Result<Mem> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(Mem {
            rss_kib: field("VmRSS:"),
            anon_kib: field("RssAnon:"),
            file_kib: field("RssFile:"),
            hwm_kib: field("VmHWM:"),
        })
    }

    pub fn row(&self, when: &str) -> String {
        let mib = |k: u64| format!("{:.1}", k as f64 / 1024.0);
        format!(
            "| {when} | {} | {} | {} | {} |",
            mib(self.rss_kib),
            mib(self.anon_kib),
            mib(self.file_kib),
            mib(self.hwm_kib)
        )
    }
}

/// What the serve process measured.
pub struct ServeReport {
    pub ready: Mem,
    pub idle: Mem,
    pub after_load: Mem,
    pub load: ack::Phase,
    pub idle_secs: u64,
    /// How the process ended after SIGTERM.
    pub stopped: String,
}

/// Starts `bin serve`, waits for `/healthz`, idles `idle_secs`, reads memory; then sends
/// `burst` signed `/firefighter help` at 200/s, idles again, reads memory, and stops it.
pub async fn serve_rss(
    f: &World,
    bin: &Path,
    idle_secs: u64,
    burst: usize,
) -> anyhow::Result<ServeReport> {
    let port = support::free_port();
    let secret = support::random_alnum(32);
    let text = setup::serve_toml(f, &secret, &format!("127.0.0.1:{port}"))?;
    pgroles::config::Config::from_toml(&text).context("the generated serve config")?;
    let dir = tempfile::tempdir()?;
    let cfg_path = dir.path().join("pgroles.toml");
    std::fs::File::create(&cfg_path)?.write_all(text.as_bytes())?;
    let log_path = dir.path().join("serve.log");
    let mut child = tokio::process::Command::new(bin)
        .args(["serve", "--config"])
        .arg(&cfg_path)
        .env("PGROLES_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path)?)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let pid = child.id().context("the serve process has no pid")?;
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    if !wait_healthy(port, Duration::from_secs(30)).await {
        anyhow::bail!("pgroles serve did not answer /healthz within 30 s; log:\n{}", log());
    }
    let ready = Mem::read(pid)?;
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let idle = Mem::read(pid)?;
    let reqs = ack::commands(f, &secret, burst, |_| "help".into(), "/firefighter");
    let load = ack::open_loop("serve process: /firefighter help", port, reqs, 200.0).await?;
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let after_load = Mem::read(pid)?;
    let term = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
    anyhow::ensure!(term.success(), "kill -TERM {pid} failed");
    let stopped = match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        Ok(Ok(status)) => format!("exited after SIGTERM: {status}"),
        Ok(Err(e)) => format!("wait failed: {e}"),
        Err(_) => {
            let _ = child.kill().await;
            "did not exit within 10 s of SIGTERM (killed)".into()
        }
    };
    Ok(ServeReport { ready, idle, after_load, load, idle_secs, stopped })
}

async fn wait_healthy(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<axum::body::Body>();
    while Instant::now() < deadline {
        if let Ok(uri) = format!("http://127.0.0.1:{port}/healthz").parse::<axum::http::Uri>() {
            if let Ok(Ok(resp)) =
                tokio::time::timeout(Duration::from_secs(1), client.get(uri)).await
            {
                if resp.status().is_success() {
                    return true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Size on disk of a file, in bytes.
pub fn size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path).with_context(|| format!("{}", path.display()))?.len())
}
