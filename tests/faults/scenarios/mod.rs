//! The fault scenarios. Each builds its own [`World`], drives one fault, and fills one summary
//! [`Row`] (calling [`crate::evidence::settle`] at its end); errors become failures of the row
//! so the table is always printed.
//!
//! - [`crash`]: `kill -9` of the bot at each step of a grant.
//! - [`state`]: Redis restarted or flushed mid-grant; PostgreSQL unreachable at expiry.
//! - [`replicas`]: two replicas on one Redis receiving the same deliveries.
//! - [`slack`]: the Slack Web API rate limiting, failing and timing out.
//! - [`outbox`]: the expiry note rate limited 10 times, with and without a restart.

pub mod crash;
pub mod outbox;
pub mod replicas;
pub mod slack;
pub mod state;

use crate::evidence::Row;
use crate::harness::World;
use futures::future::BoxFuture;
use std::time::Instant;

/// Runs one scenario body in a fresh world; always returns its row.
pub async fn run<F>(name: &'static str, body: F) -> Row
where
    F: for<'r> FnOnce(&'r World, &'r mut Row) -> BoxFuture<'r, anyhow::Result<()>>,
{
    let started = Instant::now();
    let mut row = Row::new(name);
    match World::new(name).await {
        Ok(world) => {
            if let Err(e) = body(&world, &mut row).await {
                row.failures.push(format!("{e:#}"));
                row.failures.push(format!("bot log tail:\n{}", crate::process::tail(&world.log)));
            }
            world.cleanup().await;
        }
        Err(e) => row.failures.push(format!("setup: {e:#}")),
    }
    row.seconds = started.elapsed().as_secs_f64();
    row
}
