//! Issue 11 (part A): the broker's functions against a hostile caller. Every test logs in over
//! real SCRAM TCP as the broker (or a firefighter) on each cluster in `PGROLES_TEST_PG` and
//! checks what the catalog holds: `rolvaliduntil`, the `rolpassword` prefix, `pg_db_role_setting`
//! and `pg_auth_members`. Findings are numbered as in the issue (sql/README.md maps them).

mod support;

use chrono::{DateTime, Duration, Utc};
use pgroles::config::AuroraMode;
use pgroles::model::Level;
use std::time::Instant;
use support::model::{db_message, Model};
use support::pg::{self, ident};
use tokio_postgres::Client;

/// A 40-character plaintext, as the issue used.
const PLAINTEXT: &str = "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ";

const DATE_STYLES: [&str; 4] = ["ISO", "SQL", "German", "Postgres"];
const DATE_ORDERS: [&str; 3] = ["MDY", "DMY", "YMD"];
const TIME_ZONES: [&str; 5] =
    ["UTC", "CST-167", "Asia/Shanghai", "America/St_Johns", "Pacific/Kiritimati"];

/// The role's `rolvaliduntil` (`None`: NULL or infinity) and `rolpassword`, read as superuser.
async fn role_state(su: &Client, role: &str) -> (Option<DateTime<Utc>>, Option<String>) {
    let row = su
        .query_one(
            "SELECT CASE WHEN rolvaliduntil = 'infinity' THEN NULL ELSE rolvaliduntil END, \
             rolpassword FROM pg_authid WHERE rolname = $1",
            &[&role],
        )
        .await
        .expect("read pg_authid");
    (row.get(0), row.get(1))
}

/// A verifier in PostgreSQL's own shape with `iterations`, for `password`.
fn verifier_with(iterations: u32) -> String {
    let v = postgres_protocol::password::scram_sha_256(PLAINTEXT.as_bytes());
    v.replacen("SCRAM-SHA-256$4096:", &format!("SCRAM-SHA-256${iterations}:"), 1)
}

/// Calls the design's 3-argument function; returns the server's message on failure.
async fn set_hours(broker: &Client, role: &str, secret: &str, hours: i32) -> Result<(), String> {
    broker
        .query_one(
            "SELECT db_admin.set_firefighter_password($1, $2, $3)",
            &[&role, &secret, &hours],
        )
        .await
        .map(drop)
        .map_err(|e| db_message(&e))
}

/// Calls the bot's minute-precision overload with a planned end.
async fn set_until(
    broker: &Client,
    role: &str,
    secret: &str,
    end: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    broker
        .query_one(
            "SELECT db_admin.set_firefighter_password($1, $2, $3::timestamptz, 'INC-11', 'U1', \
             ARRAY['U2'])",
            &[&role, &secret, &end],
        )
        .await
        .map(|r| r.get(0))
        .map_err(|e| db_message(&e))
}

/// `until` lies in `[end, end + 1 min]`.
fn within_a_minute_after(until: Option<DateTime<Utc>>, end: DateTime<Utc>) -> bool {
    until.is_some_and(|u| u >= end && u <= end + Duration::minutes(1))
}

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

/// Finding 2: a verifier with a costly iteration count is refused before the server hashes
/// anything (ALTER ROLE hashes the role name with the verifier's iteration count).
#[tokio::test]
async fn i11_2_a_costly_verifier_is_refused_before_any_hashing() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i11cpu");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        let ro = m.names.firefighter(Level::Ro);
        for iterations in [100_000, 999_999_999, 4095, 4097] {
            let started = Instant::now();
            let e = set_hours(&broker, &ro, &verifier_with(iterations), 1).await;
            println!("PG{v}: {iterations} iterations refused in {:?}", started.elapsed());
            assert_eq!(
                e.err().as_deref(),
                Some("SCRAM-SHA-256 verifier must use 4096 iterations"),
                "PG{v}: {iterations} iterations"
            );
            let e = set_until(&broker, &ro, &verifier_with(iterations), Utc::now()).await;
            assert!(e.is_err(), "PG{v}: the minute overload refuses it too");
        }
        let huge = format!("SCRAM-SHA-256${}:x", "9".repeat(5000));
        assert_eq!(
            set_hours(&broker, &ro, &huge, 1).await.err().as_deref(),
            Some("malformed SCRAM-SHA-256 verifier")
        );
        assert_eq!(role_state(&su, &ro).await.1, None, "PG{v}: nothing was stored");
        m.drop().await;
    }
}

