//! Per-command validation: what `serve` (the bot) and `apply` need before they start.
//!
//! Each check returns the FIRST problem as one [`ConfigError`] naming the key and its
//! `PGROLES_*` variable. Pure: no I/O except checking that a configured CA file exists.

use super::keys;
use super::{Config, ConfigError, DbAuth, SslMode};
use secrecy::{ExposeSecret, SecretString};
use std::net::{IpAddr, SocketAddr};

/// The database's cap on a firefighter password's validity (`p_hours` is at most 2).
pub const MAX_GRANT_SECS: u64 = 2 * 3600;

/// The most entries `database.instances` may hold (the audit row takes at most 32).
pub const MAX_INSTANCES: usize = 16;

/// `host:port` or `[v6 address]:port`; the host is a DNS name or an IP address.
pub fn parse_host_port(raw: &str) -> Result<(String, u16), &'static str> {
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (v6, port) = rest.split_once("]:").ok_or("expected [address]:port")?;
        v6.parse::<std::net::Ipv6Addr>().map_err(|_| "not an IPv6 address")?;
        (format!("[{v6}]"), port)
    } else {
        let (host, port) = raw.rsplit_once(':').ok_or("no port")?;
        let name_ok = !host.is_empty()
            && host.len() <= 253
            && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && !host.starts_with(['-', '.']);
        if !name_ok {
            return Err("not a host name or IPv4 address");
        }
        (host.to_owned(), port)
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.len() <= 5 => Ok((host, p)),
        _ => Err("the port must be 1 to 65535"),
    }
}
/// At most this many schedules per level: they travel in one `GET /oncalls` query string.
pub const MAX_AUTO_APPROVE_SCHEDULES: usize = 20;

fn env_of(dotted: &str) -> String {
    keys::find(dotted).map(|k| k.env_hint()).unwrap_or_default()
}

fn missing(dotted: &str, why: &str) -> ConfigError {
    ConfigError::Missing { key: dotted.into(), env: env_of(dotted), why: why.into() }
}

/// RDS's rule for a DB cluster identifier.
fn valid_cluster_id(id: &str) -> bool {
    let b = id.as_bytes();
    (1..=63).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && !id.ends_with('-')
        && !id.contains("--")
}

fn invalid(dotted: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: dotted.into(), env: env_of(dotted), message: message.into() }
}

fn has_secret(s: &Option<SecretString>) -> bool {
    s.as_ref().is_some_and(|s| !s.expose_secret().trim().is_empty())
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || host.starts_with('/') // a Unix socket directory
}

/// `redis://` or `rediss://` with a host, or a `unix://` / `redis+unix://` socket path.
fn check_redis_url(raw: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| invalid("redis.url", why.to_string());
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
    match url.scheme() {
        "redis" | "rediss" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "redis" | "rediss" => Err(bad("has no host")),
        "unix" | "redis+unix" if !url.path().is_empty() => Ok(()),
        _ => Err(bad("expected redis://, rediss:// or unix://")),
    }
}

