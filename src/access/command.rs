//! The slash-command grammar: `/firefighter ro|rw [target] <incident> [duration]
//! [break-glass] [reason]`, `status`,
//! `revoke ro|rw [target] [@user]`, `resend`, `activity [target] [@user]`, `help`; `/pgroles
//! verify [target|all] [post]`, `/pgroles help`. A target word is accepted only when the bot
//! serves a fleet (`[targets.*]`); with one target it may be left out.
//!
//! Keywords are case-insensitive, any run of spaces or tabs separates words, extra words are
//! refused, and text over 200 characters or holding a control or format character (CR, LF,
//! NUL, zero-width, bidi marks: any `Cc` but tab, any `Cf`) is refused before anything else. This module parses
//! only: it decides nothing about who may do what, and performs no I/O.

use super::duration::{GrantDuration, DATABASE_CAP_SECS};
use super::ids::{IncidentId, IncidentPattern, SlackUserId};
use super::reason::Reason;
use super::rejection::{AccessConfigError, Rejection, SlashCommand};
use super::text;

#[path = "command_form.rs"]
pub mod form;
#[path = "command_history.rs"]
mod history_args;
#[path = "command_targets.rs"]
mod targets_rules;
use crate::access::level::Level;
use crate::access::settings::AccessConfig;
use std::time::Duration;

/// Longest accepted command text, in characters.
pub const MAX_COMMAND_CHARS: usize = 200;

/// A parsed slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/firefighter ro|rw <incident> [duration]`; the configured default fills in `duration`.
    Request {
        level: Level,
        /// The target (fleet only; `None` without `[targets]`).
        target: Option<String>,
        incident: IncidentId,
        duration: GrantDuration,
        /// Free text after the duration (required per level by `access.require_reason_*`).
        reason: Option<Reason>,
        /// `break-glass <reason>` after the incident (and duration): issued at once, no
        /// approvals, a loud trail, a review afterwards (if `access.break_glass` allows it).
        break_glass: bool,
    },
    /// `/firefighter` with no words: open the request form (a Slack modal).
    Form,
    Status,
    /// `/firefighter revoke ro|rw [target] [@user]`: everyone holding the level, or that one
    /// person.
    Revoke {
        level: Level,
        target: Option<String>,
        holder: Option<SlackUserId>,
    },
    Resend,
    /// `/firefighter extend [target] [ro|rw] <duration>`: the holder asks the approvers to
    /// move the end of their grant later.
    Extend {
        target: Option<String>,
        level: Option<Level>,
        by: GrantDuration,
    },
    /// `/firefighter history [target] [incident | @user] [days]`: the audit history.
    History {
        target: Option<String>,
        incident: Option<IncidentId>,
        user: Option<SlackUserId>,
        days: Option<u32>,
    },
    /// `/firefighter done [target]`: the caller ends their own access now (every level, every
    /// target unless one is named).
    Done {
        target: Option<String>,
    },
    /// `/firefighter activity [target] [@user]`: what a per-person login did so far (own, by
    /// default).
    Activity {
        target: Option<String>,
        holder: Option<SlackUserId>,
    },
    Help,
    /// `/pgroles verify [target|all] [post]`: `post` shares the report in the channel.
    Verify {
        scope: VerifyScope,
        post: bool,
    },
    PgrolesHelp,
}

/// Which targets `/pgroles verify` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyScope {
    /// The only target (no target word given where one target exists).
    Default,
    /// One named target.
    One(String),
    /// `all`: every target.
    All,
}

/// What parsing needs from `AccessConfig`, compiled once.
#[derive(Debug, Clone)]
pub struct CommandRules {
    pattern: IncidentPattern,
    default_duration: GrantDuration,
    cap: Duration,
    help: String,
    /// The fleet's target names (empty: one implicit target, no target word).
    targets: Vec<String>,
    /// Whether `ro` and `rw` requests need a reason.
    require_reason: (bool, bool),
    /// The longest a break-glass grant lasts (`access.break_glass_max_secs`, within `cap`).
    break_glass_cap: Duration,
}

