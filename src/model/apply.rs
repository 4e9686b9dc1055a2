//! `pgroles apply`: runs the rendered scripts against a live cluster as the bootstrap DBA, in
//! order, on the right database, and reports what changed (a diff of catalog snapshots taken
//! before and after), what was refused (every server WARNING: a REVOKE by a non-owner only
//! warns, so a warning is never trusted to mean success), and whether Aurora was detected.
//! Also the opt-in [`harden_cluster`] (other databases closed to the model's roles).

use super::render::{
    self, RenderOptions, Rendered, Target, SNAPSHOT_CLUSTER, SNAPSHOT_DATABASE, SNAPSHOT_DATABASES,
};
use super::script::Step;
use super::Names;
use anyhow::Context;
use futures::StreamExt;
use std::collections::BTreeMap;
use tokio::sync::mpsc;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Client, Socket};

/// What an apply did.
#[derive(Debug, Default, Clone)]
pub struct ApplyReport {
    /// `+ key: value`, `~ key: old -> new`, `- key` lines, in key order.
    pub changes: Vec<String>,
    /// Server warnings, including grants the server refused (G10). Non-empty means the model
    /// is not fully in place.
    pub refused: Vec<String>,
    /// `pgroles:` notices (roles created, grants made).
    pub notices: Vec<String>,
    /// The `rds_*` roles exist.
    pub aurora: bool,
}

impl ApplyReport {
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A connection plus the notices and warnings the server sends on it.
struct Session {
    client: Client,
    notices: mpsc::UnboundedReceiver<tokio_postgres::error::DbError>,
}

impl Session {
    async fn open<T>(cfg: &tokio_postgres::Config, tls: T) -> anyhow::Result<Session>
    where
        T: MakeTlsConnect<Socket> + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let (client, mut connection) = cfg.connect(tls).await?;
        let (tx, notices) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let AsyncMessage::Notice(n) = message {
                    let _ = tx.send(n);
                }
            }
        });
        Ok(Session { client, notices })
    }

    fn drain(&mut self, report: &mut ApplyReport, file: &str) {
        while let Ok(n) = self.notices.try_recv() {
            match n.severity() {
                "WARNING" => report.refused.push(format!("{file}: {}", n.message())),
                _ if n.message().starts_with("pgroles:") => {
                    report.notices.push(n.message().trim_start_matches("pgroles: ").to_string())
                }
                _ => {}
            }
        }
    }

    async fn run(
        &mut self,
        file: &str,
        steps: &[Step],
        report: &mut ApplyReport,
    ) -> anyhow::Result<()> {
        for step in steps {
            match step {
                Step::Sql(sql) => {
                    self.client.batch_execute(sql).await.map_err(|e| describe(file, sql, e))?
                }
                Step::Gexec(query) => {
                    let rows = self
                        .client
                        .simple_query(query)
                        .await
                        .map_err(|e| describe(file, query, e))?;
                    for row in rows {
                        if let tokio_postgres::SimpleQueryMessage::Row(row) = row {
                            for i in 0..row.len() {
                                if let Some(stmt) = row.get(i) {
                                    self.client
                                        .batch_execute(stmt)
                                        .await
                                        .map_err(|e| describe(file, stmt, e))?;
                                }
                            }
                        }
                    }
                }
            }
            self.drain(report, file);
        }
        Ok(())
    }

    async fn snapshot(
        &self,
        query: &str,
        a: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> anyhow::Result<BTreeMap<String, String>> {
        let rows = self.client.query(query, a).await.context("reading the catalog snapshot")?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Option<String>>(1).unwrap_or_default()))
            .collect())
    }
}

fn describe(file: &str, sql: &str, e: tokio_postgres::Error) -> anyhow::Error {
    let first = sql.lines().next().unwrap_or("");
    match e.as_db_error() {
        Some(db) => anyhow::anyhow!("{file}: {} ({}) in: {first}", db.message(), db.code().code()),
        None => anyhow::anyhow!("{file}: {e} in: {first}"),
    }
}

/// The plan `--dry-run` prints: every step, where it runs, nothing executed.
pub fn plan(names: &Names, opts: &RenderOptions) -> anyhow::Result<Vec<String>> {
    let rendered = render::render(names, opts)?;
    let mut out = Vec::new();
    for r in &rendered {
        let db = match r.target {
            Target::Maintenance => "maintenance database".to_string(),
            Target::Database => format!("database {:?}", names.database),
        };
        out.push(format!("{} ({} steps, on the {db})", r.name, r.steps.len()));
        for s in &r.steps {
            let first = s.text().lines().next().unwrap_or("");
            out.push(format!(
                "  {}{first}",
                if matches!(s, Step::Gexec(_)) { "gexec " } else { "" }
            ));
        }
    }
    Ok(out)
}

