//! The demo's lifecycle steps (issue 17): Alice asks to extend her access and Bob approves the
//! ask in the thread (the database's VALID UNTIL moves); after the first grant ended, a second
//! one is released early with `/firefighter done`. Part of [`super::incident`]'s play.

use super::incident::{Missed, Play, WAIT};
use super::{step, ALICE, AUDIT, BOB, INCIDENT};
use std::time::Duration;

/// How much longer Alice asks for.
pub const EXTEND_SECS: u64 = 6;

impl Play<'_> {
    /// Alice runs a command and the bot acks it within Slack's 3 s.
    async fn alice(&self, step: &'static str, text: &str) -> Result<(), Missed> {
        let alice = self.t.dir().user_name(ALICE);
        self.say(&format!("{alice} in #incident-audit"), &format!("/firefighter {text}"));
        let cmd = self.bot.fake.slash_command("/firefighter", text, ALICE, AUDIT);
        match self.bot.sender.send_command(&cmd).await {
            Ok(a) if a.status == 200 && a.elapsed < Duration::from_secs(3) => Ok(()),
            Ok(a) => Err(Missed(step, format!("the bot answered HTTP {}", a.status))),
            Err(e) => Err(Missed(step, format!("{e:#}"))),
        }
    }

    /// `/firefighter extend`, Bob's ✅ on the ask, the "Extended" note.
    pub(super) async fn extend(&self, ts: &str) -> Result<(), Missed> {
        let step = step::EXTENDED;
        self.alice(step, &format!("extend {EXTEND_SECS}s")).await?;
        let ask = self
            .wait(step, WAIT, "the extension ask", self.thread_note(ts, "asks to extend"))
            .await?;
        self.react_to(BOB, &ask.ts, "the extension ask").await.map_err(|e| Missed(step, e))?;
        self.wait(step, WAIT, "the 'Extended' note", self.thread_note(ts, "Extended by")).await?;
        self.ok(step);
        Ok(())
    }

    /// A second grant, approved with the button, then `/firefighter done`.
    pub(super) async fn release(&self) -> Result<(), Missed> {
        let step = step::RELEASED;
        self.alice(step, &format!("ro {INCIDENT}")).await?;
        let second = self
            .wait(step, WAIT, "the second request message", |ws| {
                ws.messages(AUDIT).into_iter().nth(1)
            })
            .await?;
        self.press_approve(BOB, &second.ts).await.map_err(|e| Missed(step, e))?;
        self.wait(
            step,
            WAIT,
            "the 'Access issued' note",
            self.thread_note(&second.ts, "Access issued"),
        )
        .await?;
        self.alice(step, "done").await?;
        self.wait(
            step,
            WAIT,
            "the 'Released early' note",
            self.thread_note(&second.ts, "Released early"),
        )
        .await?;
        self.ok(step);
        Ok(())
    }
}
