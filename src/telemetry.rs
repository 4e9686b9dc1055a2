//! Logging setup: JSON lines (default) or human-readable text on stderr, filtered by
//! `PGROLES_LOG` (or `RUST_LOG`), default `info`. Log fields are chosen at each call site with
//! `#[instrument(skip_all, fields(...))]`; nothing here may format a secret.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let filter = std::env::var("PGROLES_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // tokio_postgres logs bind parameters at debug, among them the SCRAM verifier sent to
    // set_firefighter_password: never let it below info, whatever the filter asks.
    let filter = match "tokio_postgres=info".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let text = std::env::var("PGROLES_LOG_FORMAT").is_ok_and(|f| f == "text");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if text { builder.try_init() } else { builder.json().flatten_event(true).try_init() };
}
