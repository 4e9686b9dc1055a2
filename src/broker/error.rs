//! Broker errors: what callers branch on, and the user-safe text they may show.
//!
//! Owns the classification of PostgreSQL and pool errors into [`BrokerError`] and the scrubbing
//! of secrets out of server messages. Only a server error's primary message is ever kept (never
//! its DETAIL, CONTEXT or the statement), and any occurrence of a secret in it is replaced.

use crate::access::text::errors;
use anyhow::anyhow;
use tokio_postgres::error::SqlState;

/// An error of a broker call.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The database cannot be reached, or will not let the broker log in.
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A `db_admin` guard (or a privilege check) refused the request. `message` is the server's
    /// primary message, scrubbed of secrets, e.g. the design's
    /// `temporary password validity must be between 1 and 2 hours`.
    #[error("the database refused the request: {message}")]
    Refused { message: String },
    /// Anything else (a missing function: the model is not applied; a type mismatch ...).
    #[error("unexpected database error")]
    Unexpected(#[source] anyhow::Error),
}

impl BrokerError {
    /// Fixed, helpful text for Slack users. Internal details stay in the logs.
    pub fn user_message(&self) -> String {
        match self {
            BrokerError::Unavailable(_) => errors::DATABASE_UNAVAILABLE.into(),
            BrokerError::Refused { message } => errors::database_refused(message),
            BrokerError::Unexpected(_) => errors::DATABASE_UNEXPECTED.into(),
        }
    }
}

/// Replaces every occurrence of any of `secrets` in `text`.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "<redacted>");
    }
    out
}

/// Whether a login failed because of the credential (wrong password, expired token, no such
/// role or pg_hba rejection): worth one retry with a refreshed credential.
pub(crate) fn is_auth_failure(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    })
}

fn unavailable_code(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("28") // invalid authorization (after the retry)
        || code.starts_with("53") // insufficient resources: too many connections ...
        || code.starts_with("57P") // admin shutdown, crash shutdown, cannot connect now
        || code == "3D000" // database does not exist
}

fn refused_code(code: &str) -> bool {
    code == "P0001" // RAISE EXCEPTION: the design's guards
        || code == "42501" // insufficient privilege
        || code.starts_with("22") // data exception, e.g. invalid_parameter_value
}

/// Classifies a PostgreSQL error; `secrets` are scrubbed from any server text kept.
pub(crate) fn classify(e: &tokio_postgres::Error, secrets: &[&str]) -> BrokerError {
    let Some(db) = e.as_db_error() else {
        // I/O, TLS, closed connection, timeout: tokio-postgres' Display has no server text.
        return BrokerError::Unavailable(anyhow!("{e}"));
    };
    let code = db.code().code();
    let message = scrub(db.message(), secrets);
    if unavailable_code(code) {
        BrokerError::Unavailable(anyhow!("SQLSTATE {code}: {message}"))
    } else if refused_code(code) {
        BrokerError::Refused { message }
    } else {
        BrokerError::Unexpected(anyhow!("SQLSTATE {code}: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_every_secret_occurrence() {
        let s = scrub("pw abc and SCRAM-x and abc", &["abc", "SCRAM-x", ""]);
        assert_eq!(s, "pw <redacted> and <redacted> and <redacted>");
    }

    #[test]
    fn codes_map_to_the_variant_callers_branch_on() {
        assert!(
            unavailable_code("08006") && unavailable_code("28P01") && unavailable_code("57P03")
        );
        assert!(refused_code("P0001") && refused_code("22023") && refused_code("42501"));
        assert!(!refused_code("42883") && !unavailable_code("42883"));
    }

    #[test]
    fn user_messages_hide_internal_details() {
        let e =
            BrokerError::Unexpected(anyhow!("SQLSTATE 42883: function db_admin.x does not exist"));
        assert!(!e.user_message().contains("42883"));
        let e = BrokerError::Refused { message: "role x is not allowed".into() };
        assert_eq!(e.user_message(), "The database refused: role x is not allowed");
    }
}
