//! Two bot replicas (two `pgroles serve` processes) on one Redis. Slack's deliveries reach both:
//! the same slash command, and every approval sent to one replica and re-sent to the other with
//! Slack's retry headers, concurrently. Exactly one request, one password, one DM, one expiry.

use super::crash::SLACK;
use super::run;
use crate::evidence::{self, settle, Row};
use crate::harness::*;
use std::time::Duration;

pub async fn two_replicas() -> Row {
    run("two replicas, every delivery to both", |w, row| Box::pin(replicas(w, row))).await
}

async fn replicas(w: &World, row: &mut Row) -> anyhow::Result<()> {
    let a = w.bot().await?;
    let b = w.bot().await?;
    let (sa, sb) = (w.sender(&a), w.sender(&b));

    // rw: two approvals, each to both replicas at once.
    let rw = w.fake.slash_command("/firefighter", "rw INC-901", REQUESTER, AUDIT);
    let (ra, rb) = tokio::join!(sa.send_command(&rw), sb.send_command(&rw));
    row.check(ra?.status == 200 && rb?.status == 200, "both replicas answered the command");
    let req_rw = w.request_message("INC-901").await?;
    let e1 = w.reaction(APPROVER1, &req_rw.ts);
    let e2 = w.reaction(APPROVER2, &req_rw.ts);
    let sent = tokio::join!(
        sa.send_event(&e1),
        sb.resend_event(&e1, 1, "http_timeout"),
        sb.send_event(&e2),
        sa.resend_event(&e2, 1, "http_timeout"),
        sb.resend_event(&e1, 2, "http_timeout"),
    );
    for r in [sent.0, sent.1, sent.2, sent.3, sent.4] {
        row.check(r?.status == 200, "every delivery is acknowledged");
    }
    w.password_dm(1).await?;

    // ro: one approval, to both replicas at once.
    let ro = w.fake.slash_command("/firefighter", "ro INC-902", REQUESTER, AUDIT);
    let (ra, rb) = tokio::join!(sb.send_command(&ro), sa.send_command(&ro));
    row.check(ra?.status == 200 && rb?.status == 200, "both replicas answered the command");
    let req_ro = w.request_message("INC-902").await?;
    let e3 = w.reaction(APPROVER1, &req_ro.ts);
    let (x, y) = tokio::join!(sb.send_event(&e3), sa.resend_event(&e3, 1, "http_timeout"));
    row.check(x?.status == 200 && y?.status == 200, "every delivery is acknowledged");
    w.password_dm(2).await?;

    for (ts, incident) in [(&req_rw.ts, "INC-901"), (&req_ro.ts, "INC-902")] {
        w.thread_note(ts, "Password expired", DURATION + WAIT).await?;
        let count = |needle: &str| w.thread_texts(ts).iter().filter(|t| t.contains(needle)).count();
        tokio::time::sleep(Duration::from_secs(1)).await;
        row.check(count("Access issued") == 1, format!("{incident}: one 'Access issued'"));
        row.check(count("Password expired") == 1, format!("{incident}: one expiry note"));
        let posted = w
            .fake
            .with(|ws| ws.messages(AUDIT).iter().filter(|m| text_of(m).contains(incident)).count());
        row.check(posted == 1, format!("{incident}: one request message, got {posted}"));
    }
    let rows = evidence::audit(w).await?;
    let n = |event: &str| rows.iter().filter(|r| r.event == event).count();
    row.check(n("issue") == 2, format!("two issue rows, got {}", n("issue")));
    row.check(n("expire") == 2, format!("two expire rows, got {}", n("expire")));
    let dms = w.fake.with(dm_passwords).len();
    row.check(dms == 2, format!("two password DMs, got {dms}"));
    settle(w, row, crate::evidence::Bound::After(SLACK), false).await;
    Ok(())
}
