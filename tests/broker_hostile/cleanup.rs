//! Finding 5 (cleanup half) and 9 (SQL half): the next holder gets the model's role settings
//! back; admin holds the owner WITH ADMIN OPTION.

use crate::support::model::{db_message, Model};
use crate::support::pg::{self, ident};
use crate::{set_hours, PLAINTEXT};
use pgroles::config::AuroraMode;
use pgroles::model::Level;
use tokio_postgres::Client;

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
