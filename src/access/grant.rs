//! Active grants (one holder per level at a time) and the pure checks around them: may a new
//! request be opened, may this user revoke. No I/O; the caller loads the grant and passes `now`.

use super::ids::{IncidentId, RequestId, SlackUserId};
use super::policy::ApprovalPolicy;
use super::rejection::Rejection;
use super::request::Request;
use crate::access::level::Level;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Firefighter access currently held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub level: Level,
    pub holder: SlackUserId,
    pub incident: IncidentId,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub request_id: RequestId,
}

impl Grant {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// A new request for `level` is refused while someone holds it.
pub fn can_request(
    level: Level,
    existing: Option<&Grant>,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    match existing {
        Some(g) if g.level == level && g.is_active(now) => Err(Rejection::LevelHeld {
            level,
            holder: g.holder.clone(),
            incident: g.incident.clone(),
            until: g.expires_at,
        }),
        _ => Ok(()),
    }
}

/// A new request for `level` is refused while another one for it awaits approval.
pub fn no_pending_request(
    level: Level,
    pending: Option<&Request>,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    match pending {
        Some(r) if r.level() == level && r.is_pending() && now < r.approval_deadline() => {
            Err(Rejection::AlreadyPending {
                level,
                requester: r.requester().clone(),
                incident: r.incident().clone(),
            })
        }
        _ => Ok(()),
    }
}

/// The holder, any approver or an admin may end a grant early.
pub fn can_revoke(
    by: &SlackUserId,
    grant: &Grant,
    policy: &ApprovalPolicy,
    admins: &[SlackUserId],
) -> Result<(), Rejection> {
    if by == &grant.holder || policy.is_approver(by) || admins.contains(by) {
        Ok(())
    } else {
        Err(Rejection::NotAllowedToRevoke { level: grant.level, holder: grant.holder.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::settings::AccessConfig;
    use crate::access::{GrantDuration, IncidentPattern, NewRequest};
    use chrono::TimeZone;

    fn user(s: &str) -> SlackUserId {
        SlackUserId::parse(s).unwrap()
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, m, 0).unwrap()
    }

    fn incident(s: &str) -> IncidentId {
        IncidentId::parse(s, &IncidentPattern::new("INC-[0-9]+", "INC-1").unwrap()).unwrap()
    }

    fn grant(level: Level) -> Grant {
        Grant {
            level,
            holder: user("U1"),
            incident: incident("INC-7"),
            granted_at: at(10, 0),
            expires_at: at(12, 0),
            request_id: RequestId::parse("r1").unwrap(),
        }
    }

    fn policy() -> ApprovalPolicy {
        let cfg = AccessConfig { approvers: vec!["UAPP".into()], ..AccessConfig::default() };
        ApprovalPolicy::from_config(&cfg, &[]).unwrap()
    }

    #[test]
    fn request_is_refused_while_the_level_is_held() {
        let g = grant(Level::Rw);
        let err = can_request(Level::Rw, Some(&g), at(11, 0)).unwrap_err();
        assert_eq!(
            err.user_message(),
            "rw is held by <@U1> for INC-7 until 12:00 UTC; ask them or use /firefighter revoke rw."
        );
    }

    #[test]
    fn request_is_allowed_when_nobody_holds_the_level() {
        assert_eq!(can_request(Level::Rw, None, at(11, 0)), Ok(()));
    }

    #[test]
    fn request_is_allowed_once_the_grant_has_expired() {
        let g = grant(Level::Rw);
        assert_eq!(can_request(Level::Rw, Some(&g), at(12, 0)), Ok(()));
    }

    #[test]
    fn a_grant_of_the_other_level_does_not_block() {
        let g = grant(Level::Ro);
        assert_eq!(can_request(Level::Rw, Some(&g), at(11, 0)), Ok(()));
    }

    #[test]
    fn holder_approver_and_admin_may_revoke_others_may_not() {
        let g = grant(Level::Rw);
        let admins = [user("UADM")];
        assert_eq!(can_revoke(&user("U1"), &g, &policy(), &admins), Ok(()));
        assert_eq!(can_revoke(&user("UAPP"), &g, &policy(), &admins), Ok(()));
        assert_eq!(can_revoke(&user("UADM"), &g, &policy(), &admins), Ok(()));
        assert_eq!(
            can_revoke(&user("U2"), &g, &policy(), &admins),
            Err(Rejection::NotAllowedToRevoke { level: Level::Rw, holder: user("U1") })
        );
    }

    #[test]
    fn a_second_pending_request_for_the_same_level_is_refused_until_the_first_times_out() {
        let new = NewRequest {
            id: RequestId::parse("r2").unwrap(),
            level: Level::Ro,
            incident: incident("INC-9"),
            requester: user("U3"),
            duration: GrantDuration::from_secs(600, std::time::Duration::from_secs(7200)).unwrap(),
        };
        let pending = Request::open(new, &policy(), at(10, 0));
        assert!(matches!(
            no_pending_request(Level::Ro, Some(&pending), at(10, 5)),
            Err(Rejection::AlreadyPending { .. })
        ));
        assert_eq!(no_pending_request(Level::Rw, Some(&pending), at(10, 5)), Ok(()));
        assert_eq!(no_pending_request(Level::Ro, Some(&pending), at(10, 15)), Ok(()));
    }

    #[test]
    fn grant_round_trips_through_json() {
        let g = grant(Level::Ro);
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(serde_json::from_str::<Grant>(&json).unwrap(), g);
    }
}
