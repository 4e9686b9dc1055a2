//! The broker's calls to the per-person login functions of `sql/56_person_logins.sql`
//! (issue 15): create a login for one approved request, renew it (resend, extend), end it, and
//! list the record. Same rules as [`super::calls`]: bind parameters only, the plaintext never
//! leaves the process (only its SCRAM verifier is sent), and no policy here.
//!
//! The login's name is built by the database from the level, the requester's Slack id and a
//! short grant id ([`short_grant_id`]); the bot never sends a role name to create.

use super::calls::{Broker, IssueAudit};
use super::error::BrokerError;
use super::password::{ScramVerifier, TempPassword};
use super::session::{self, Work};
use crate::model::script::quote_ident;
use crate::model::Level;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracing::instrument;

/// The longest a per-person login may be valid, in minutes (the database refuses more).
pub const MAX_PERSON_LOGIN_MINUTES: i64 = 120;

/// A created or renewed login, with the password to deliver.
#[derive(Debug)]
pub struct PersonLogin {
    /// The login's role name, as the database built it.
    pub login: String,
    pub password: TempPassword,
    /// `VALID UNTIL`, on the database's clock.
    pub db_valid_until: DateTime<Utc>,
}

/// How [`Broker::end_person_login`] ended a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonLoginEnd {
    /// `dropped`, `disabled` (DROP was impossible: NOLOGIN, no password, expired, no
    /// membership; the reason is in `db_admin.person_logins`), `gone` or `ended already`.
    pub outcome: String,
    pub sessions_ended: i32,
}

/// One recorded per-person login (`db_admin.person_logins(boolean)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonLoginRow {
    pub login: String,
    pub level: Option<Level>,
    pub slack_user: String,
    pub grant_id: String,
    pub incident: Option<String>,
    pub planned_end: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_outcome: Option<String>,
    pub role_exists: bool,
    pub sessions: i32,
}

/// The 8 lower-case hex digits that name a grant in its login: the start of a UUID request id,
/// else the start of the SHA-256 of the id (tests and older ids are not UUIDs).
pub fn short_grant_id(request_id: &str) -> String {
    let hexed: String = request_id.chars().filter(|c| *c != '-').take(8).collect();
    if hexed.len() == 8 && hexed.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        hexed
    } else {
        hex::encode(&Sha256::digest(request_id.as_bytes())[..4])
    }
}

/// Whole minutes from `now` to `ends_at`, rounded up, within 1..=120.
pub fn minutes_until(ends_at: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
    let secs = (ends_at - now).num_seconds().max(1);
    let minutes = (secs + 59) / 60;
    i32::try_from(minutes.clamp(1, MAX_PERSON_LOGIN_MINUTES)).unwrap_or(1)
}

fn fresh_password() -> (TempPassword, ScramVerifier) {
    let password = TempPassword::generate();
    let verifier = password.scram_verifier();
    (password, verifier)
}

async fn generate() -> Result<(TempPassword, ScramVerifier), BrokerError> {
    // 4096 PBKDF2 rounds: off the async worker threads.
    tokio::task::spawn_blocking(fresh_password)
        .await
        .map_err(|e| BrokerError::Unexpected(anyhow::anyhow!("computing the verifier: {e}")))
}

fn unexpected(what: &str, e: tokio_postgres::Error) -> BrokerError {
    BrokerError::Unexpected(anyhow::anyhow!("reading {what}: {e}"))
}

impl Broker {
    fn admin_schema(&self) -> String {
        quote_ident(&self.names().admin_schema)
    }

    /// Creates the requester's own login at `level` for the request `request_id`, valid for
    /// `minutes` (1 to 120), with a fresh password; its SCRAM verifier is the only secret sent.
    /// All or nothing: the database creates the role, its membership, its settings and the
    /// record in one transaction.
    #[instrument(skip_all, fields(level = %level, incident = %audit.incident))]
    pub async fn create_person_login(
        &self,
        level: Level,
        request_id: &str,
        minutes: i32,
        audit: &IssueAudit,
    ) -> Result<PersonLogin, BrokerError> {
        let (password, verifier) = generate().await?;
        let sql = format!(
            "SELECT login::text, valid_until FROM {}.create_person_login($1::text, $2::text, \
             $3::text, $4::text, $5::int4, $6::text, $7::text[])",
            self.admin_schema()
        );
        let mut conn = session::session(self.pool(), Work::General).await?;
        let row = conn
            .query_one(
                &sql,
                &[
                    &level.as_str(),
                    &audit.requester,
                    &short_grant_id(request_id),
                    &verifier.expose_for_database(),
                    &minutes,
                    &audit.incident,
                    &audit.approvers,
                ],
                &[password.expose_for_delivery(), verifier.expose_for_database()],
            )
            .await?;
        let login: String = row.try_get(0).map_err(|e| unexpected("the login", e))?;
        let db_valid_until = row.try_get(1).map_err(|e| unexpected("VALID UNTIL", e))?;
        tracing::info!(%login, %db_valid_until, "per-person login created");
        Ok(PersonLogin { login, password, db_valid_until })
    }