/// Finding 3: only PostgreSQL's exact verifier shape passes as a verifier; a look-alike is not
/// stored as a short plaintext. A real verifier is stored as it is.
#[tokio::test]
async fn i11_3_a_verifier_lookalike_is_refused_not_stored_as_plaintext() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i11shape");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        let ro = m.names.firefighter(Level::Ro);
        let good = verifier_with(4096);
        let rest = good.strip_prefix("SCRAM-SHA-256$4096:").expect("the client's shape");
        let (salt, keys) = rest.split_once('$').unwrap();
        let (stored, server_key) = keys.split_once(':').unwrap();
        let shaped = |salt: &str, stored: &str, server_key: &str| {
            format!("SCRAM-SHA-256$4096:{salt}${stored}:{server_key}")
        };
        let bad = [
            "SCRAM-SHA-256$4096:A$A:A".to_string(),
            shaped("AAAAAAAAAAAAAAAAAAAA", stored, server_key), // 15-byte salt
            shaped(&format!("{salt}AAAA"), stored, server_key), // 19-byte salt
            shaped("AAAAAAAAAAAAAAAAAAAAAB==", stored, server_key), // non-canonical base64
            shaped(salt, &stored[4..], server_key),             // 29-byte StoredKey
            shaped(salt, stored, &format!("{}B=", &server_key[..42])), // non-canonical
            shaped(salt, stored, &format!("{server_key}AAAA")), // 35-byte ServerKey
            format!("{good}\n"),
            good.replacen('$', "$$", 1),
        ];
        for b in &bad {
            let e = set_hours(&broker, &ro, b, 1).await;
            assert_eq!(
                e.err().as_deref(),
                Some("malformed SCRAM-SHA-256 verifier"),
                "PG{v}: {b:?}"
            );
        }
        assert_eq!(role_state(&su, &ro).await.1, None, "PG{v}: nothing was stored");
        set_hours(&broker, &ro, &good, 1).await.expect("a real verifier is accepted");
        assert_eq!(role_state(&su, &ro).await.1.as_deref(), Some(good.as_str()), "PG{v}");
        pg::login(&server, &m.names.database, &ro, PLAINTEXT).await.expect("the verifier logs in");
        m.drop().await;
    }
}

/// Finding 4: a plaintext is stored as SCRAM with 4096 iterations whatever the caller set
/// (`password_encryption`, and on 16+ `scram_iterations`), in the session or role-wide.
#[tokio::test]
async fn i11_4_plaintext_is_stored_as_scram_whatever_the_caller_set() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i11md5");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker_role = m.names.broker();
        let password = m.set_password(&broker_role).await;
        let broker = pg::login(&server, &m.names.database, &broker_role, &password).await.unwrap();
        let rw = m.names.firefighter(Level::Rw);
        let mut sets = vec!["SET password_encryption = 'md5'".to_string()];
        if v >= 16 {
            sets.push("SET scram_iterations = 100000".into());
        }
        broker.batch_execute(&sets.join(";")).await.unwrap();
        set_hours(&broker, &rw, PLAINTEXT, 1).await.expect("plaintext accepted");
        let stored = role_state(&su, &rw).await.1.unwrap_or_default();
        assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "PG{v}: stored {:.20}", stored);
        // The pinned value does not leak into the caller's session either.
        let shown: String = broker.query_one("SHOW password_encryption", &[]).await.unwrap().get(0);
        assert_eq!(shown, "md5");

        broker
            .batch_execute(
                "ALTER ROLE CURRENT_USER SET password_encryption = 'md5'; RESET password_encryption",
            )
            .await
            .unwrap();
        let fresh = pg::login(&server, &m.names.database, &broker_role, &password).await.unwrap();
        let other = "YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY";
        set_until(&fresh, &rw, other, Utc::now() + Duration::minutes(5)).await.expect("set");
        let stored = role_state(&su, &rw).await.1.unwrap_or_default();
        assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "PG{v}: stored {:.20}", stored);
        pg::login(&server, &m.names.database, &rw, other).await.expect("logs in");
        m.drop().await;
    }
}

