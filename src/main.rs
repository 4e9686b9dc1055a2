//! The `pgroles` binary: parse arguments, run, map errors to exit codes. Everything else lives
//! in the library.

#![recursion_limit = "256"]

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    pgroles::broker::tls::install_crypto_provider();
    pgroles::telemetry::init();
    let cli = pgroles::cli::Cli::parse();
    match pgroles::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pgroles: {e:#}");
            ExitCode::from(2)
        }
    }
}
