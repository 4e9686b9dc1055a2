//! Issue 15: the per-person login functions (`sql/56_person_logins.sql`) against a hostile
//! broker over direct SQL. The broker cannot create a role outside the login pattern, with any
//! attribute or membership beyond the model's, or under its own session settings; it cannot
//! end, extend or rotate any role that is not a recorded, live per-person login.

use crate::support::model::{db_message, Model};
use crate::support::pg::{self, ident};
use crate::PLAINTEXT;
use chrono::{DateTime, Duration, Utc};
use pgroles::model::Level;
use tokio_postgres::Client;

/// `create_person_login` with the bot's argument types; the login and its VALID UNTIL.
pub async fn create(
    broker: &Client,
    level: &str,
    user: &str,
    grant: &str,
    verifier: &str,
    minutes: i32,
) -> Result<(String, DateTime<Utc>), String> {
    broker
        .query_one(
            "SELECT login::text, valid_until FROM db_admin.create_person_login($1, $2, $3, $4, \
             $5, 'INC-15', ARRAY['U2APPROVER'])",
            &[&level, &user, &grant, &verifier, &minutes],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .map_err(|e| db_message(&e))
}

/// `end_person_login`: `(outcome, sessions ended)`.
pub async fn end(broker: &Client, login: &str) -> Result<(String, i32), String> {
    broker
        .query_one(
            "SELECT outcome, sessions_ended FROM db_admin.end_person_login($1, 'U9')",
            &[&login],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .map_err(|e| db_message(&e))
}

/// A SCRAM verifier of [`PLAINTEXT`], as the bot computes it.
pub fn verifier() -> String {
    postgres_protocol::password::scram_sha_256(PLAINTEXT.as_bytes())
}

/// Every attribute, password prefix and VALID UNTIL of `role`, as text, read as superuser.
async fn role_row(su: &Client, role: &str) -> Option<String> {
    su.query_opt(
        "SELECT concat_ws(' ', rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, \
         rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil, rolpassword) \
         FROM pg_authid WHERE rolname = $1",
        &[&role],
    )
    .await
    .expect("read pg_authid")
    .map(|r| r.get(0))
}

/// Memberships touching `role`: `granted role > member admin=.. inherit=.. set=..` (16+
/// options; 15 prints `-`), sorted.
pub async fn memberships(su: &Client, role: &str, pg16: bool) -> Vec<String> {
    let opts = if pg16 {
        "' inherit=' || m.inherit_option || ' set=' || m.set_option"
    } else {
        "' inherit=-'"
    };
    su.query(
        &format!(
            "SELECT g.rolname || ' > ' || u.rolname || ' admin=' || m.admin_option || {opts} \
             FROM pg_auth_members m \
             JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
             WHERE g.rolname = $1 OR u.rolname = $1 ORDER BY 1"
        ),
        &[&role],
    )
    .await
    .expect("read pg_auth_members")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Settings of `role`: `database|setting`, sorted.
pub async fn settings(su: &Client, role: &str) -> Vec<String> {
    su.query(
        "SELECT coalesce(d.datname, '') || '|' || c FROM pg_db_role_setting s \
         LEFT JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) c \
         WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1",
        &[&role],
    )
    .await
    .expect("read pg_db_role_setting")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Under the most hostile session the broker can set up (a foreign DateStyle and time zone,
/// md5 password encryption, pg_temp first in search_path, and on 16+ `createrole_self_grant`
/// asking for SET), a login comes out with exactly the model's shape: LOGIN INHERIT and no
/// other attribute, its level's connection limit, the verifier as sent, VALID UNTIL now + the
/// minutes, one membership (16+: INHERIT TRUE, SET FALSE; never ADMIN), the level's settings.
#[tokio::test]
async fn i15_a_login_has_exactly_the_model_shape_whatever_the_broker_set() {
    for server in pg::versions() {
        let v = server.version;
        let pg16 = v >= 16;
        let m = Model::new(&server, "i15shape");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        broker
            .batch_execute(
                "SET DateStyle = 'SQL, MDY'; SET TimeZone = 'CST-167'; \
                 SET IntervalStyle = 'sql_standard'; SET password_encryption = 'md5'; \
                 SET search_path = pg_temp, public",
            )
            .await
            .expect("hostile session settings");
        if pg16 {
            broker.batch_execute("SET createrole_self_grant = 'set, inherit'").await.unwrap();
        }
        let ver = verifier();
        let before = Utc::now();
        let (login, until) = create(&broker, "rw", "U0ABC12", "0badcafe", &ver, 30)
            .await
            .unwrap_or_else(|e| panic!("PG{v}: create: {e}"));
        let after = Utc::now();
        assert_eq!(login, format!("{}ff_rw_u0abc12_0badcafe", m.names.role_prefix));
        assert!(
            until >= before + Duration::minutes(30) && until <= after + Duration::minutes(31),
            "PG{v}: VALID UNTIL {until} is 30 minutes ahead, not moved by the session"
        );
        let row = role_row(&su, &login).await.expect("the login exists");
        let (attrs, rest) = row.split_at(row.find(" 3 ").expect("connlimit 3 (rw)"));
        assert_eq!(attrs, "f t f f t f f", "PG{v}: only LOGIN INHERIT: {row}");
        assert!(rest.ends_with(&ver), "PG{v}: the verifier as sent: {row}");
        let rw = m.names.firefighter(Level::Rw);
        let admin = m.names.admin();
        let expected: Vec<String> = if pg16 {
            let mut e = vec![
                format!("{login} > {admin} admin=true inherit=false set=false"),
                format!("{login} > {admin} admin=false inherit=true set=false"),
                format!("{rw} > {login} admin=false inherit=true set=false"),
            ];
            e.sort();
            e
        } else {
            let mut e = vec![
                format!("{login} > {admin} admin=false inherit=-"),
                format!("{rw} > {login} admin=false inherit=-"),
            ];
            e.sort();
            e
        };
        // 16+: the creator's automatic grant carries ADMIN OPTION: admin's on the login, the
        // only ADMIN anywhere near it.
        let got = memberships(&su, &login, pg16).await;
        assert_eq!(got, expected, "PG{v}: one membership, admin's inheriting one");
        let db = &m.names.database;
        assert_eq!(
            settings(&su, &login).await,
            vec![
                format!("{db}|idle_in_transaction_session_timeout=2min"),
                format!("{db}|lock_timeout=5s"),
                format!("{db}|statement_timeout=5min"),
            ],
            "PG{v}: the level's model settings"
        );
        // The person logs in with the password and is attributed by name.
        let ff = pg::login(&server, db, &login, PLAINTEXT)
            .await
            .unwrap_or_else(|e| panic!("PG{v}: login: {}", db_message(&e)));
        let who: String = ff.query_one("SELECT session_user::text", &[]).await.unwrap().get(0);
        assert_eq!(who, login);
        let e = ff.batch_execute(&format!("SET ROLE {}", ident(&rw))).await;
        assert_eq!(e.is_err(), pg16, "PG{v}: 16+ SET FALSE: no SET ROLE to the shared role");
        m.drop().await;
    }
}

/// Everything outside the pattern is refused, and nothing is created: unknown levels, user or
/// grant ids that are not exactly their shape (quotes, spaces, lower case, too long), minutes
/// outside 1..120, a plaintext, an md5 hash, a costly or malformed verifier, oversized audit
/// fields, and a name already taken by a role that is not a per-person login.
#[tokio::test]
async fn i15_create_refuses_everything_outside_the_pattern() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i15pat");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        let ver = verifier();
        let costly = crate::verifier_with(999_999_999);
        let long_user = format!("U{}", "A".repeat(19));
        let cases: Vec<(&str, &str, &str, &str, i32, &str)> = vec![
            ("admin", "U0ABC12", "0badcafe", &ver, 30, "level must be ro or rw"),
            ("RO", "U0ABC12", "0badcafe", &ver, 30, "level must be ro or rw"),
            ("ro", "u0abc12", "0badcafe", &ver, 30, "slack user must be"),
            ("ro", "U0\"; DROP", "0badcafe", &ver, 30, "slack user must be"),
            ("ro", "X0ABC12", "0badcafe", &ver, 30, "slack user must be"),
            ("ro", "U", "0badcafe", &ver, 30, "slack user must be"),
            ("ro", "U0ABC12\n", "0badcafe", &ver, 30, "slack user must be"),
            ("ro", "U0ABC12", "0BADCAFE", &ver, 30, "grant id must be"),
            ("ro", "U0ABC12", "0badcafe0", &ver, 30, "grant id must be"),
            ("ro", "U0ABC12", "0bad'afe", &ver, 30, "grant id must be"),
            ("ro", "U0ABC12", "0badcafe", &ver, 0, "validity must be 1 to 120 minutes"),
            ("ro", "U0ABC12", "0badcafe", &ver, 121, "validity must be 1 to 120 minutes"),
            ("ro", "U0ABC12", "0badcafe", &ver, -5, "validity must be 1 to 120 minutes"),
            ("ro", "U0ABC12", "0badcafe", PLAINTEXT, 30, "never a plaintext"),
            (
                "ro",
                "U0ABC12",
                "0badcafe",
                "md5aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                30,
                "never a plaintext",
            ),
            ("ro", "U0ABC12", "0badcafe", &costly, 30, "must use 4096 iterations"),
            ("ro", "U0ABC12", "0badcafe", "SCRAM-SHA-256$4096:A$A:A", 30, "malformed"),
        ];
        for (level, user, grant, secret, minutes, want) in &cases {
            let e = create(&broker, level, user, grant, secret, *minutes).await.err();
            assert!(
                e.as_deref().is_some_and(|e| e.contains(want)),
                "PG{v}: ({level:?}, {user:?}, {grant:?}, {minutes}) refused with {want:?}: {e:?}"
            );
        }
        // A long user id with a long prefix would pass 63 bytes: refused, never truncated.
        if m.names.role_prefix.len() + "ff_ro_".len() + long_user.len() + 9 > 63 {
            let e = create(&broker, "ro", &long_user, "0badcafe", &ver, 30).await.err();
            assert!(e.is_some_and(|e| e.contains("exceed 63 bytes")), "PG{v}: long name");
        }
        // Oversized audit fields.
        let e = broker
            .query_one(
                "SELECT login FROM db_admin.create_person_login('ro', 'U0ABC12', '0badcafe', $1, \
                 30, $2, ARRAY['U2'])",
                &[&ver, &"I".repeat(201)],
            )
            .await
            .map_err(|e| db_message(&e))
            .err();
        assert!(e.is_some_and(|e| e.contains("audit fields too long")), "PG{v}: audit bound");
        // A role of the login's name that the functions did not create is never taken over.
        let squat = format!("{}ff_ro_u0abc12_0badcafe", m.names.role_prefix);
        su.batch_execute(&format!("CREATE ROLE {} NOLOGIN", ident(&squat))).await.unwrap();
        let before = role_row(&su, &squat).await;
        let e = create(&broker, "ro", "U0ABC12", "0badcafe", &ver, 30).await.err();
        assert!(e.is_some_and(|e| e.contains("is not a per-person login")), "PG{v}: squatter");
        assert_eq!(role_row(&su, &squat).await, before, "PG{v}: squatter unchanged");
        assert!(memberships(&su, &squat, v >= 16).await.is_empty(), "PG{v}: no membership");
        let n: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1)",
                &[&format!("{}ff_", m.names.role_prefix)],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "PG{v}: no login was created (the squatter only)");
        m.drop().await;
    }
}

/// End and renew act on recorded, live per-person logins only: never on the model's roles, the
/// bootstrap superuser, a role that merely matches the pattern, nor a recorded login's name
/// dropped and made again by someone else (another oid). Each refusal changes nothing.
#[tokio::test]
async fn i15_end_and_renew_refuse_every_role_that_is_not_a_recorded_login() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i15end");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = m.login_as(&m.names.broker()).await;
        let ver = verifier();
        let p = &m.names.role_prefix;
        let lookalike = format!("{p}ff_ro_u0look1_0badcafe");
        su.batch_execute(&format!(
            "CREATE ROLE {} LOGIN PASSWORD '{PLAINTEXT}'",
            ident(&lookalike)
        ))
        .await
        .unwrap();
        let (reborn, _) = create(&broker, "ro", "U0REBORN", "0badcafe", &ver, 30).await.unwrap();
        su.batch_execute(&format!(
            "DROP ROLE {r}; CREATE ROLE {r} LOGIN PASSWORD '{PLAINTEXT}'",
            r = ident(&reborn)
        ))
        .await
        .unwrap();
        let mut targets: Vec<String> = m.names.all_roles();
        targets.extend(["postgres".to_string(), lookalike, reborn.clone()]);
        for role in &targets {
            let before = (role_row(&su, role).await, memberships(&su, role, v >= 16).await);
            let e = broker
                .query_one("SELECT db_admin.renew_person_login($1, $2, 30, 'U9')", &[role, &ver])
                .await
                .map_err(|e| db_message(&e))
                .err();
            assert!(
                e.as_deref().is_some_and(|e| e.contains("is not a live per-person")),
                "PG{v}: renew {role} refused: {e:?}"
            );
            if *role != reborn {
                let e = end(&broker, role).await.err();
                assert!(
                    e.as_deref().is_some_and(|e| e.contains("is not a per-person")),
                    "PG{v}: end {role} refused: {e:?}"
                );
            }
            let after = (role_row(&su, role).await, memberships(&su, role, v >= 16).await);
            assert_eq!(after, before, "PG{v}: {role} unchanged");
        }
        // The reborn role's record ends as "gone" without touching the new role of that name.
        let before = role_row(&su, &reborn).await;
        assert_eq!(end(&broker, &reborn).await.map(|r| r.0).as_deref(), Ok("gone"));
        assert_eq!(role_row(&su, &reborn).await, before, "PG{v}: the new role is untouched");
        m.drop().await;
    }
}
