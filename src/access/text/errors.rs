//! What users are told when the grant service or the database fails: fixed sentences, never an
//! internal error's text (that stays in the logs).

use crate::access::ids::{IncidentId, SlackUserId};
use crate::access::level::Level;

/// Redis or PostgreSQL cannot be reached by the grant service.
pub const GRANTS_UNAVAILABLE: &str = "The access service cannot reach Redis or the database right \
    now, so no access was granted. Try again in a minute; if it persists, page the DBA on call.";

/// The level is held; `until` is formatted (`format_utc_time`).
pub fn level_held(
    level: Level,
    holder: &SlackUserId,
    incident: &IncidentId,
    until: &str,
) -> String {
    format!(
        "Firefighter {level} access is held by {} for {incident} until {until}.",
        holder.mention()
    )
}

/// Per-person logins: the requester holds the level already.
pub fn already_holds(level: Level, incident: &IncidentId, until: &str) -> String {
    format!(
        "You already hold {level} access for {incident} until {until}. `/firefighter resend` \
         gives you a new password; `/firefighter revoke {level}` ends it."
    )
}

/// Per-person logins: the level has as many holders as it may.
pub fn level_full(level: Level, max: u16) -> String {
    format!(
        "Firefighter {level} access already has {max} holders, the most allowed at once \
         (`access.max_holders_per_level`). Ask one of them to finish, or an admin to revoke one."
    )
}

pub const NOT_HOLDER: &str = "Only the holder of this grant can do that.";

/// An extension past the 2-hour cap.
pub fn beyond_cap(cap: &str) -> String {
    format!(
        "That would run past the 2-hour limit of one grant: it can end {cap} at the latest. Ask \
         for less, or request access again when it ends."
    )
}

pub const NO_ACTIVE_GRANT: &str = "There is no active grant for that level.";

pub const NOT_DELIVERED: &str = "The password could not be delivered, so it was expired again \
    right away. Please request access again.";

pub const GRANT_CONFLICT: &str =
    "Someone else changed this grant at the same moment. Please try again.";

pub const GRANTS_INTERNAL: &str =
    "Something went wrong in the access service. The details are in the bot's logs.";

/// The database cannot be reached.
pub const DATABASE_UNAVAILABLE: &str = "The database is unavailable right now. Try again in a \
    minute; if it persists, page the DBA on call.";

/// The database refused with a message meant for users (a broker function's `RAISE`).
pub fn database_refused(message: &str) -> String {
    format!("The database refused: {message}")
}

pub const DATABASE_UNEXPECTED: &str =
    "Something went wrong while talking to the database. The details are in the bot's logs.";
