//! The bot as a separate OS process: `pgroles serve --config FILE`, secrets in `PGROLES_*`
//! variables, stderr (debug logs) appended to one file per scenario, so it can be `kill -9`'d
//! and started again on the same port.
//!
//! Owns process lifetime only. It must not judge what the bot did; scenarios read the fake
//! Slack, Redis, PostgreSQL and the log file for that.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// How to start one bot process (kept to restart it identically).
#[derive(Clone)]
pub struct BotSpec {
    pub config: PathBuf,
    pub port: u16,
    /// `PGROLES_*` secrets and settings (the process gets no other environment).
    pub env: Vec<(String, String)>,
    /// stderr of every run is appended here.
    pub log: PathBuf,
}

/// A running (or killed) bot process.
pub struct BotProcess {
    pub spec: BotSpec,
    child: Option<Child>,
    pub starts: u32,
}

impl BotProcess {
    /// Starts the process and waits until `/healthz` answers.
    pub async fn start(spec: BotSpec) -> anyhow::Result<BotProcess> {
        let mut bot = BotProcess { spec, child: None, starts: 0 };
        bot.restart().await?;
        Ok(bot)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.spec.port)
    }

    /// Starts it again (after [`BotProcess::kill9`]); a no-op while it runs.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = open_append(&self.spec.log)?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgroles"));
        cmd.arg("--config")
            .arg(&self.spec.config)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let child = cmd.spawn()?;
        self.child = Some(child);
        self.starts += 1;
        self.wait_healthy(Duration::from_secs(30)).await
    }

    async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let url = format!("{}/healthz", self.base_url());
        let client = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    anyhow::bail!(
                        "pgroles serve exited with {status} at start; log: {}",
                        tail(&self.spec.log)
                    );
                }
            }
            if let Ok(resp) = client.get(&url).timeout(Duration::from_secs(1)).send().await {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("pgroles serve did not become healthy; log: {}", tail(&self.spec.log))
    }

    /// SIGKILL, then reap it: no graceful shutdown, no flushing of anything.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).open(path)
}

/// The last lines of a log file, for failure messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
