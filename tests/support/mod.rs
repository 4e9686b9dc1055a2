//! Shared support for the integration tests: real services, started by `scripts/test-services`.
//!
//! Include it with `mod support;` from a one-file suite (tests/NAME.rs), with
//! `#[path = "../support/mod.rs"] mod support;` from a multi-file suite (tests/NAME/main.rs) and
//! with `#[path = "../tests/support/mod.rs"]` from a bench. Each binary uses a subset, hence the
//! `dead_code` allowance. Owns: finding and connecting to the test PostgreSQL clusters
//! ([`pg`]), Redis URLs and private Redis servers ([`redis`]), a local moto server ([`moto`]), and
//! verify runs against an applied model ([`verify`]), throwaway clusters ([`cluster`]), the one
//! bot fixture of tests and benches ([`bot`]: the bot in-process against a model and the fake
//! Slack) and the in-memory log capture ([`logs`]).
//! Must not start the shared clusters itself (that is `scripts/test-services`' job) nor read
//! anything outside the repository. [`stall`]: TCP proxies whose connections can be frozen or cut.
//! [`capture`]: a grant notifier keeping the last password, and percentiles, for benches.
#![allow(dead_code)]

pub mod bot;
pub mod capture;
pub mod cluster;
pub mod logs;
pub mod model;
pub mod moto;
pub mod pg;
pub mod redis;
pub mod replicas;
pub mod stall;
pub mod verify;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Verify findings, one `{:#?}` each, for assertion messages.
pub fn show_findings(findings: &[pgroles::verify::Finding]) -> String {
    findings.iter().map(|f| format!("{f:#?}")).collect::<Vec<_>>().join("\n")
}

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("local address").port()
}

/// Waits (blocking, at most `timeout`) until something accepts TCP connections on
/// `127.0.0.1:port`. Blocking keeps it usable from sync and async tests alike.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `len` random characters from `[a-z0-9]`.
pub fn random_alnum(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}
