//! `pgroles verify`: a drift report of a live database against the role model.
//!
//! Connects as any low-privilege login (the password broker is enough: it has no USAGE on the
//! application schema, so everything is read from the catalogs by OID) and compares what it
//! finds with [`crate::model::expected`]. Each finding carries a severity, the object, the role,
//! expected and actual state, and the SQL that removes it.
//!
//! Module map:
//! - [`snapshot`]: the read-only snapshot every query of one run shares, and its helpers.
//! - [`catalog`]: the catalog queries (`sql/queries/verify_*.sql`) and their rows.
//! - [`objects`]: the application schema's objects, scanned in one pass (split over helpers).
//! - `rows`: the row types and helpers `catalog` and `objects` share (`Class`, `ObjectGroup`).
//! - [`findings`]: `Finding`, `Severity`, quoting, ACL comparison and fix statements.
//! - `check_roles`, `check_settings`, `check_acl`, `check_objects`, `check_databases`,
//!   [`check_logging`]: the pure checks; `check_person`: per-person logins (issue 15), read
//!   through `person_logins(true)` where the verifying login may; `check_activity`: admin's
//!   `pg_read_all_stats` where `pg_stat_statements` is installed (activity summaries).
//! - [`report`]: `Report`, text and JSON (`docs/verify-json.md`), exit codes.
//! - [`blocks`]: Slack Block Kit rendering.
//! - [`cli`]: `pgroles verify [--format text|json|slack] [--url URL]`.
//! - [`instances`]: the open firefighter sessions of the cluster's other instances (issue 16).
//!
//! Must not change the database: verify only reads, in one `REPEATABLE READ, READ ONLY`
//! transaction. Speed: one pass compares each object with the ACL a new object gets; only the
//! objects that differ are grouped by (kind, owner, ACL), and names are looked up only for
//! drifted groups (`BENCHMARKS.md`).

pub mod blocks;
pub mod catalog;
mod check_acl;
mod check_activity;
mod check_databases;
mod check_large_objects;
pub mod check_logging;
mod check_objects;
mod check_person;
mod check_roles;
mod check_settings;
pub mod cli;
pub mod findings;
pub mod instances;
pub mod objects;
pub mod report;
mod rows;
pub mod snapshot;

pub use cli::{cli_main, Format, VerifyArgs};
pub use findings::{Check, Finding, ObjectList, Severity};
pub use report::Report;

use crate::model::expected::Expected;
use crate::model::Names;
use chrono::{DateTime, Utc};
use tokio_postgres::Client;

/// Why verification could not complete (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("could not read {what}: {message}")]
    Query { what: &'static str, message: String },
    #[error("connected to database {connected:?}, but the model's database is {expected:?}")]
    WrongDatabase { connected: String, expected: String },
    #[error("could not connect: {0}")]
    Connect(String),
}

impl VerifyError {
    pub(crate) fn query(what: &'static str, e: &tokio_postgres::Error) -> VerifyError {
        let message = match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => e.to_string(),
        };
        VerifyError::Query { what, message }
    }

    /// Always [`report::EXIT_ERROR`].
    pub fn exit_code(&self) -> u8 {
        report::EXIT_ERROR
    }
}

/// Verifies the database `client` is connected to (it must be `names.database`).
pub async fn run(
    client: &Client,
    names: &Names,
    now: DateTime<Utc>,
) -> Result<Report, VerifyError> {
    run_with_helpers(client, &[], snapshot::SPLIT_MIN_PAGES, names, now).await
}

/// [`run`], with more connections to the same database (as the same login or any other): when
/// `pg_class` has at least `split_min_pages` pages, the object scan is split over all of them
/// in one shared snapshot ([`snapshot`]). Each helper is used only for that scan.
pub async fn run_with_helpers(
    client: &Client,
    helpers: &[&Client],
    split_min_pages: u32,
    names: &Names,
    now: DateTime<Utc>,
) -> Result<Report, VerifyError> {
    let session = snapshot::Snapshot::begin(client, helpers, split_min_pages).await?;
    let result = verify_in(&session, names, now).await;
    session.end().await;
    result
}

async fn verify_in(
    session: &snapshot::Snapshot<'_>,
    names: &Names,
    now: DateTime<Utc>,
) -> Result<Report, VerifyError> {
    let client = session.primary;
    let cat = catalog::read(session, names).await?;
    let exp = Expected::new(names, cat.context.version_num);

    let mut findings = check_roles::role_attributes(&exp, &cat.roles);
    // Issue 15: per-person logins, judged where the verifying login may read their record.
    match check_person::read(client, &names.admin_schema).await? {
        Some(people) => {
            let (rest, person) = check_person::memberships(&exp, &cat.memberships, &people);
            findings.extend(person);
            findings.extend(check_person::logins(&exp, &people, now));
            findings.extend(check_roles::memberships(&exp, &rest));
        }
        None => findings.extend(check_roles::memberships(&exp, &cat.memberships)),
    }
    findings.extend(check_settings::role_settings(&exp, &cat.settings));
    findings.extend(check_logging::broker_logging(
        &exp,
        &cat.logging,
        &cat.settings,
        &cat.session_user,
    ));
    findings.extend(check_databases::other_databases(&cat.other_databases));
    findings
        .extend(check_activity::stats_access(names, check_activity::read(client, names).await?));
    findings.extend(check_large_objects::large_objects(
        &check_large_objects::read(client, names).await?,
    ));
    findings.extend(check_settings::firefighters(&exp, &cat.roles, &cat.sessions, now));
    findings.extend(check_acl::database(&exp, &cat.context));
    findings.extend(check_acl::schemas(&exp, &cat.schemas));
    findings.extend(check_acl::default_privileges(&exp, &cat.default_acls));
    findings.extend(check_acl::admin_schema(
        &exp,
        &cat.admin_objects,
        cat.context.admin_schema_oid.is_some(),
    ));

    let clean =
        |g: &catalog::ObjectGroup| check_objects::drifts(&exp, std::slice::from_ref(g)).is_empty();
    let groups = objects::groups(client, &names.schema, &cat.objects, clean).await?;
    // Names only for drifted groups, at most NAME_CAP each, fetched concurrently.
    let drifts = check_objects::drifts(&exp, &groups);
    let schema_oid = cat.context.schema_oid.unwrap_or(0);
    let mut distinct: Vec<&catalog::ObjectGroup> = Vec::new();
    for d in &drifts {
        if !distinct.iter().any(|g| std::ptr::eq(*g, d.group)) {
            distinct.push(d.group);
        }
    }
    let names_of = futures::future::try_join_all(
        distinct
            .iter()
            .map(|g| objects::object_names(client, schema_oid, g, check_objects::NAME_CAP as i64)),
    )
    .await?;
    let with_names = drifts
        .into_iter()
        .map(|d| {
            let i = distinct.iter().position(|g| std::ptr::eq(*g, d.group)).unwrap_or(0);
            let names = names_of.get(i).cloned().unwrap_or_default();
            (d, names)
        })
        .collect();
    findings.extend(check_objects::findings(&exp, with_names));

    let objects_checked =
        groups.iter().map(|g| g.count.max(0) as u64).sum::<u64>() + cat.admin_objects.len() as u64;
    Ok(Report::new(
        now,
        cat.context.version.clone(),
        cat.context.datname.clone(),
        names.schema.clone(),
        findings,
        cat.sessions,
        objects_checked,
    ))
}
