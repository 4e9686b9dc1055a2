//! Errors of the grant service: what callers (the bot, the CLI) branch on, and the text they
//! may show to users. Never carries a password: broker errors are already scrubbed, and Redis
//! errors name keys, not values.

use super::record::GrantRecord;
use crate::access::text::{errors, format_utc_time};
use crate::broker::BrokerError;
use crate::timers::TimerError;

/// Why a grant operation did not happen (or was undone).
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Redis or PostgreSQL cannot be reached. Nothing was granted.
    /// The cause stays attached as the error's source (and is shown in its text).
    #[error("unavailable: {0:#}")]
    Unavailable(#[source] anyhow::Error),
    /// The level is held by someone else (and no takeover was asked for).
    #[error("the level is held by {} for {} until {}", .0.holder, .0.incident, .0.expires_at)]
    Held(Box<GrantRecord>),
    /// Per-person logins: the requester already holds this level (one grant per person and
    /// level; `/firefighter resend` gives a new password).
    #[error("{} already holds {} for {}", .0.holder, .0.level, .0.incident)]
    AlreadyHolds(Box<GrantRecord>),
    /// Per-person logins: the level has its maximum of holders.
    #[error("level {level} has its maximum of {max} holders")]
    Full { level: crate::model::Level, max: u16 },
    /// An extension would end after the grant's cap (2 hours after it was issued).
    #[error("an extension may not end after {cap}")]
    BeyondCap { cap: chrono::DateTime<chrono::Utc> },
    /// Only the holder may do this.
    #[error("only the holder may do this")]
    NotHolder,
    /// No grant is active for the level.
    #[error("no active grant for this level")]
    NotActive,
    /// The password could not be delivered; it was expired again.
    #[error("the password could not be delivered: {0}")]
    DeliveryFailed(String),
    /// Another replica changed the grant at the same time; nothing was changed here.
    #[error("the grant changed meanwhile; try again")]
    Conflict,
    /// The database refused or failed unexpectedly.
    #[error(transparent)]
    Broker(BrokerError),
    /// Bad data in Redis, or a refused Redis command.
    #[error("internal error: {0}")]
    Internal(String),
}

impl GrantError {
    /// Fixed text for users; internals stay in the logs.
    pub fn user_message(&self) -> String {
        match self {
            GrantError::Unavailable(_) => errors::GRANTS_UNAVAILABLE.into(),
            GrantError::Held(g) => {
                let until = format_utc_time(g.expires_at);
                errors::level_held(g.level, &g.holder, &g.incident, &until)
            }
            GrantError::AlreadyHolds(g) => {
                let until = format_utc_time(g.expires_at);
                errors::already_holds(g.level, &g.incident, &until)
            }
            GrantError::Full { level, max } => errors::level_full(*level, *max),
            GrantError::BeyondCap { cap } => errors::beyond_cap(&format_utc_time(*cap)),
            GrantError::NotHolder => errors::NOT_HOLDER.into(),
            GrantError::NotActive => errors::NO_ACTIVE_GRANT.into(),
            GrantError::DeliveryFailed(_) => errors::NOT_DELIVERED.into(),
            GrantError::Conflict => errors::GRANT_CONFLICT.into(),
            GrantError::Broker(e) => e.user_message(),
            GrantError::Internal(_) => errors::GRANTS_INTERNAL.into(),
        }
    }

    /// Whether retrying later may succeed (Redis or PostgreSQL down).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, GrantError::Unavailable(_))
    }
}

impl From<TimerError> for GrantError {
    fn from(e: TimerError) -> Self {
        if e.is_unavailable() {
            GrantError::Unavailable(anyhow::Error::new(e).context("Redis is unavailable"))
        } else if matches!(e, TimerError::Contended { .. }) {
            // A lost compare-and-swap race is a conflict to retry, not an internal error.
            GrantError::Conflict
        } else {
            GrantError::Internal(e.to_string())
        }
    }
}

impl From<BrokerError> for GrantError {
    fn from(e: BrokerError) -> Self {
        match e {
            BrokerError::Unavailable(inner) => {
                GrantError::Unavailable(inner.context("the database is unavailable"))
            }
            other => GrantError::Broker(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn unavailable_keeps_its_source_chain() {
        let e = GrantError::from(BrokerError::Unavailable(anyhow::anyhow!("no answer within 6s")));
        assert!(e.is_unavailable());
        let source = e.source().expect("a source");
        let chain = format!("{:#}", anyhow::anyhow!("{source}"));
        assert!(chain.contains("the database is unavailable"), "{chain}");
        assert!(e.to_string().contains("no answer within 6s"), "{e}");
    }
}
