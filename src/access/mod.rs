//! The firefighter access domain: identifiers parsed at the edge, slash-command grammar, the
//! approval policy, the request state machine and active grants, and the fixed user-facing text.
//!
//! Everything here is pure. This module must not do I/O, read the clock, use tokio, or know
//! Slack's API types: callers pass the time in (`now`) and get back a decision
//! ([`Decision`], [`Rejection`]) that `workflow` persists with compare-and-swap and acts upon.
//!
//! Map:
//! - [`level`]: `Level` (`ro`, `rw`), shared with the role model and the broker.
//! - [`settings`]: the `[access]` configuration section (`AccessConfig`), re-exported by `config`.
//! - [`ids`]: `IncidentId`, `SlackUserId`, `ChannelId`, `MessageTs`, `RequestId`; `parse` (private)
//!   holds their validating constructors.
//! - [`duration`]: `GrantDuration` (`90m`, `2h`, `1h30m`, `3600`) bounded by a cap.
//! - [`command`]: `/firefighter` and `/pgroles` command grammar.
//! - [`policy`]: who approves, how many approvals each level needs, reaction emojis.
//! - [`request`]: the request state machine (`Pending` → `Approved` → `Issued` → ...).
//! - [`grant`]: active grants, and who may request or revoke while one is held.
//! - [`history`]: the firefighter history's rows, bounds and formats (text, JSON, guarded CSV).
//! - [`break_glass`]: break-glass mode, who may use it, its cap and its review.
//! - [`reason`]: a request's free-text reason (`Reason`), validated and escaped for Slack.
//! - [`rejection`]: every way a user's action is refused, as one `thiserror` enum, and the
//!   errors of the `[access]` section.
//! - [`activity`]: a per-person login's activity summary (`PersonActivity`), filled by the
//!   broker from `db_admin.person_activity`.
//! - [`text`]: the one place user-facing wording lives (help, rejections, time formatting).

pub mod activity;
pub mod break_glass;
pub mod command;
pub mod duration;
pub mod extension;
pub mod grant;
pub mod history;
pub mod ids;
pub mod level;
mod parse;
pub mod policy;
pub mod reason;
pub mod rejection;
pub mod request;
pub mod settings;
pub mod targets;
pub mod text;

pub use command::form::{FieldError, FormField, FormRequest, FormValues, MAX_DURATION_CHARS};
pub use command::{Command, CommandRules, VerifyScope, MAX_COMMAND_CHARS};
pub use duration::GrantDuration;
pub use grant::{can_request, can_revoke, no_pending_request, Grant};
pub use ids::{
    ChannelId, EventTs, IncidentId, IncidentPattern, IncidentProblem, MessageTs, RequestId,
    SlackUserId,
};
pub use level::Level;
pub use policy::{parse_user_ids, ApprovalPolicy, Reaction, ReactionEmojis};
pub use rejection::{AccessConfigError, DurationProblem, Rejection};
pub use request::{
    Approval, Decision, Ignored, MessageRef, NewRequest, Request, RequestState, Transition,
    Withdrawal,
};
pub use settings::{AccessConfig, StatusVisibility};

/// Checks the `[access]` section once at startup, so that a bad pattern, approver id or cap is
/// reported with the key's name instead of surfacing later as a refused command.
pub fn validate_config(cfg: &AccessConfig) -> Result<(), AccessConfigError> {
    CommandRules::from_config(cfg)?;
    ApprovalPolicy::from_config(cfg, &[])?;
    parse_user_ids("admins", &cfg.admins)?;
    break_glass::BreakGlassRules::from_config(cfg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_access_config_is_valid() {
        assert!(validate_config(&AccessConfig::default()).is_ok());
    }

    #[test]
    fn config_with_bad_admin_id_names_the_key() {
        let cfg = AccessConfig { admins: vec!["alice".into()], ..AccessConfig::default() };
        let err = validate_config(&cfg).unwrap_err().to_string();
        assert!(err.contains("access.admins"), "{err}");
        assert!(err.contains("alice"), "{err}");
    }

    #[test]
    fn config_with_invalid_incident_pattern_is_rejected() {
        let cfg = AccessConfig { incident_pattern: "INC-(".into(), ..AccessConfig::default() };
        let err = validate_config(&cfg).unwrap_err().to_string();
        assert!(err.contains("access.incident_pattern"), "{err}");
    }

    #[test]
    fn config_whose_example_does_not_match_the_pattern_is_rejected() {
        let cfg = AccessConfig { incident_example: "PD-12".into(), ..AccessConfig::default() };
        assert!(matches!(validate_config(&cfg), Err(AccessConfigError::ExampleMismatch { .. })));
    }

    #[test]
    fn config_with_default_duration_over_the_cap_is_rejected() {
        let cfg = AccessConfig {
            default_duration_secs: 9000,
            max_duration_secs: 7200,
            ..AccessConfig::default()
        };
        assert!(matches!(validate_config(&cfg), Err(AccessConfigError::Duration { .. })));
    }

    #[test]
    fn config_with_zero_approvals_is_rejected() {
        let cfg = AccessConfig { approvals_ro: 0, ..AccessConfig::default() };
        assert!(matches!(
            validate_config(&cfg),
            Err(AccessConfigError::ZeroThreshold { level: crate::access::Level::Ro })
        ));
    }
}
