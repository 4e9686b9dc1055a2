//! Findings 1 and 6: VALID UNTIL is what was asked for, whatever DateStyle and TimeZone the
//! caller set, to the second (not rounded up to an hour), never more than 2 hours ahead.

use crate::support::model::{db_message, Model};
use crate::support::pg;
use crate::{role_state, set_hours, set_until, within_a_minute_after, PLAINTEXT};
use crate::{DATE_ORDERS, DATE_STYLES, TIME_ZONES};
use chrono::{DateTime, Duration, Utc};
use pgroles::model::Level;
use tokio_postgres::Client;

/// Finding 1 as filed: `SQL, MDY` and `CST-167` in the broker's session, the design's call
/// with 2 hours. VALID UNTIL is 2 hours ahead (it was 7 days 7 hours), as the audit row says.
#[tokio::test]
async fn i11_1_the_filed_cap_bypass_is_closed() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i11cap");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        let rw = m.names.firefighter(Level::Rw);
        broker.batch_execute("SET DateStyle = 'SQL, MDY'; SET TimeZone = 'CST-167'").await.unwrap();
        let before = Utc::now();
        broker
            .query_one("SELECT db_admin.set_firefighter_password($1, repeat('Z', 40), 2)", &[&rw])
            .await
            .unwrap_or_else(|e| panic!("PG{v}: {}", db_message(&e)));
        let (until, _) = role_state(&su, &rw).await;
        let until = until.expect("VALID UNTIL set");
        assert!(
            until > before + Duration::minutes(119) && until <= Utc::now() + Duration::hours(2),
            "PG{v}: VALID UNTIL {until}, called at {before}"
        );
        let audit: DateTime<Utc> = m
            .superuser()
            .await
            .query_one(
                "SELECT expires_at FROM db_admin.firefighter_audit WHERE role = $1 \
                 ORDER BY id DESC LIMIT 1",
                &[&rw],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(audit, until, "PG{v}: the audit row says what the role got");
        m.drop().await;
    }
}

/// Finding 1 and the settings matrix: whatever DateStyle and TimeZone the broker sets, in its
/// session or role-wide on itself, VALID UNTIL is the planned end (and the design's call's
/// `p_hours` from now).
#[tokio::test]
async fn i11_1_caller_datestyle_and_timezone_cannot_move_valid_until() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i11tz");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker_role = m.names.broker();
        let password = m.set_password(&broker_role).await;
        let rw = m.names.firefighter(Level::Rw);
        let session = pg::login(&server, &m.names.database, &broker_role, &password)
            .await
            .expect("broker logs in");
        let mut checked = 0;
        for style in DATE_STYLES {
            for order in DATE_ORDERS {
                for tz in TIME_ZONES {
                    let combo = format!("DateStyle '{style}, {order}', TimeZone '{tz}'");
                    // In the session.
                    session
                        .batch_execute(&format!(
                            "SET DateStyle = '{style}, {order}'; SET TimeZone = '{tz}'"
                        ))
                        .await
                        .unwrap();
                    check_valid_until(&session, &su, &rw, &format!("PG{v} session {combo}")).await;
                    // Role-wide on the broker itself, seen by its next login.
                    session
                        .batch_execute(&format!(
                            "RESET DateStyle; RESET TimeZone; \
                             ALTER ROLE CURRENT_USER SET \"DateStyle\" = '{style}, {order}'; \
                             ALTER ROLE CURRENT_USER SET \"TimeZone\" = '{tz}'"
                        ))
                        .await
                        .unwrap();
                    let fresh = pg::login(&server, &m.names.database, &broker_role, &password)
                        .await
                        .expect("broker logs in again");
                    let shown: String = fresh.query_one("SHOW TimeZone", &[]).await.unwrap().get(0);
                    assert_eq!(shown, tz, "PG{v}: the role-wide setting applies to the login");
                    check_valid_until(&fresh, &su, &rw, &format!("PG{v} role-wide {combo}")).await;
                    checked += 2;
                }
            }
        }
        assert_eq!(checked, 120);
        session.batch_execute("ALTER ROLE CURRENT_USER RESET ALL").await.unwrap();
        drop(session);
        m.drop().await;
    }
}

/// One combination: the design's call (2 hours) and the bot's (a planned end 45 minutes ahead).
async fn check_valid_until(broker: &Client, su: &Client, role: &str, what: &str) {
    let before = Utc::now();
    set_hours(broker, role, PLAINTEXT, 2).await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let after = Utc::now();
    let (until, _) = role_state(su, role).await;
    let until = until.unwrap_or_else(|| panic!("{what}: no VALID UNTIL"));
    assert!(
        until >= before + Duration::hours(2) - Duration::seconds(1)
            && until <= after + Duration::hours(2) + Duration::seconds(1),
        "{what}: 2 hours asked, VALID UNTIL {until} (called at {before})"
    );
    let end = Utc::now() + Duration::minutes(45);
    let returned = set_until(broker, role, PLAINTEXT, end).await.unwrap_or_else(|e| {
        panic!("{what}: {e}");
    });
    let (until, _) = role_state(su, role).await;
    assert!(within_a_minute_after(until, end), "{what}: planned end {end}, VALID UNTIL {until:?}");
    assert_eq!(Some(returned), until, "{what}: the function returns what it set");
}

/// Finding 6: a 1-minute grant gets VALID UNTIL one minute ahead, not one hour, through the
/// earlier bot's call (hours plus planned end) and the new overload; limits are enforced.
#[tokio::test]
async fn i11_6_a_one_minute_grant_is_valid_for_one_minute() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i11min");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        let ro = m.names.firefighter(Level::Ro);
        let end = Utc::now() + Duration::minutes(1);
        broker
            .query_one(
                "SELECT db_admin.set_firefighter_password($1, $2, 1, 'INC', 'U1', ARRAY['U2'], $3)",
                &[&ro, &PLAINTEXT, &end],
            )
            .await
            .expect("the earlier bot's call");
        let (until, _) = role_state(&su, &ro).await;
        assert!(within_a_minute_after(until, end), "PG{v}: planned {end}, VALID UNTIL {until:?}");

        let end = Utc::now() + Duration::minutes(1);
        set_until(&broker, &ro, PLAINTEXT, end).await.expect("one minute");
        let (until, _) = role_state(&su, &ro).await;
        assert!(within_a_minute_after(until, end), "PG{v}: planned {end}, VALID UNTIL {until:?}");

        let limit = "temporary password validity must end within 2 hours from now";
        for end in [Utc::now() - Duration::seconds(1), Utc::now() + Duration::minutes(122)] {
            let e = set_until(&broker, &ro, PLAINTEXT, end).await;
            assert_eq!(e.err().as_deref(), Some(limit));
        }
        // A planned end a few seconds beyond the cap (clock skew) is capped at 2 hours.
        let end = Utc::now() + Duration::minutes(120) + Duration::seconds(30);
        let got = set_until(&broker, &ro, PLAINTEXT, end).await.expect("capped");
        assert!(got <= Utc::now() + Duration::hours(2), "PG{v}: {got}");
        m.drop().await;
    }
}
