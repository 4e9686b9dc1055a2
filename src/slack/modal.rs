//! The request form as a Slack modal: the view `views.open` shows for `/firefighter` alone,
//! the block and action ids its submission is read by, and the `response_action: errors`
//! answer that shows a refused field's message under that field.
//!
//! Owns layout and Slack's lengths only: the wording is `access::text::form`'s, the
//! validation `CommandRules::request_from_form`'s. No I/O.

use crate::access::ids::INCIDENT_MAX_LEN;
use crate::access::reason::MAX_REASON_CHARS;
use crate::access::text::form as text;
use crate::access::text::format_duration;
use crate::access::{CommandRules, FieldError, FormField, Level, MAX_DURATION_CHARS};
use slack_morphism::prelude::*;
use std::collections::HashMap;

/// The form's `callback_id`: a `view_submission` with any other is not ours.
pub const CALLBACK_ID: &str = "pgroles_request_form";
/// Every input's `action_id` (unique within its block, which is what Slack asks).
pub const INPUT_ACTION: &str = "value";
/// Slack's limits on a modal.
const MAX_TITLE_CHARS: usize = 24;
const MAX_HINT_CHARS: usize = 2_000;
const MAX_OPTION_TEXT_CHARS: usize = 75;
const MAX_OPTIONS: usize = 100;

/// The block id of a field's input.
pub fn block_id(field: FormField) -> &'static str {
    match field {
        FormField::Target => "pgroles_target",
        FormField::Level => "pgroles_level",
        FormField::Incident => "pgroles_incident",
        FormField::Duration => "pgroles_duration",
        FormField::Reason => "pgroles_reason",
    }
}

/// The field a block id names.
pub fn field_of(block_id: &str) -> Option<FormField> {
    FIELDS.into_iter().find(|f| self::block_id(*f) == block_id)
}

const FIELDS: [FormField; 5] = [
    FormField::Target,
    FormField::Level,
    FormField::Incident,
    FormField::Duration,
    FormField::Reason,
];

/// The request form; `channel` (where the command was typed) rides along as the view's
/// `private_metadata`, so that the answer goes back there.
pub fn request_form(rules: &CommandRules, channel: &str) -> SlackView {
    let mut blocks = Vec::new();
    if !rules.targets().is_empty() {
        let options: Vec<_> =
            rules.targets().iter().take(MAX_OPTIONS).map(|t| choice(t, t)).collect();
        let mut select = SlackBlockStaticSelectElement::new()
            .with_action_id(SlackActionId(INPUT_ACTION.into()))
            .with_placeholder(plain(text::TARGET_PLACEHOLDER).into())
            .with_options(options.clone());
        if let [only] = options.as_slice() {
            select = select.with_initial_option(only.clone());
        }
        blocks.push(input(rules, FormField::Target, select.into(), false));
    }
    let levels: Vec<SlackBlockChoiceItem<SlackBlockText>> = [Level::Ro, Level::Rw]
        .into_iter()
        .map(|l| SlackBlockChoiceItem::new(plain(text::level_option(l)).into(), l.to_string()))
        .collect();
    let radio = SlackBlockRadioButtonsElement::new(levels.clone())
        .with_action_id(SlackActionId(INPUT_ACTION.into()))
        .with_initial_option(levels[0].clone());
    blocks.push(input(rules, FormField::Level, radio.into(), false));
    let incident = text_input(INCIDENT_MAX_LEN, false)
        .with_placeholder(plain(&truncate(rules.pattern().example(), 150)).into());
    blocks.push(input(rules, FormField::Incident, incident.into(), false));
    let default = format_duration(rules.default_duration().as_secs());
    let duration = text_input(MAX_DURATION_CHARS, false).with_placeholder(plain(&default).into());
    blocks.push(input(rules, FormField::Duration, duration.into(), true));
    let both = rules.requires_reason(Level::Ro) && rules.requires_reason(Level::Rw);
    let reason = text_input(MAX_REASON_CHARS, true);
    blocks.push(input(rules, FormField::Reason, reason.into(), !both));
    SlackView::Modal(
        SlackModalView::new(
            short(text::TITLE).into(),
            blocks.into_iter().map(Into::into).collect(),
        )
        .with_submit(short(text::SUBMIT).into())
        .with_close(short(text::CLOSE).into())
        .with_callback_id(CALLBACK_ID.into())
        .with_private_metadata(channel.to_owned()),
    )
}

fn input(
    rules: &CommandRules,
    field: FormField,
    element: SlackInputBlockElement,
    optional: bool,
) -> SlackInputBlock {
    let mut block = SlackInputBlock::new(plain(text::label(field)).into(), element)
        .with_block_id(SlackBlockId(block_id(field).into()))
        .with_optional(optional);
    if let Some(hint) = text::hint(field, rules) {
        block = block.with_hint(plain(&truncate(&hint, MAX_HINT_CHARS)).into());
    }
    block
}

fn text_input(max: usize, multiline: bool) -> SlackBlockPlainTextInputElement {
    SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId(INPUT_ACTION.into()))
        .with_max_length(max as u64)
        .with_multiline(multiline)
}

fn choice(text: &str, value: &str) -> SlackBlockChoiceItem<SlackBlockPlainTextOnly> {
    SlackBlockChoiceItem::new(plain(&truncate(text, MAX_OPTION_TEXT_CHARS)).into(), value.into())
}

/// A title or button of a modal (Slack allows 24 characters).
fn short(s: &str) -> SlackBlockPlainText {
    plain(&truncate(s, MAX_TITLE_CHARS))
}

fn plain(s: &str) -> SlackBlockPlainText {
    SlackBlockPlainText::new(s.to_owned())
}

fn truncate(s: &str, max: usize) -> String {
    super::render::truncate(s, max)
}

/// The answer to a refused submission: each message under its field; the modal stays open.
pub fn errors_response(errors: &[FieldError]) -> SlackViewSubmissionResponse {
    let errors: HashMap<String, String> =
        errors.iter().map(|e| (block_id(e.field).to_owned(), text::field_error(e))).collect();
    SlackViewSubmissionResponse::Errors(SlackViewSubmissionErrorsResponse::new(errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::AccessConfig;

    #[test]
    fn the_form_fits_slacks_limits_and_carries_the_channel() {
        let rules = CommandRules::from_config(&AccessConfig::default()).unwrap();
        let view = serde_json::to_value(request_form(&rules, "C0AUDIT001")).unwrap();
        assert_eq!(view["type"], "modal");
        assert!(view["title"]["text"].as_str().unwrap().chars().count() <= MAX_TITLE_CHARS);
        assert_eq!(view["private_metadata"], "C0AUDIT001");
        assert_eq!(view["callback_id"], CALLBACK_ID);
        let ids: Vec<_> =
            view["blocks"].as_array().unwrap().iter().map(|b| &b["block_id"]).collect();
        assert_eq!(
            ids,
            ["pgroles_level", "pgroles_incident", "pgroles_duration", "pgroles_reason"]
        );
        let fleet = rules.with_targets(vec!["orders".into()]);
        let view = serde_json::to_value(request_form(&fleet, "C1")).unwrap();
        assert_eq!(view["blocks"][0]["element"]["initial_option"]["value"], "orders");
        assert!(FIELDS.iter().all(|f| field_of(block_id(*f)) == Some(*f)));
    }
}
