//! Fuzzes how request bodies from Slack are parsed: Events API JSON and slash-command form
//! bodies, as `src/server/dispatch.rs` reads them, then the identifiers and command text the
//! workflow takes from them. Owns only the harness; a panic or a failed property is a bug.
//!
//! Input: the raw request body (bytes, as the listener receives them). Each input is tried as
//! both kinds of body:
//! - JSON: slack-morphism's `SlackPushEvent`, and the listener's own `parse_event`; for a
//!   reaction on a message, the user, channel and ts go through the access id parsers and the
//!   emoji through `ReactionEmojis::classify`.
//! - Form: `serde_urlencoded` into slack-morphism's `SlackCommandEvent` (what the listener
//!   does), and slack-morphism's own `url::form_urlencoded` pairs; a parsed command's text goes
//!   through `Command::parse`.
//!
//! Properties, besides never panicking: whatever parses also serializes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pgroles::access::{ChannelId, Command, MessageTs, ReactionEmojis, SlackUserId};
use pgroles::config::AccessConfig;
use pgroles::server::dispatch::{parse_event, ParsedEvent};
use slack_morphism::prelude::{SlackCommandEvent, SlackPushEvent};
use std::sync::OnceLock;

fn access() -> &'static AccessConfig {
    static CFG: OnceLock<AccessConfig> = OnceLock::new();
    CFG.get_or_init(AccessConfig::default)
}

fn emojis() -> &'static ReactionEmojis {
    static EMOJIS: OnceLock<ReactionEmojis> = OnceLock::new();
    EMOJIS.get_or_init(|| ReactionEmojis::new("white_check_mark", "x"))
}

fn events_api(body: &[u8]) {
    if let Ok(event) = serde_json::from_slice::<SlackPushEvent>(body) {
        assert!(serde_json::to_string(&event).is_ok());
    }
    let Ok(ParsedEvent::Reaction { reaction, .. }) = parse_event(body) else { return };
    let _ = SlackUserId::parse(&reaction.user);
    let _ = emojis().classify(&reaction.reaction);
    let _ = ChannelId::parse(&reaction.channel);
    let _ = MessageTs::parse(&reaction.ts);
}

fn slash_command(body: &[u8]) {
    let _pairs = url::form_urlencoded::parse(body).count();
    let Ok(cmd) = serde_urlencoded::from_bytes::<SlackCommandEvent>(body) else { return };
    assert!(serde_urlencoded::to_string(&cmd).is_ok() || serde_json::to_string(&cmd).is_ok());
    let _ = SlackUserId::parse(&cmd.user_id.0);
    let _ = ChannelId::parse(&cmd.channel_id.0);
    let text = cmd.text.unwrap_or_default();
    if let Err(r) = Command::parse(&cmd.command.0, &text, access()) {
        let _ = r.user_message();
    }
}

fuzz_target!(|data: &[u8]| {
    events_api(data);
    slash_command(data);
});