impl CommandRules {
    pub fn from_config(cfg: &AccessConfig) -> Result<CommandRules, AccessConfigError> {
        let pattern = IncidentPattern::from_config(cfg)?;
        let bad_duration = AccessConfigError::Duration {
            default_secs: cfg.default_duration_secs,
            max_secs: cfg.max_duration_secs,
            limit_secs: DATABASE_CAP_SECS,
        };
        if cfg.max_duration_secs > DATABASE_CAP_SECS {
            return Err(bad_duration);
        }
        let cap = Duration::from_secs(cfg.max_duration_secs);
        let default_duration =
            GrantDuration::from_secs(cfg.default_duration_secs, cap).map_err(|_| bad_duration)?;
        Ok(CommandRules {
            pattern,
            default_duration,
            cap,
            help: text::firefighter_help(cfg),
            targets: Vec::new(),
            require_reason: (cfg.require_reason_ro, cfg.require_reason_rw),
            break_glass_cap: Duration::from_secs(
                cfg.break_glass_max_secs.clamp(1, cfg.max_duration_secs),
            ),
        })
    }

    /// A fleet's target names: commands may (with several, must) name one.
    pub fn with_targets(mut self, targets: Vec<String>) -> CommandRules {
        self.targets = targets;
        self
    }

    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    pub fn pattern(&self) -> &IncidentPattern {
        &self.pattern
    }

    pub fn help(&self) -> &str {
        &self.help
    }
}

impl Command {
    /// Parses a slash command with rules compiled from `cfg` (see [`Command::parse_with`] to
    /// compile them once).
    pub fn parse(command: &str, text: &str, cfg: &AccessConfig) -> Result<Command, Rejection> {
        check_length(text)?;
        let rules = CommandRules::from_config(cfg).map_err(|_| Rejection::Misconfigured)?;
        Self::parse_with(command, text, &rules)
    }

    pub fn parse_with(
        command: &str,
        text: &str,
        rules: &CommandRules,
    ) -> Result<Command, Rejection> {
        check_length(text)?;
        // Tabs and non-control whitespace (spaces, no-break spaces) separate words; a CR, LF or
        // other control character stays in its word, so it cannot vanish as "whitespace" and
        // leave a request that looks real.
        let words: Vec<&str> = text.split(is_separator).filter(|w| !w.is_empty()).collect();
        let parsed = match command.trim().to_ascii_lowercase().as_str() {
            "/firefighter" => firefighter(&words, rules),
            "/pgroles" => pgroles(&words, rules),
            _ => Err(Rejection::UnknownCommand),
        };
        check_characters(text, parsed)
    }
}

fn check_length(text: &str) -> Result<(), Rejection> {
    // Bytes bound chars from above: skip counting for short text, never slice.
    if text.len() > MAX_COMMAND_CHARS && text.chars().count() > MAX_COMMAND_CHARS {
        return Err(Rejection::TextTooLong { max: MAX_COMMAND_CHARS });
    }
    Ok(())
}

fn is_separator(c: char) -> bool {
    c == '\t' || (c.is_whitespace() && !super::parse::is_forbidden_in_command(c))
}

/// Control and format characters are refused wherever they are. The incident id's own message
/// ("contains a control character") is kept when that is where one was found; anything else
/// holding one is refused as a whole, whatever it parsed as.
fn check_characters(text: &str, parsed: Result<Command, Rejection>) -> Result<Command, Rejection> {
    if !text.chars().any(super::parse::is_forbidden_in_command) {
        return parsed;
    }
    match parsed {
        Err(e @ Rejection::InvalidIncident { .. }) => Err(e),
        _ => Err(Rejection::ControlCharacter),
    }
}

