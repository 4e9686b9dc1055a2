//! Redis for the tests: the shared server (127.0.0.1:6379, started by `scripts/test-services`)
//! and private throwaway servers for "Redis is down" tests.
//!
//! Owns: the shared URL, per-test key prefixes and [`OwnRedis`]. Must not flush or otherwise
//! touch keys outside a test's own prefix on the shared server.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The shared Redis URL: `PGROLES_TEST_REDIS` if set, else `redis://127.0.0.1:6379`.
pub fn url() -> String {
    std::env::var("PGROLES_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// A key prefix unique to this call, e.g. `t_<tag>_<pid>...:`, for the shared server.
pub fn prefix(tag: &str) -> String {
    format!("{}:", super::pg::unique_prefix(tag))
}

/// A private `redis-server` on a free loopback port, without persistence. It can be stopped and
/// started again on the same port; it is killed when dropped.
pub struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts a new server and waits until it accepts connections.
    pub fn spawn() -> OwnRedis {
        let mut own = OwnRedis { port: super::free_port(), child: None };
        own.start();
        own
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// (Re)starts the server on the same port; no-op while it runs. Data does not survive a
    /// stop (no persistence).
    pub fn start(&mut self) {
        if self.child.is_some() {
            return;
        }
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server (install redis-server or run scripts/test-services)");
        self.child = Some(child);
        assert!(
            super::wait_for_port(self.port, Duration::from_secs(10)),
            "private redis-server did not listen on {}",
            self.port
        );
    }

    /// Kills the server and waits until its port is closed.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
