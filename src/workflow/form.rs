//! The request form: `/firefighter` with no words opens it (`views.open` through the chat port,
//! within the 3 s its trigger lives), and a submitted form either goes back with a message under
//! each wrong field or becomes the same request a typed command makes.
//!
//! Owns that sequencing only: validation is `CommandRules::request_from_form`'s, wording
//! `access::text::form`'s, the modal's layout the Slack adapter's.

use super::open::Ask;
use super::port::Reply;
use super::{CommandInput, FormAnswer, FormInput, Workflow};
use crate::access::text::form::form_failed;
use crate::access::{ChannelId, FormRequest, Rejection, SlackUserId};
use crate::model::Level;

impl Workflow {
    /// Opens the form in the background (the command is answered with nothing; the modal is
    /// the answer). Without a trigger, or if Slack refuses it, the user gets the help text.
    pub(super) fn open_form(&self, input: CommandInput) -> Reply {
        let s = &self.inner.settings;
        if input.trigger_id.is_empty() {
            self.inner.metrics.request("form", "no_trigger");
            return Reply::Sections(s.rules.help().to_owned());
        }
        let wf = self.clone();
        self.spawn(async move {
            let rules = &wf.inner.settings.rules;
            let opened =
                wf.inner.chat.open_request_form(&input.trigger_id, &input.channel, rules).await;
            match opened {
                Ok(()) => wf.inner.metrics.request("form", "opened"),
                Err(e) => {
                    tracing::warn!(code = %e.code, "could not open the request form");
                    wf.inner.metrics.request("form", "failed");
                    wf.reply(&input, &form_failed(rules)).await;
                }
            }
        });
        Reply::Nothing
    }

    /// A submitted form: refused fields go back at once (the form stays open); a valid form
    /// closes and is asked for as `/firefighter <level> [target] <incident> <duration>
    /// [reason]` would be, its answers arriving in the form's channel.
    pub fn on_form(&self, form: FormInput) -> FormAnswer {
        let s = &self.inner.settings;
        let FormRequest { level, target, incident, duration, reason } =
            match s.rules.request_from_form(&form.values) {
                Ok(request) => request,
                Err(errors) => {
                    self.inner.metrics.request("form", "refused");
                    return FormAnswer::Refused(errors);
                }
            };
        let label = if level == Level::Ro { "form_ro" } else { "form_rw" };
        self.inner.metrics.request(label, "submitted");
        let wf = self.clone();
        self.spawn(async move {
            // The metadata is ours, signed back by Slack; anything else answers in the DM.
            let channel = match ChannelId::parse(&form.channel) {
                Ok(c) => c.as_str().to_owned(),
                Err(_) => form.user.clone(),
            };
            let input = CommandInput {
                command: "/firefighter".into(),
                text: String::new(),
                user: form.user.clone(),
                channel,
                response_url: String::new(),
                trigger_id: String::new(),
            };
            let reply =
                match (SlackUserId::parse(&form.user), wf.inner.fleet.get(target.as_deref())) {
                    (Err(_), _) => Reply::Text(Rejection::InvalidUserId.user_message()),
                    (_, None) => Reply::Text(Rejection::Misconfigured.user_message()),
                    (Ok(user), Some(target)) => {
                        let target = target.clone();
                        let ask =
                            Ask { target, level, incident, duration, reason, break_glass: false };
                        wf.request_access(input.clone(), user, ask).await
                    }
                };
            wf.inner.chat.respond("", &input.channel, &input.user, &reply).await;
        });
        FormAnswer::Accepted
    }
}
