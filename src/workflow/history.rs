//! `/firefighter history [target] [incident | @user] [days]` (issue 17): the firefighter history
//! from the database's audit table (`db_admin.firefighter_history`, as the broker), for the
//! compliance questions asked after the fact: who asked, who approved, issued until when,
//! extended, ended how, sessions ended.
//!
//! Who sees what: approvers and admins (those who see the full status) any history; anyone else
//! only their own (a filter on another person is refused). At most [`SLACK_ROWS`] rows, newest
//! first; the full export is `pgroles history --format csv|json`. The rows' stored text is
//! treated as hostile: shown in a code block with `&`, `<` and `>` escaped (no mention, no link).

use super::Workflow;
use crate::access::history::{self, HistoryFormat, HistoryQuery};
use crate::access::text::history as text;
use crate::access::{IncidentId, SlackUserId};

/// The most rows one Slack answer shows.
pub const SLACK_ROWS: i64 = 30;

impl Workflow {
    pub(super) async fn history(
        &self,
        user: &SlackUserId,
        target: Option<&str>,
        incident: Option<IncidentId>,
        of: Option<SlackUserId>,
        days: Option<u32>,
    ) -> (&'static str, String) {
        let full = self.sees_full_status(user).await;
        let of = match of {
            Some(of) if of != *user && !full => return ("rejected", text::NOT_YOURS.into()),
            Some(of) => Some(of),
            None if full => None,
            None => Some(user.clone()),
        };
        let query = match HistoryQuery::new(
            days.map(i64::from),
            incident.map(|i| i.as_str().to_owned()),
            of.map(|u| u.as_str().to_owned()),
            Some(SLACK_ROWS),
        ) {
            Ok(q) => q,
            Err(_) => return ("rejected", text::BAD_FILTER.into()),
        };
        let mut parts = Vec::new();
        for t in self.inner.fleet.all() {
            if target.is_some_and(|n| n != t.name) {
                continue;
            }
            let rows = match t.grants.broker().history(&query).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, target = %t.name, "reading the history failed");
                    return ("error", text::UNAVAILABLE.into());
                }
            };
            let body = history::render(&rows, HistoryFormat::Text);
            let heading = text::heading(query.days, rows.len(), t.label(&self.inner.fleet).trim());
            parts.push(format!("{heading}\n```{}```", text::escaped(&body)));
        }
        ("ok", parts.join("\n"))
    }
}
