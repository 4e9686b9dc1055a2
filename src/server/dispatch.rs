//! The one dispatch of what Slack sends, shared by the HTTP routes ([`super::http`]) and Socket
//! Mode (`socket_mode.rs`): Events API parsing, de-duplication of Slack's retries
//! (`trigger_id` for commands, `event_id` for events) through Redis so that it holds across
//! replicas, and the hand-off to the [`Workflow`].
//!
//! Owns what happens to a verified slash command or event; the transports own only how it came
//! in (signatures, envelopes) and how the outcome is answered (HTTP status, Socket Mode ack).
//! It must not decide anything about access: the workflow answers at once and continues slow
//! work in spawned tasks.

use super::interaction::ParsedInteraction;
use crate::access::FieldError;
use crate::metrics::Metrics;
use crate::slack::render::Rendered;
use crate::timers::{keys, Idempotency};
use crate::workflow::port::Reply;
use crate::workflow::{CommandInput, FormAnswer, ReactionInput, Workflow};
use serde::Deserialize;
use slack_morphism::prelude::SlackCommandEvent;
use std::time::Duration;

/// How long an `event_id` or `trigger_id` is remembered (Slack retries for about 5 minutes).
const DEDUP_TTL: Duration = Duration::from_secs(15 * 60);
/// Longest wait for Redis while acknowledging (Slack gives up after 3 s; Socket Mode
/// redelivers unacked envelopes).
const ACK_REDIS_TIMEOUT: Duration = Duration::from_millis(1500);

/// What the inbound side needs (HTTP and Socket Mode alike).
#[derive(Clone)]
pub(crate) struct ListenerState {
    pub(crate) workflow: Workflow,
    pub(crate) idempotency: Idempotency,
    pub(crate) metrics: Metrics,
}

/// How a slash command was handled; the transport answers it.
pub(crate) enum CommandAck {
    /// A redelivery of a command already handled: answered without a body.
    Duplicate,
    /// Redis unreachable: the user is told so, nothing was done.
    Unavailable,
    /// The immediate reply (the rest continues in the background).
    Reply(Rendered),
    /// Answered with nothing (the request form opens instead).
    Empty,
}

/// A slash command: claimed once per `trigger_id`, then handed to the workflow.
pub(crate) async fn command(state: &ListenerState, cmd: SlackCommandEvent) -> CommandAck {
    match claim(&state.idempotency, &keys::slack_trigger(&cmd.trigger_id.0)).await {
        Claim::Duplicate => {
            state.metrics.request("command", "duplicate");
            return CommandAck::Duplicate;
        }
        Claim::Unavailable => {
            state.metrics.request("command", "unavailable");
            return CommandAck::Unavailable;
        }
        Claim::Mine => {}
    }
    let input = CommandInput {
        command: cmd.command.0,
        text: cmd.text.unwrap_or_default(),
        user: cmd.user_id.0,
        channel: cmd.channel_id.0,
        response_url: cmd.response_url.0.to_string(),
        trigger_id: cmd.trigger_id.0,
    };
    match state.workflow.on_command(input).await {
        Reply::Nothing => CommandAck::Empty,
        reply => CommandAck::Reply(Rendered::from(&reply)),
    }
}

/// How an Events API delivery was handled; the transport answers it.
pub(crate) enum EventAck {
    /// `url_verification`: answer with the challenge.
    Challenge(String),
    /// Handled, ignored or a duplicate: acknowledge.
    Done,
    /// Redis unreachable: leave it unacknowledged so that Slack redelivers.
    Unavailable,
}