/// The lines `--dry-run --harden-cluster` adds to [`plan`].
pub fn plan_harden(names: &Names, opts: &RenderOptions) -> anyhow::Result<Vec<String>> {
    let r = render::render_harden(names, opts)?;
    let mut out =
        vec![format!("{} ({} steps, on the maintenance database)", r.name, r.steps.len())];
    out.extend(r.steps.iter().map(|s| format!("  {}", s.text().lines().next().unwrap_or(""))));
    Ok(out)
}

/// Applies the model. `bootstrap` points at the maintenance database as the bootstrap DBA; the
/// application database is reached with the same settings and a different dbname.
pub async fn apply<T>(
    bootstrap: &tokio_postgres::Config,
    tls: T,
    names: &Names,
    opts: &RenderOptions,
) -> anyhow::Result<ApplyReport>
where
    T: MakeTlsConnect<Socket> + Clone + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let rendered: Vec<Rendered> = render::render(names, opts)?;
    let mut report = ApplyReport::default();
    let mut maint =
        Session::open(bootstrap, tls.clone()).await.context("connecting as the bootstrap DBA")?;
    let roles = names.all_roles();
    report.aurora = maint
        .client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'rds_password')",
            &[],
        )
        .await?
        .get(0);
    let before_cluster = maint.snapshot(SNAPSHOT_CLUSTER, &[&roles, &names.database]).await?;
    let db_exists: bool = maint
        .client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1)",
            &[&names.database],
        )
        .await?
        .get(0);

    for r in rendered.iter().filter(|r| r.target == Target::Maintenance) {
        maint.run(r.name, &r.steps, &mut report).await?;
    }

    let mut db_cfg = bootstrap.clone();
    db_cfg.dbname(&names.database);
    let mut db = Session::open(&db_cfg, tls)
        .await
        .with_context(|| format!("connecting to database {:?}", names.database))?;
    let schema_args: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
        [&names.schema, &names.admin_schema];
    let before_db = if db_exists {
        db.snapshot(SNAPSHOT_DATABASE, &schema_args).await?
    } else {
        BTreeMap::new()
    };
    for r in rendered.iter().filter(|r| r.target == Target::Database) {
        db.run(r.name, &r.steps, &mut report).await?;
    }
    let after_cluster = maint.snapshot(SNAPSHOT_CLUSTER, &[&roles, &names.database]).await?;
    let after_db = db.snapshot(SNAPSHOT_DATABASE, &schema_args).await?;
    report.changes = diff(&before_cluster, &after_cluster);
    report.changes.extend(diff(&before_db, &after_db));
    Ok(report)
}

/// `pgroles apply --harden-cluster`: runs `sql/70_harden_cluster.sql` as the bootstrap DBA on
/// the maintenance database, after [`apply`], and reports the database ACLs it changed, the
/// grants it kept for roles outside the model (notices) and anything refused (warnings).
pub async fn harden_cluster<T>(
    bootstrap: &tokio_postgres::Config,
    tls: T,
    names: &Names,
    opts: &RenderOptions,
) -> anyhow::Result<ApplyReport>
where
    T: MakeTlsConnect<Socket> + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let rendered = render::render_harden(names, opts)?;
    let mut report = ApplyReport::default();
    let mut maint =
        Session::open(bootstrap, tls).await.context("connecting as the bootstrap DBA")?;
    let before = maint.snapshot(SNAPSHOT_DATABASES, &[]).await?;
    maint.run(rendered.name, &rendered.steps, &mut report).await?;
    let after = maint.snapshot(SNAPSHOT_DATABASES, &[]).await?;
    report.changes = diff(&before, &after);
    Ok(report)
}

/// Differences between two snapshots as human-readable lines.
pub fn diff(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in after {
        match before.get(k) {
            None => out.push(format!("+ {k}: {v}")),
            Some(old) if old != v => out.push(format!("~ {k}: {old} -> {v}")),
            _ => {}
        }
    }
    for k in before.keys().filter(|k| !after.contains_key(*k)) {
        out.push(format!("- {k}"));
    }
    out
}
