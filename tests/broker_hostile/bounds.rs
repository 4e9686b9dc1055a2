//! R1: the broker's audit parameters are bounded: a hostile broker login cannot write megabytes
//! per call into `db_admin.firefighter_audit`. Issue refuses oversized fields (nothing is
//! issued); expiry and termination still do their work and store the fields cut short.

use crate::support::model::{db_message, Model};
use crate::support::pg;
use crate::{role_state, PLAINTEXT};
use pgroles::model::Level;

/// An issue with oversized audit fields is refused with a clear message and changes nothing;
/// an expiry or termination with them still ends access and stores at most 200 characters.
#[tokio::test]
async fn r1_audit_parameters_are_bounded() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "r1big");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let db = m.superuser().await;
        let broker = m.login_as(&m.names.broker()).await;
        let ro = m.names.firefighter(Level::Ro);
        let big = "I".repeat(1_000_000);
        let many: Vec<String> = (0..100_000).map(|i| format!("U{i}")).collect();
        let issue = "SELECT db_admin.set_firefighter_password($1, $2, 1, $3, $4, $5)";
        for (incident, requester, approvers) in [
            (big.as_str(), "U1", vec!["U2".to_string()]),
            ("INC", big.as_str(), vec!["U2".to_string()]),
            ("INC", "U1", many.clone()),
            ("INC", "U1", vec![big.clone()]),
        ] {
            let e = broker
                .query_one(issue, &[&ro, &PLAINTEXT, &incident, &requester, &approvers])
                .await
                .map(drop)
                .map_err(|e| db_message(&e));
            assert_eq!(
                e.err().as_deref(),
                Some("audit fields too long: at most 200 characters each and 50 approvers"),
                "PG{v}: oversized issue refused"
            );
        }
        assert_eq!(role_state(&su, &ro).await.1, None, "PG{v}: nothing was issued");

        broker
            .query_one(issue, &[&ro, &PLAINTEXT, &"INC", &"U1", &vec!["U2".to_string()]])
            .await
            .unwrap_or_else(|e| panic!("PG{v}: a normal issue: {}", db_message(&e)));
        broker
            .query_one(
                "SELECT db_admin.expire_firefighter_password($1, $2, $3)",
                &[&ro, &big, &big],
            )
            .await
            .unwrap_or_else(|e| panic!("PG{v}: expiry with long fields: {}", db_message(&e)));
        broker
            .query_one(
                "SELECT db_admin.terminate_firefighter_sessions($1, $2, $3)",
                &[&ro, &big, &big],
            )
            .await
            .unwrap_or_else(|e| panic!("PG{v}: termination with long fields: {}", db_message(&e)));
        assert_eq!(role_state(&su, &ro).await.1, None, "PG{v}: the password is gone");
        let longest: i32 = db
            .query_one(
                "SELECT max(greatest(length(incident), length(requester)))::int4 \
                 FROM db_admin.firefighter_audit",
                &[],
            )
            .await
            .expect("read the audit table")
            .get(0);
        assert!(longest <= 200, "PG{v}: audit fields stored cut short, got {longest}");
        m.drop().await;
    }
}