/// A parsed event: reactions are claimed once per `event_id` and handed to the workflow in the
/// background; anything else is acknowledged and dropped. `retry` is the delivery's retry
/// number when the transport tells it (HTTP's `x-slack-retry-num`), for the log only.
pub(crate) async fn event(
    state: &ListenerState,
    parsed: ParsedEvent,
    retry: Option<&str>,
) -> EventAck {
    let (event_id, kind, work) = match parsed {
        ParsedEvent::UrlVerification { challenge } => return EventAck::Challenge(challenge),
        ParsedEvent::Ignored { kind } => {
            state.metrics.request(&kind, "ignored");
            return EventAck::Done;
        }
        ParsedEvent::Reaction { event_id, kind, reaction } => {
            (event_id, kind, EventWork::Reaction(reaction))
        }
        ParsedEvent::HomeOpened { event_id, user } => {
            (event_id, "app_home_opened".to_owned(), EventWork::Home(user))
        }
    };
    match claim(&state.idempotency, &keys::slack_event(&event_id)).await {
        Claim::Duplicate => {
            tracing::debug!(event_id = %event_id, retry, "duplicate event delivery ignored");
            state.metrics.request(&kind, "duplicate");
            EventAck::Done
        }
        // Slack redelivers a failed delivery; by then Redis may be back.
        Claim::Unavailable => EventAck::Unavailable,
        Claim::Mine => {
            let workflow = state.workflow.clone();
            workflow.clone().spawn(async move {
                match work {
                    EventWork::Reaction(reaction) => workflow.on_reaction(reaction).await,
                    EventWork::Home(user) => workflow.on_home_opened(user).await,
                }
            });
            EventAck::Done
        }
    }
}

/// How an interactivity payload was handled; the transport answers it.
pub(crate) enum InteractionAck {
    /// Handled, ignored or a duplicate: acknowledge (a submitted form closes).
    Done,
    /// Redis unreachable: leave it unacknowledged (a button press is retried by the user).
    Unavailable,
    /// A form with wrong fields: answer with each message under its field; it stays open.
    Refused(Vec<FieldError>),
}

/// A verified interactivity payload: a button press is claimed once per `trigger_id` and handed
/// to the workflow in the background; a submitted form likewise, but checked at once (its
/// refusal is the answer); anything else is acknowledged and dropped.
pub(crate) async fn interaction(
    state: &ListenerState,
    parsed: ParsedInteraction,
) -> InteractionAck {
    match parsed {
        ParsedInteraction::Ignored { kind } => {
            state.metrics.request(&kind, "ignored");
            InteractionAck::Done
        }
        ParsedInteraction::Button { trigger_id, button } => {
            match claim(&state.idempotency, &keys::slack_trigger(&trigger_id)).await {
                Claim::Duplicate => {
                    state.metrics.request("block_actions", "duplicate");
                    InteractionAck::Done
                }
                Claim::Unavailable => InteractionAck::Unavailable,
                Claim::Mine => {
                    let workflow = state.workflow.clone();
                    workflow.clone().spawn(async move { workflow.on_button(button).await });
                    InteractionAck::Done
                }
            }
        }
        ParsedInteraction::Form { trigger_id, form } => {
            // Slack does not redeliver a submission (each has its own trigger); the claim guards
            // a replay. Without Redis the request itself reports the outage, so the form is
            // taken either way.
            let claimed = claim(&state.idempotency, &keys::slack_trigger(&trigger_id)).await;
            if let Claim::Duplicate = claimed {
                state.metrics.request("view_submission", "duplicate");
                return InteractionAck::Done;
            }
            match state.workflow.on_form(form) {
                FormAnswer::Accepted => InteractionAck::Done,
                FormAnswer::Refused(errors) => InteractionAck::Refused(errors),
            }
        }
    }
}

/// What a claimed event sets off.
enum EventWork {
    Reaction(ReactionInput),
    Home(String),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    challenge: Option<String>,
    event_id: Option<String>,
    event: Option<InnerEvent>,
}

#[derive(Deserialize)]
struct InnerEvent {
    #[serde(rename = "type")]
    kind: String,
    user: Option<String>,
    reaction: Option<String>,
    item: Option<Item>,
    event_ts: Option<String>,
    /// `app_home_opened`: which tab (`home` or `messages`).
    tab: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(rename = "type")]
    kind: String,
    channel: Option<String>,
    ts: Option<String>,
}