fn firefighter(words: &[&str], rules: &CommandRules) -> Result<Command, Rejection> {
    let Some((first, rest)) = words.split_first() else { return Ok(Command::Form) };
    let keyword = first.to_ascii_lowercase();
    let simple = |cmd: Command, usage: &str| no_more(rest, usage).map(|()| cmd);
    match keyword.as_str() {
        "ro" => request(Level::Ro, rest, rules),
        "rw" => request(Level::Rw, rest, rules),
        "status" => simple(Command::Status, "/firefighter status"),
        "resend" => simple(Command::Resend, "/firefighter resend"),
        "help" => simple(Command::Help, "/firefighter help"),
        "revoke" => {
            let usage = "/firefighter revoke ro|rw [@user]";
            let Some((level, rest)) = rest.split_first() else {
                return Err(Rejection::MissingArgument { usage: usage.into() });
            };
            let level = Level::parse(level)
                .ok_or_else(|| Rejection::InvalidLevel { usage: usage.into() })?;
            let (target, rest) = rules.optional_target(rest, usage)?;
            let holder = optional_user(rest, usage)?;
            Ok(Command::Revoke { level, target, holder })
        }
        "extend" => {
            let usage = "/firefighter extend [target] [ro|rw] <duration>";
            let (target, rest) = rules.optional_target(rest, usage)?;
            let (level, rest) = match rest.split_first() {
                Some((w, more)) if Level::parse(w).is_some() => (Level::parse(w), more),
                _ => (None, rest),
            };
            match rest {
                [] => Err(Rejection::MissingArgument { usage: usage.into() }),
                // Up to the database's cap: the grant's own cap is checked against its issue.
                [by] => {
                    let cap = Duration::from_secs(DATABASE_CAP_SECS);
                    Ok(Command::Extend { target, level, by: GrantDuration::parse(by, cap)? })
                }
                _ => Err(Rejection::UnexpectedArgument { usage: usage.into() }),
            }
        }
        "history" => history_args::history(rest, rules),
        "done" => {
            let usage = "/firefighter done [target]";
            let (target, rest) = rules.optional_target(rest, usage)?;
            no_more(rest, usage).map(|()| Command::Done { target })
        }
        "activity" => {
            let usage = "/firefighter activity [target] [@user]";
            let (target, rest) = rules.optional_target(rest, usage)?;
            let holder = optional_user(rest, usage)?;
            Ok(Command::Activity { target, holder })
        }
        _ => Err(Rejection::UnknownSubcommand {
            command: SlashCommand::Firefighter,
            given: echo_word(first),
            help: rules.help.clone(),
        }),
    }
}

fn request(level: Level, args: &[&str], rules: &CommandRules) -> Result<Command, Rejection> {
    let target_word = if rules.targets.is_empty() { "" } else { "[target] " };
    let example = rules.pattern.example();
    let usage = format!("/firefighter {level} {target_word}{example} [duration] [reason]");
    if args.is_empty() {
        return Err(Rejection::MissingArgument { usage });
    }
    let (target, args) = rules.target(args, &usage)?;
    let Some((incident, rest)) = args.split_first() else {
        return Err(Rejection::MissingArgument { usage });
    };
    let incident = IncidentId::parse(incident, &rules.pattern)?;
    let is_break_glass = |w: &&str| w.eq_ignore_ascii_case(BREAK_GLASS);
    // The word after the incident is always the duration (a malformed one is refused, never
    // taken for text), unless it is `break-glass`; the reason is everything after them.
    let glass_first = rest.first().is_some_and(is_break_glass);
    let (duration, rest) = match rest.split_first() {
        Some((w, more)) if !glass_first => (Some(*w), more),
        _ => (None, rest),
    };
    let (break_glass, rest) = match rest.split_first() {
        Some((w, more)) if is_break_glass(w) => (true, more),
        _ => (false, rest),
    };
    let cap = if break_glass { rules.break_glass_cap } else { rules.cap };
    let duration = match duration {
        Some(w) => GrantDuration::parse(w, cap)?,
        None if break_glass => {
            let default = rules.default_duration.as_std().min(cap);
            GrantDuration::from_secs(default.as_secs(), cap)
                .map_err(|_| Rejection::Misconfigured)?
        }
        None => rules.default_duration,
    };
    let reason = match rest {
        [] => None,
        words => Some(Reason::parse(&words.join(" ")).map_err(Rejection::InvalidReason)?),
    };
    if break_glass && reason.is_none() {
        let usage =
            format!("/firefighter {level} {target_word}{example} [duration] break-glass <reason>");
        return Err(Rejection::BreakGlassReasonRequired { usage });
    }
    if rules.requires_reason(level) && reason.is_none() {
        return Err(Rejection::ReasonRequired { level, usage });
    }
    Ok(Command::Request { level, target, incident, duration, reason, break_glass })
}

