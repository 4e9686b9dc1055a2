//! Large objects owned by the roles that must not keep data: the two firefighter roles and the
//! broker (R1). Any role may create large objects (no privilege is needed), so a firefighter,
//! even the read-only one, can store rows it read and grant them to PUBLIC; they outlive the
//! grant. One finding per owning role; the fix removes them (`lo_unlink`).
//!
//! Owns its query and the finding; the read is one small query on the verify session.

use super::findings::{ident, literal, Check, Finding, Severity};
use super::rows::q;
use super::VerifyError;
use crate::model::{Level, Names};
use tokio_postgres::types::Type;
use tokio_postgres::Client;

const LARGE_OBJECTS: &str = include_str!("../../sql/queries/verify_large_objects.sql");

/// `(role, count)` of the large objects each watched role owns in the connected database.
pub async fn read(client: &Client, names: &Names) -> Result<Vec<(String, i64)>, VerifyError> {
    let roles = vec![names.firefighter(Level::Ro), names.firefighter(Level::Rw), names.broker()];
    let rows = client
        .query_typed(LARGE_OBJECTS, &[(&roles, Type::TEXT_ARRAY)])
        .await
        .map_err(q("large objects of the firefighter roles and the broker"))?;
    rows.iter()
        .map(|r| Ok((r.try_get("role")?, r.try_get("n")?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(q("large objects of the firefighter roles and the broker"))
}

/// One finding per role that owns large objects.
pub fn large_objects(owned: &[(String, i64)]) -> Vec<Finding> {
    owned
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(role, n)| Finding {
            severity: Severity::High,
            check: Check::ObjectOwner,
            object: format!("large objects owned by role {}", ident(role)),
            role: Some(role.clone()),
            expected: "no large objects (the role keeps no data)".into(),
            actual: format!("{n} large objects"),
            fix: format!(
                "SELECT pg_catalog.lo_unlink(l.oid) FROM pg_catalog.pg_largeobject_metadata l \
                 WHERE l.lomowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = {});",
                literal(role)
            ),
            objects: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_finding_per_owning_role_with_a_quoted_fix() {
        let f = large_objects(&[("ff'ro".into(), 3), ("broker".into(), 0)]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].actual, "3 large objects");
        assert!(f[0].fix.contains("r.rolname = 'ff''ro'"), "{}", f[0].fix);
    }
}