impl Config {
    /// Everything the bot (`pgroles serve` / `worker`) needs; security-critical keys first.
    pub fn validate_for_serve(&self) -> Result<(), ConfigError> {
        let slack = &self.slack;
        if slack.socket_mode {
            if !has_secret(&slack.app_token) {
                return Err(missing("slack.app_token", "Socket Mode needs an app-level token"));
            }
        } else if !has_secret(&slack.signing_secret) {
            return Err(missing(
                "slack.signing_secret",
                "without it no Slack request can be authenticated",
            ));
        }
        if !has_secret(&slack.bot_token) {
            return Err(missing("slack.bot_token", "the bot cannot post or send DMs"));
        }
        if slack.audit_channel.trim().is_empty() {
            return Err(missing("slack.audit_channel", "every grant is announced there"));
        }
        if !slack.api_url.ends_with('/') {
            return Err(invalid("slack.api_url", "must end with '/'"));
        }
        let access = &self.access;
        if access.max_duration_secs < 1 || access.max_duration_secs > MAX_GRANT_SECS {
            return Err(invalid(
                "access.max_duration_secs",
                format!("must be 1..={MAX_GRANT_SECS} (the database caps a password at 2 h)"),
            ));
        }
        if access.default_duration_secs < 1
            || access.default_duration_secs > access.max_duration_secs
        {
            return Err(invalid(
                "access.default_duration_secs",
                "must be at least 1 and at most access.max_duration_secs",
            ));
        }
        if access.break_glass_max_secs < 60 || access.break_glass_max_secs > MAX_GRANT_SECS {
            return Err(invalid(
                "access.break_glass_max_secs",
                format!("must be 60..={MAX_GRANT_SECS} (access.max_duration_secs caps it too)"),
            ));
        }
        if access.break_glass_review_secs < 1 || access.break_glass_reminder_secs < 1 {
            let key = if access.break_glass_review_secs < 1 {
                "access.break_glass_review_secs"
            } else {
                "access.break_glass_reminder_secs"
            };
            return Err(invalid(key, "must be at least 1"));
        }
        let max_holders = crate::access::settings::MAX_HOLDERS_PER_LEVEL;
        if access.max_holders_per_level < 1 || access.max_holders_per_level > max_holders {
            return Err(invalid(
                "access.max_holders_per_level",
                format!(
                    "must be 1..={max_holders} (the database's limit of live logins per level)"
                ),
            ));
        }
        if access.approval_window_secs < 1 {
            return Err(invalid("access.approval_window_secs", "must be at least 1"));
        }
        if access.incident_pattern.trim().is_empty() {
            return Err(missing("access.incident_pattern", "incident ids must be checked"));
        }
        if self.redis.url.trim().is_empty() {
            return Err(missing("redis.url", "timers and requests live in Redis"));
        }
        check_redis_url(&self.redis.url)?;
        self.validate_targets(|target| {
            target.validate_approvals()?;
            target.validate_database()?;
            target.validate_budget()
        })?;
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return Err(invalid("server.listen", "expected host:port, e.g. 0.0.0.0:3000"));
        }
        self.validate_pagerduty()
    }

    /// Someone can approve, and each level needs at least one approval.
    pub fn validate_approvals(&self) -> Result<(), ConfigError> {
        let access = &self.access;
        if access.approvers.is_empty() && access.approver_group.is_none() {
            return Err(missing(
                "access.approvers",
                "or access.approver_group / PGROLES_ACCESS_APPROVER_GROUP; without either nobody can approve",
            ));
        }
        if access.approvals_ro < 1 {
            return Err(invalid("access.approvals_ro", "must be at least 1"));
        }
        if access.approvals_rw < 1 {
            return Err(invalid("access.approvals_rw", "must be at least 1"));
        }
        Ok(())
    }

    /// The connection budget (see `broker::budget`): every process's pool plus the slot kept
    /// for `pgroles revoke` must fit under the limit `pgroles apply` gives the broker.
    pub fn validate_budget(&self) -> Result<(), ConfigError> {
        let db = &self.database;
        let required = u64::from(db.max_replicas) * db.pool_size as u64 + 1;
        let limit = self.model.broker_connection_limit;
        if limit >= 0 && required > limit as u64 {
            return Err(invalid(
                "database.pool_size",
                format!(
                    "database.max_replicas ({}) x database.pool_size ({}) + 1 reserved = \
                     {required} connections, above model.broker_connection_limit ({limit})",
                    db.max_replicas, db.pool_size
                ),
            ));
        }
        Ok(())
    }

    /// On-call auto-approval: schedule ids PagerDuty could hold, and, when any level lists
    /// one, a usable `[pagerduty]` section (an API key, https or a loopback URL, a deadline).
    pub fn validate_pagerduty(&self) -> Result<(), ConfigError> {
        let access = &self.access;
        for (key, list) in [
            ("access.auto_approve_ro_schedules", &access.auto_approve_ro_schedules),
            ("access.auto_approve_rw_schedules", &access.auto_approve_rw_schedules),
        ] {
            if list.len() > MAX_AUTO_APPROVE_SCHEDULES {
                return Err(invalid(
                    key,
                    format!("at most {MAX_AUTO_APPROVE_SCHEDULES} schedules"),
                ));
            }
            for (i, id) in list.iter().enumerate() {
                let ok = (2..=20).contains(&id.len())
                    && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !ok {
                    return Err(invalid(
                        key,
                        format!("{id:?} is not a PagerDuty schedule id (e.g. PI7DH85)"),
                    ));
                }
                if list[..i].contains(id) {
                    return Err(invalid(key, format!("{id} is listed twice")));
                }
            }
        }
        if access.auto_approve_ro_schedules.is_empty()
            && access.auto_approve_rw_schedules.is_empty()
        {
            return Ok(());
        }
        let pd = &self.pagerduty;
        let token_ok = pd.token.as_ref().is_some_and(|t| {
            let t = t.expose_secret();
            !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic())
        });
        if !token_ok {
            return Err(missing(
                "pagerduty.token",
                "access.auto_approve_*_schedules asks PagerDuty who is on call; \
                 printable ASCII without spaces",
            ));
        }
        let url = url::Url::parse(&pd.api_url)
            .map_err(|e| invalid("pagerduty.api_url", format!("not a URL ({e})")))?;
        let loopback = url.host_str().is_some_and(is_loopback);
        let secure = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !secure || url.host_str().is_none() || url.query().is_some() || url.fragment().is_some()
        {
            return Err(invalid(
                "pagerduty.api_url",
                "expected https://host[/path] (plain http only for a loopback host)",
            ));
        }
        if !(100..=10_000).contains(&pd.timeout_ms) {
            return Err(invalid("pagerduty.timeout_ms", "must be between 100 and 10000"));
        }
        Ok(())
    }

    /// The broker's database connection: auth complete, TLS unless on loopback.
    pub fn validate_database(&self) -> Result<(), ConfigError> {
        let db = &self.database;
        if db.host.trim().is_empty() {
            return Err(missing("database.host", ""));
        }
        match db.auth {
            DbAuth::Password if !has_secret(&db.password) => {
                return Err(missing("database.password", "database.auth is \"password\""));
            }
            DbAuth::SecretsManager if db.secret_id.as_deref().unwrap_or("").trim().is_empty() => {
                return Err(missing("database.secret_id", "database.auth is \"secrets-manager\""));
            }
            DbAuth::Iam if db.sslmode == SslMode::Disable => {
                return Err(invalid("database.sslmode", "IAM authentication requires TLS"));
            }
            _ => {}
        }
        if db.sslmode == SslMode::Disable && !is_loopback(&db.host) {
            return Err(invalid(
                "database.sslmode",
                format!("\"disable\" is allowed only for a loopback host, not {:?}", db.host),
            ));
        }
        if let Some(ca) = &db.ca_file {
            if !ca.is_file() {
                return Err(invalid("database.ca_file", format!("{} is not a file", ca.display())));
            }
        }
        if db.pool_size < 1 {
            return Err(invalid("database.pool_size", "must be at least 1"));
        }
        if !(100..=60_000).contains(&db.statement_timeout_ms) {
            return Err(invalid(
                "database.statement_timeout_ms",
                "must be between 100 and 60000 (below the timer lease)",
            ));
        }
        if db.max_replicas < 1 {
            return Err(invalid("database.max_replicas", "must be at least 1"));
        }
        self.instance_addrs()?;
        if let Some(id) = &db.discover_cluster {
            if !valid_cluster_id(id) {
                return Err(invalid(
                    "database.discover_cluster",
                    format!(
                        "{id:?} is not an Aurora cluster id (a letter, then letters, digits \
                     and single hyphens, at most 63, no hyphen at the end)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `database.instances` parsed: `(host, port)` each, in order. Refuses an entry that is not
    /// `host:port` (`[v6]:port` for IPv6), a duplicate, the writer itself, more than
    /// [`MAX_INSTANCES`], and (TLS off) a host that is not loopback.
    pub fn instance_addrs(&self) -> Result<Vec<(String, u16)>, ConfigError> {
        let db = &self.database;
        let key = "database.instances";
        if db.instances.len() > MAX_INSTANCES {
            return Err(invalid(
                key,
                format!("at most {MAX_INSTANCES} instances (Aurora has at most 15 readers)"),
            ));
        }
        let mut out: Vec<(String, u16)> = Vec::new();
        for raw in &db.instances {
            let (host, port) = parse_host_port(raw.trim()).map_err(|why| {
                invalid(key, format!("{:?} is not host:port ({why})", raw.trim()))
            })?;
            if host.eq_ignore_ascii_case(&db.host) && port == db.port {
                return Err(invalid(
                    key,
                    format!("{host}:{port} is the writer (database.host:database.port)"),
                ));
            }
            if out.iter().any(|(h, p)| h.eq_ignore_ascii_case(&host) && *p == port) {
                return Err(invalid(key, format!("{host}:{port} is listed twice")));
            }
            if db.sslmode == SslMode::Disable && !is_loopback(&host) {
                return Err(invalid(
                    key,
                    format!("{host}:{port}: database.sslmode \"disable\" is for loopback only"),
                ));
            }
            out.push((host, port));
        }
        Ok(out)
    }

    /// What `pgroles apply` needs: the bootstrap connection and valid IAM role names.
    pub fn validate_for_apply(&self) -> Result<(), ConfigError> {
        if !has_secret(&self.apply.bootstrap_url) {
            return Err(missing("apply.bootstrap_url", "the Aurora master or a DBA connection"));
        }
        for role in &self.apply.iam_roles {
            if !["broker", "app", "migrator"].contains(&role.as_str()) {
                return Err(invalid(
                    "apply.iam_roles",
                    format!("'{role}' is not one of broker, app, migrator"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