/// The word that makes a request break-glass.
pub const BREAK_GLASS: &str = "break-glass";

fn pgroles(words: &[&str], rules: &CommandRules) -> Result<Command, Rejection> {
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let usage = if rules.targets.is_empty() {
        "/pgroles verify [post]"
    } else {
        "/pgroles verify [target|all] [post]"
    };
    let fleet = !rules.targets.is_empty();
    match lower.as_slice() {
        [] | ["help"] => Ok(Command::PgrolesHelp),
        ["verify"] => Ok(Command::Verify { scope: rules.verify_default(), post: false }),
        ["verify", "post"] => Ok(Command::Verify { scope: rules.verify_default(), post: true }),
        ["verify", "all"] if fleet => Ok(Command::Verify { scope: VerifyScope::All, post: false }),
        ["verify", "all", "post"] if fleet => {
            Ok(Command::Verify { scope: VerifyScope::All, post: true })
        }
        ["verify", t] | ["verify", t, "post"] if fleet => {
            let post = lower.len() == 3;
            match rules.targets.iter().find(|x| x == t) {
                Some(t) => Ok(Command::Verify { scope: VerifyScope::One(t.clone()), post }),
                None => Err(rules.unknown_target(words.get(1).copied(), usage)),
            }
        }
        ["help", ..] => Err(Rejection::UnexpectedArgument { usage: "/pgroles help".into() }),
        ["verify", ..] => Err(Rejection::UnexpectedArgument { usage: usage.into() }),
        _ => Err(Rejection::UnknownSubcommand {
            command: SlashCommand::Pgroles,
            given: words.first().and_then(|w| echo_word(w)),
            help: text::pgroles_help(),
        }),
    }
}

/// At most one more word, a Slack user mention (`<@U012AB3CD>` or `<@U012AB3CD|name>`, as
/// Slack escapes a picked @name in a command with `should_escape`).
fn optional_user(rest: &[&str], usage: &str) -> Result<Option<SlackUserId>, Rejection> {
    match rest {
        [] => Ok(None),
        [word] => parse_mention(word)
            .map(Some)
            .ok_or_else(|| Rejection::InvalidMention { usage: usage.into() }),
        _ => Err(Rejection::UnexpectedArgument { usage: usage.into() }),
    }
}

fn parse_mention(word: &str) -> Option<SlackUserId> {
    let inner = word.strip_prefix("<@")?.strip_suffix('>')?;
    let id = inner.split_once('|').map_or(inner, |(id, _)| id);
    SlackUserId::parse(id).ok()
}

fn no_more(rest: &[&str], usage: &str) -> Result<(), Rejection> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Rejection::UnexpectedArgument { usage: usage.into() })
    }
}

/// The word as typed, if it is safe to show back (short, plain ASCII, no markup characters).
fn echo_word(word: &str) -> Option<String> {
    let safe = (1..=24).contains(&word.len())
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    safe.then(|| word.to_owned())
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