/// The firefighter role's settings: `(database or "" for role-wide, sorted settings)`.
async fn role_settings(su: &Client, role: &str) -> Vec<(String, Vec<String>)> {
    su.query(
        "SELECT coalesce(d.datname, ''), ARRAY(SELECT c FROM unnest(s.setconfig) c ORDER BY c) \
         FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase \
         WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1",
        &[&role],
    )
    .await
    .expect("read pg_db_role_setting")
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// Finding 5 (cleanup half): a holder's `ALTER ROLE CURRENT_USER SET ...` does not reach the
/// next holder: expiry, termination and the next issue put back exactly the model's settings.
#[tokio::test]
async fn i11_5_expire_and_terminate_put_back_the_model_settings() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i11set");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        for level in [Level::Ro, Level::Rw] {
            let role = m.names.firefighter(level);
            let model = role_settings(&su, &role).await;
            assert_eq!(model.len(), 1, "PG{v}: the model sets {role} in one database");
            assert!(model[0].1.contains(&"statement_timeout=5min".to_string()), "{model:?}");

            // The holder loosens its own role, role-wide and in both databases.
            for end_with in ["expire", "terminate", "issue"] {
                set_hours(&broker, &role, PLAINTEXT, 1).await.unwrap();
                let ff = pg::login(&server, &m.names.database, &role, PLAINTEXT).await.unwrap();
                ff.batch_execute(&format!(
                    "ALTER ROLE CURRENT_USER SET statement_timeout = 0;
                     ALTER ROLE CURRENT_USER SET search_path = pg_temp, public;
                     ALTER ROLE CURRENT_USER IN DATABASE {db} SET statement_timeout = 0;
                     ALTER ROLE CURRENT_USER IN DATABASE {db} SET lock_timeout = 0;
                     ALTER ROLE CURRENT_USER IN DATABASE {db} RESET idle_in_transaction_session_timeout",
                    db = ident(&m.names.database)
                ))
                .await
                .unwrap_or_else(|e| panic!("PG{v}: the holder alters itself: {}", db_message(&e)));
                // A per-database setting elsewhere (a superuser's leftover, or a holder's).
                su.batch_execute(&format!(
                    "ALTER ROLE {} IN DATABASE postgres SET work_mem = '1GB'",
                    ident(&role)
                ))
                .await
                .unwrap();
                assert_ne!(role_settings(&su, &role).await, model, "PG{v}: tampered");
                let call = match end_with {
                    "expire" => "SELECT db_admin.expire_firefighter_password($1, 'INC', 'timer')",
                    "terminate" => {
                        "SELECT db_admin.terminate_firefighter_sessions($1, 'INC', 'timer')"
                    }
                    _ => "SELECT db_admin.set_firefighter_password($1, repeat('Q', 40), 1)",
                };
                broker.query_one(call, &[&role]).await.unwrap_or_else(|e| {
                    panic!("PG{v} {end_with}: {}", db_message(&e));
                });
                assert_eq!(
                    role_settings(&su, &role).await,
                    model,
                    "PG{v} {role}: after {end_with}, exactly the model's settings"
                );
                drop(ff);
            }
            // The next holder's session runs with the guardrails.
            set_hours(&broker, &role, PLAINTEXT, 1).await.unwrap();
            let next = pg::login(&server, &m.names.database, &role, PLAINTEXT).await.unwrap();
            let t: String = next.query_one("SHOW statement_timeout", &[]).await.unwrap().get(0);
            assert_eq!(t, "5min", "PG{v}: the next holder has the model's statement_timeout");
        }
        m.drop().await;
    }
}

/// The table the reset reads holds exactly what 60_guardrails.sql applies.
#[tokio::test]
async fn i11_5_the_reset_table_matches_the_guardrails() {
    for server in pg::versions() {
        let m = Model::new(&server, "i11gr");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let db = m.superuser().await;
        for level in [Level::Ro, Level::Rw] {
            let role = m.names.firefighter(level);
            let table: Vec<String> = db
                .query_one(
                    "SELECT ARRAY(SELECT setting || '=' || value FROM db_admin.firefighter_settings \
                     WHERE role = $1 ORDER BY 1)",
                    &[&role],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(
                role_settings(&su, &role).await,
                vec![(m.names.database.clone(), table)],
                "PG{}",
                server.version
            );
        }
        m.drop().await;
    }
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

/// Finding 9 (SQL half): admin holds the owner WITH ADMIN OPTION, applied as the superuser and
/// as an emulated Aurora master.
#[tokio::test]
async fn i11_9_admin_holds_the_owner_with_admin_option() {
    for server in pg::versions() {
        for aurora in [false, true] {
            let m = Model::new(&server, "i11adm");
            let master =
                if aurora { Some(pg::aurora_fixture(&server, &m.prefix).await) } else { None };
            let apply = || async {
                match &master {
                    Some(master) => {
                        m.apply_as(&master.url, AuroraMode::Auto, &[]).await.expect("as master")
                    }
                    None => m.apply().await,
                }
            };
            let report = apply().await;
            assert!(report.refused.is_empty(), "PG{}: {:?}", server.version, report.refused);
            let su = pg::superuser(&server, "postgres").await;
            let admin_option: bool = su
                .query_one(
                    "SELECT coalesce(bool_or(m.admin_option), false) FROM pg_auth_members m \
                     WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1) \
                       AND m.member = (SELECT oid FROM pg_roles WHERE rolname = $2)",
                    &[&m.names.owner(), &m.names.admin()],
                )
                .await
                .unwrap()
                .get(0);
            assert!(admin_option, "PG{} aurora={aurora}: admin lacks ADMIN OPTION", server.version);
            // A second apply changes nothing and refuses nothing.
            let again = apply().await;
            assert!(again.refused.is_empty(), "PG{}: {:?}", server.version, again.refused);
            m.drop().await;
        }
    }
}
