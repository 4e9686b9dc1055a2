//! `extend_firefighter_access` (sql/61_extend.sql, issue 17) called by a hostile broker over
//! SCRAM TCP on every PostgreSQL in `PGROLES_TEST_PG`: VALID UNTIL moves only later, never past
//! 2 hours after the password was set (the database's own audit row), only while the password
//! is live, only for a firefighter role, whatever DateStyle, TimeZone and IntervalStyle the
//! caller put on its session; each extension leaves an `extend` audit row.

mod support;

use chrono::{DateTime, Duration, Utc};
use pgroles::model::Level;
use support::model::{db_message, Model};

const PASSWORD: &str = "Abcdefghijklmnopqrstuvwxyz0123456789-_AB";
const EXTEND: &str = "SELECT db_admin.extend_firefighter_access($1, $2, 'INC-5', 'U0APPR001')";

async fn valid_until(c: &tokio_postgres::Client, role: &str) -> DateTime<Utc> {
    c.query_one("SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", &[&role])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_hostile_broker_cannot_extend_past_two_hours_after_issue() {
    for server in support::pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "extcap");
        m.apply().await;
        let broker = m.login_as(&m.names.broker()).await;
        broker
            .batch_execute(
                "SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Pacific/Kiritimati'; \
                 SET IntervalStyle = 'sql_standard'",
            )
            .await
            .unwrap();
        let ro = m.names.firefighter(Level::Ro);
        let su = m.superuser().await;

        let never_issued =
            broker.query_one(EXTEND, &[&ro, &(Utc::now() + Duration::minutes(5))]).await;
        let e = never_issued.expect_err("nothing issued");
        assert!(db_message(&e).contains("no live password to extend"), "PG{v}: {}", db_message(&e));

        let issued_at = Utc::now();
        broker
            .query_one(
                "SELECT db_admin.set_firefighter_password($1::name, $2::text, $3::timestamptz, 'INC-5', 'U0REQ1', ARRAY['U0APPR001'])",
                &[&ro, &PASSWORD, &(issued_at + Duration::minutes(10))],
            )
            .await
            .unwrap_or_else(|e| panic!("PG{v}: {}", db_message(&e)));
        let before = valid_until(&su, &ro).await;

        for too_far in [issued_at + Duration::minutes(125), issued_at + Duration::days(7)] {
            let e = broker.query_one(EXTEND, &[&ro, &too_far]).await.expect_err("past the cap");
            assert!(db_message(&e).contains("within 2 hours of the password's issue"), "PG{v}");
        }
        assert_eq!(valid_until(&su, &ro).await, before, "PG{v}: refusals change nothing");
        let earlier = before - Duration::minutes(1);
        let kept: DateTime<Utc> = broker.query_one(EXTEND, &[&ro, &earlier]).await.unwrap().get(0);
        assert_eq!((kept, valid_until(&su, &ro).await), (before, before), "PG{v}: never earlier");

        let wanted = issued_at + Duration::minutes(90);
        let got: DateTime<Utc> = broker.query_one(EXTEND, &[&ro, &wanted]).await.unwrap().get(0);
        assert!(got >= wanted && got - wanted < Duration::seconds(1), "PG{v}: {got} vs {wanted}");
        assert_eq!(
            valid_until(&su, &ro).await,
            got,
            "PG{v}: VALID UNTIL moved, whatever the session's settings"
        );
        let rows: i64 = su
            .query_one(
                "SELECT count(*) FROM db_admin.firefighter_audit WHERE event = 'extend' AND role = $1 \
                 AND expires_at = $2 AND requester = 'U0APPR001'",
                &[&ro, &got],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(rows, 1, "PG{v}: an extend audit row");
        support::pg::login(&server, &m.names.database, &ro, PASSWORD).await.expect("still logs in");

        for other in [m.names.app(), m.names.broker(), "postgres".to_owned()] {
            let e = broker.query_one(EXTEND, &[&other, &wanted]).await.unwrap_err();
            assert!(
                db_message(&e).contains("not a live per-person firefighter login"),
                "PG{v}: {other}: {}",
                db_message(&e)
            );
        }

        broker
            .execute(
                "SELECT db_admin.expire_firefighter_password($1, 'INC-5', 'U0APPR001')",
                &[&ro],
            )
            .await
            .unwrap();
        let e = broker
            .query_one(EXTEND, &[&ro, &(issued_at + Duration::minutes(100))])
            .await
            .unwrap_err();
        assert!(db_message(&e).contains("no live password to extend"), "PG{v}: after expiry");
        m.drop().await;
    }
}