/// What an Events API body asks for, decided without I/O.
#[derive(Debug, PartialEq, Eq)]
pub enum ParsedEvent {
    UrlVerification {
        challenge: String,
    },
    Reaction {
        event_id: String,
        kind: String,
        reaction: ReactionInput,
    },
    /// `app_home_opened` on the Home tab: publish `user`'s Home.
    HomeOpened {
        event_id: String,
        user: String,
    },
    /// Anything else: acknowledged and dropped (`kind` for metrics).
    Ignored {
        kind: String,
    },
}

/// Parses an Events API body. `Err` means malformed JSON (answered 400).
pub fn parse_event(body: &[u8]) -> Result<ParsedEvent, serde_json::Error> {
    let env = serde_json::from_slice::<Envelope>(body)?;
    if env.kind == "url_verification" {
        return Ok(ParsedEvent::UrlVerification { challenge: env.challenge.unwrap_or_default() });
    }
    let (Some(event_id), Some(inner)) = (env.event_id, env.event) else {
        return Ok(ParsedEvent::Ignored { kind: env.kind });
    };
    if inner.kind == "app_home_opened" {
        return Ok(match (inner.user, inner.tab.as_deref()) {
            (Some(user), Some("home")) => ParsedEvent::HomeOpened { event_id, user },
            _ => ParsedEvent::Ignored { kind: inner.kind },
        });
    }
    let added = match inner.kind.as_str() {
        "reaction_added" => true,
        "reaction_removed" => false,
        _ => return Ok(ParsedEvent::Ignored { kind: inner.kind }),
    };
    match (inner.user, inner.reaction, inner.item) {
        (Some(user), Some(reaction), Some(Item { kind, channel: Some(channel), ts: Some(ts) }))
            if kind == "message" =>
        {
            let reaction = ReactionInput {
                added,
                user,
                reaction,
                channel,
                ts,
                event_ts: inner.event_ts,
                event_id: Some(event_id.clone()),
            };
            Ok(ParsedEvent::Reaction { event_id, kind: inner.kind, reaction })
        }
        _ => Ok(ParsedEvent::Ignored { kind: inner.kind }),
    }
}

enum Claim {
    Mine,
    Duplicate,
    Unavailable,
}

/// `SET NX` of the delivery's key, with a bounded wait.
async fn claim(idem: &Idempotency, key: &str) -> Claim {
    match tokio::time::timeout(ACK_REDIS_TIMEOUT, idem.claim_once(key, DEDUP_TTL)).await {
        Ok(Ok(true)) => Claim::Mine,
        Ok(Ok(false)) => Claim::Duplicate,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "idempotency claim failed");
            Claim::Unavailable
        }
        Err(_) => {
            tracing::warn!("idempotency claim timed out");
            Claim::Unavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_event_reads_reactions_and_ignores_the_rest() {
        let body = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added",
            "user":"U1","reaction":"x","item":{"type":"message","channel":"C1","ts":"1.2"}}}"#;
        let ParsedEvent::Reaction { event_id, reaction, .. } = parse_event(body).unwrap() else {
            panic!("a reaction");
        };
        assert_eq!(event_id, "Ev1");
        assert!(reaction.added && reaction.channel == "C1" && reaction.ts == "1.2");
        let other = br#"{"type":"event_callback","event_id":"Ev2","event":{"type":"app_mention"}}"#;
        assert_eq!(
            parse_event(other).unwrap(),
            ParsedEvent::Ignored { kind: "app_mention".into() }
        );
        let check = br#"{"type":"url_verification","challenge":"c"}"#;
        assert_eq!(
            parse_event(check).unwrap(),
            ParsedEvent::UrlVerification { challenge: "c".into() }
        );
        assert!(parse_event(b"{").is_err());
    }
}