    /// A new password for a live per-person login (resend), and VALID UNTIL now + `minutes`.
    #[instrument(skip_all, fields(login = %login))]
    pub async fn renew_person_login(
        &self,
        login: &str,
        minutes: i32,
        actor: &str,
    ) -> Result<PersonLogin, BrokerError> {
        let (password, verifier) = generate().await?;
        let sql = format!(
            "SELECT {}.renew_person_login($1::name, $2::text, $3::int4, $4::text)",
            self.admin_schema()
        );
        let mut conn = session::session(self.pool(), Work::General).await?;
        let row = conn
            .query_one(
                &sql,
                &[&login, &verifier.expose_for_database(), &minutes, &actor],
                &[password.expose_for_delivery(), verifier.expose_for_database()],
            )
            .await?;
        let db_valid_until = row.try_get(0).map_err(|e| unexpected("VALID UNTIL", e))?;
        tracing::info!(%db_valid_until, "per-person login renewed");
        Ok(PersonLogin { login: login.to_string(), password, db_valid_until })
    }

    /// Ends a per-person login: its sessions, then the role (dropped, or disabled where DROP is
    /// impossible). Calling it again ends any session that slipped in and changes nothing else.
    #[instrument(skip_all, fields(login = %login))]
    pub async fn end_person_login(
        &self,
        login: &str,
        actor: &str,
    ) -> Result<PersonLoginEnd, BrokerError> {
        let sql = format!(
            "SELECT outcome, sessions_ended FROM {}.end_person_login($1::name, $2::text)",
            self.admin_schema()
        );
        let mut conn = session::session(self.pool(), Work::Ending).await?;
        let row = conn.query_one(&sql, &[&login, &actor], &[]).await?;
        let end = PersonLoginEnd {
            outcome: row.try_get(0).map_err(|e| unexpected("the outcome", e))?,
            sessions_ended: row
                .try_get::<_, Option<i32>>(1)
                .map_err(|e| unexpected("the count", e))?
                .unwrap_or(0),
        };
        tracing::info!(outcome = %end.outcome, sessions = end.sessions_ended, "per-person login ended");
        Ok(end)
    }

    /// Ends every live per-person login of `level` (the kill switch's part for per-person
    /// logins, whatever Redis remembers); returns the sessions ended.
    pub async fn end_live_person_logins(
        &self,
        level: Level,
        actor: &str,
    ) -> Result<i32, BrokerError> {
        let mut ended = 0;
        for row in self.person_logins(false).await?.iter().filter(|r| r.level == Some(level)) {
            ended += self.end_person_login(&row.login, actor).await?.sessions_ended;
        }
        Ok(ended)
    }

    /// The recorded per-person logins: the live ones, and with `include_ended` the last 1000
    /// ended ones.
    pub async fn person_logins(
        &self,
        include_ended: bool,
    ) -> Result<Vec<PersonLoginRow>, BrokerError> {
        let sql = format!(
            "SELECT login::text, level, slack_user, grant_id, incident, planned_end, ended_at, \
             end_outcome, role_exists, sessions FROM {}.person_logins($1::bool)",
            self.admin_schema()
        );
        let mut conn = session::session(self.pool(), Work::General).await?;
        let rows = conn.query(&sql, &[&include_ended]).await?;
        rows.iter()
            .map(|r| {
                let level: String = r.try_get(1)?;
                Ok(PersonLoginRow {
                    login: r.try_get(0)?,
                    level: Level::parse(&level),
                    slack_user: r.try_get(2)?,
                    grant_id: r.try_get(3)?,
                    incident: r.try_get(4)?,
                    planned_end: r.try_get(5)?,
                    ended_at: r.try_get(6)?,
                    end_outcome: r.try_get(7)?,
                    role_exists: r.try_get(8)?,
                    sessions: r.try_get(9)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(|e| unexpected("the per-person logins", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_request_names_its_grant_by_its_first_eight_hex_digits() {
        assert_eq!(short_grant_id("0badcafe-1234-4abc-8def-0123456789ab"), "0badcafe");
        let other = short_grant_id("req-1");
        assert_eq!(other.len(), 8);
        assert!(other.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(other, short_grant_id("req-1"), "stable");
        assert_ne!(short_grant_id("ABCDEF12-0000"), "ABCDEF12", "upper case is hashed");
    }

    #[test]
    fn minutes_are_rounded_up_and_bounded() {
        let now = Utc::now();
        assert_eq!(minutes_until(now + chrono::Duration::seconds(61), now), 2);
        assert_eq!(minutes_until(now + chrono::Duration::minutes(30), now), 30);
        assert_eq!(minutes_until(now - chrono::Duration::minutes(3), now), 1);
        assert_eq!(minutes_until(now + chrono::Duration::hours(5), now), 120);
    }
}
