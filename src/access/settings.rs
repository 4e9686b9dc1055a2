//! The `[access]` configuration section: who may approve what, how long access lasts, who sees
//! the status in full. Pure data with serde's shape (`config` loads it and re-exports it); the
//! domain builds its rules from it (`CommandRules`, `ApprovalPolicy`, `IncidentPattern`).

use serde::Deserialize;

/// Who may approve what, and for how long access lasts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// Incident id pattern (a regular expression anchored at both ends).
    pub incident_pattern: String,
    /// Example shown to users when the id does not match.
    pub incident_example: String,
    /// Slack user ids allowed to approve.
    pub approvers: Vec<String>,
    /// Slack user group id whose members may approve (resolved via usergroups.users.list).
    pub approver_group: Option<String>,
    /// Slack user ids allowed to revoke any grant.
    pub admins: Vec<String>,
    pub approvals_ro: u32,
    pub approvals_rw: u32,
    /// Default and maximum grant duration, in seconds (the database cap is 2 h).
    pub default_duration_secs: u64,
    pub max_duration_secs: u64,
    /// How long a request waits for approvals.
    pub approval_window_secs: u64,
    /// Reminder before expiry.
    pub reminder_before_secs: u64,
    /// Who sees `/firefighter status` in full (holders, incidents, pending requests).
    pub status_visibility: StatusVisibility,
    /// PagerDuty schedule ids: a requester on call in one of them right now gets `ro` (resp.
    /// `rw`) without approvals. Empty (the default): never automatic.
    pub auto_approve_ro_schedules: Vec<String>,
    pub auto_approve_rw_schedules: Vec<String>,
    /// Whose name the database sees: a login of one's own per approved request (the default),
    /// or the level's shared firefighter role (the seed's design, one holder per level).
    pub identity: Identity,
    /// With per-person logins: how many people may hold one level at once (1 to 50; the
    /// database refuses a 51st live login of a level whatever this says).
    pub max_holders_per_level: u32,
    /// A reason (free text after the duration, at most 300 characters) is required for `ro`
    /// (resp. `rw`) requests; optional otherwise.
    pub require_reason_ro: bool,
    pub require_reason_rw: bool,
    /// Break-glass: `off` (the default), `after_timeout` (only after a normal request for the
    /// same incident timed out) or `immediate`.
    pub break_glass: BreakGlassMode,
    /// Slack user ids allowed to break glass; empty: anyone who may request.
    pub break_glass_users: Vec<String>,
    /// The longest a break-glass grant lasts, in seconds (at most `max_duration_secs`).
    pub break_glass_max_secs: u64,
    /// Within how long an approver must review a break-glass grant, in seconds.
    pub break_glass_review_secs: u64,
    /// How often the bot asks for that review until it is done, in seconds.
    pub break_glass_reminder_secs: u64,
}

/// Whose name the database sees during a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// Each approved request gets its own login (`<prefix>ff_<level>_<slack id>_<grant>`), a
    /// member of the level's firefighter role: several holders per level, each attributed
    /// (the default).
    #[default]
    PerPerson,
    /// The level's firefighter role itself gets the password: one holder per level (the
    /// seed's design, kept for teams that want it exactly).
    Shared,
}

impl Identity {
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::PerPerson => "per_person",
            Identity::Shared => "shared",
        }
    }
}

/// The most live per-person logins of one level the database accepts (sql/56_person_logins.sql).
pub const MAX_HOLDERS_PER_LEVEL: u32 = 50;

/// Who sees `/firefighter status` in full. Anyone else sees only their own grant and requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusVisibility {
    /// Everyone in the workspace.
    Everyone,
    /// Approvers and admins only (the default: who holds production access, and for which
    /// incident, is not for every workspace member).
    #[default]
    Approvers,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            incident_pattern: "INC-[0-9]{1,8}".into(),
            incident_example: "INC-1234".into(),
            approvers: Vec::new(),
            approver_group: None,
            admins: Vec::new(),
            approvals_ro: 1,
            approvals_rw: 2,
            default_duration_secs: 7200,
            max_duration_secs: 7200,
            approval_window_secs: 900,
            reminder_before_secs: 900,
            status_visibility: StatusVisibility::Approvers,
            auto_approve_ro_schedules: Vec::new(),
            auto_approve_rw_schedules: Vec::new(),
            identity: Identity::PerPerson,
            max_holders_per_level: 10,
            require_reason_ro: false,
            require_reason_rw: false,
            break_glass: BreakGlassMode::Off,
            break_glass_users: Vec::new(),
            break_glass_max_secs: 1800,
            break_glass_review_secs: 24 * 3600,
            break_glass_reminder_secs: 4 * 3600,
        }
    }
}

/// When break-glass may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakGlassMode {
    /// Never (the default): every grant needs its approvals.
    #[default]
    Off,
    /// Only after a normal request for the same incident (on the same target) timed out.
    AfterTimeout,
    /// Whenever the requester chooses to.
    Immediate,
}

impl BreakGlassMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakGlassMode::Off => "off",
            BreakGlassMode::AfterTimeout => "after_timeout",
            BreakGlassMode::Immediate => "immediate",
        }
    }
}
