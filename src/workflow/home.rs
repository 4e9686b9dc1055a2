//! The App Home tab (issue 17): when someone opens the bot's Home (`app_home_opened`), the bot
//! publishes (`views.publish`) what concerns them now: their live access (with how to release or
//! extend it), the requests waiting for their approval, and their recent history.
//!
//! Owns what the Home shows and for whom; the words are `access::text::home`'s, the blocks the
//! adapter's. Read-only: nothing here changes a grant or a request. Stored text from the
//! database is escaped like `/firefighter history`'s.

use super::Workflow;
use crate::access::history::{self, HistoryFormat, HistoryQuery};
use crate::access::text::{format_expiry, history as history_text, home as text};
use crate::access::SlackUserId;

/// History rows the Home shows per target.
const HOME_ROWS: i64 = 5;

impl Workflow {
    /// Publishes `user`'s Home; a failure is logged (Slack shows the last published one).
    pub async fn on_home_opened(&self, user: String) {
        let Ok(user) = SlackUserId::parse(&user) else { return };
        let sections = self.home_sections(&user).await;
        let outcome = match self.inner.chat.publish_home(user.as_str(), &sections).await {
            Ok(()) => "ok",
            Err(e) => {
                self.inner.metrics.slack_error(e.method, &e.code);
                "error"
            }
        };
        self.inner.metrics.request("app_home_opened", outcome);
    }

    /// The Home's sections, each a heading and its lines.
    async fn home_sections(&self, user: &SlackUserId) -> Vec<(String, String)> {
        let now = self.now();
        let fleet = &self.inner.fleet;
        let mut live = Vec::new();
        for (t, level) in self.targets_and_levels() {
            match t.grants.active_of(level, user).await {
                Ok(Some(g)) => live.push(text::live(
                    level,
                    t.label(fleet).trim(),
                    &g.incident,
                    &format_expiry(g.expires_at, now),
                    g.login.as_deref(),
                )),
                Ok(None) => {}
                Err(_) => live.push(text::UNAVAILABLE.into()),
            }
        }
        let live = if live.is_empty() { text::NOTHING_LIVE.into() } else { live.join("\n") };
        let mut waiting = Vec::new();
        if let Ok(open) = self.inner.store.open_requests(now).await {
            for r in open.iter().filter(|r| r.requester() != user && r.is_pending()) {
                let Some(t) = fleet.get(r.target()) else { continue };
                if t.approvers.policy().await.is_ok_and(|p| p.is_approver(user)) {
                    waiting.push(text::waiting(
                        r.requester(),
                        r.level(),
                        r.target().unwrap_or_default(),
                        r.incident(),
                        r.approvals().len(),
                        r.needed(),
                    ));
                }
            }
        }
        let waiting =
            if waiting.is_empty() { text::NOTHING_WAITING.into() } else { waiting.join("\n") };
        let mut recent = String::new();
        if let Ok(query) =
            HistoryQuery::new(Some(7), None, Some(user.as_str().to_owned()), Some(HOME_ROWS))
        {
            for t in fleet.all() {
                if let Ok(rows) = t.grants.broker().history(&query).await {
                    if !rows.is_empty() {
                        let body = history::render(&rows, HistoryFormat::Text);
                        recent.push_str(&format!("```{}```", history_text::escaped(&body)));
                    }
                }
            }
        }
        if recent.is_empty() {
            recent = text::NO_HISTORY.into();
        }
        vec![
            (text::LIVE_HEADING.into(), live),
            (text::WAITING_HEADING.into(), waiting),
            (text::HISTORY_HEADING.into(), recent),
        ]
    }
}
