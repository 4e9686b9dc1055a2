//! The broker's SECURITY DEFINER functions (G8, G9) and the audit table, called over TCP as the
//! real `password_broker` login on PostgreSQL 15, 16 and 17.

mod support;

use pgroles::model::Level;
use support::model::{db_message, must_fail, Model};
use support::pg::{self, ident};

const RO_PASSWORD: &str = "Abcdefghijklmnopqrstuvwxyz0123456789-_AB";

#[tokio::test]
async fn broker_sets_ro_password_and_ro_can_select_but_not_update() {
    for server in pg::versions() {
        let m = Model::new(&server, "brk");
        m.apply().await;
        m.migrate_orders().await;
        let broker = m.login_as(&m.names.broker()).await;
        let ro = m.names.firefighter(Level::Ro);
        // Verifier form: the plaintext never reaches the server.
        let verifier = postgres_protocol::password::scram_sha_256(RO_PASSWORD.as_bytes());
        broker
            .query_one(
                "SELECT db_admin.set_firefighter_password($1, $2, 2, 'INC-1', 'U123', ARRAY['U456'])",
                &[&ro, &verifier],
            )
            .await
            .unwrap_or_else(|e| panic!("PG{}: {}", server.version, db_message(&e)));
        let ff = pg::login(&server, &m.names.database, &ro, RO_PASSWORD).await.expect("ro logs in");
        let s = ident(&m.names.schema);
        let n: i64 =
            ff.query_one(&format!("SELECT count(*) FROM {s}.orders"), &[]).await.unwrap().get(0);
        assert_eq!(n, 2);
        assert_eq!(
            must_fail(&ff, &format!("UPDATE {s}.orders SET status = 'x'")).await,
            "permission denied for table orders"
        );

        // Plaintext form (the design's 3-argument signature) also works.
        let other = "Zyxwvutsrqponmlkjihgfedcba9876543210-_ZZ";
        broker
            .query_one("SELECT db_admin.set_firefighter_password($1, $2, 1)", &[&ro, &other])
            .await
            .unwrap();
        assert!(
            pg::login(&server, &m.names.database, &ro, RO_PASSWORD).await.is_err(),
            "old password stops working"
        );
        pg::login(&server, &m.names.database, &ro, other).await.expect("new password works");
        m.drop().await;
    }
}

#[tokio::test]
async fn guards_reject_with_the_design_messages_and_quotes_cannot_inject() {
    for server in pg::versions() {
        let m = Model::new(&server, "guard");
        m.apply().await;
        let broker = m.login_as(&m.names.broker()).await;
        let ro = m.names.firefighter(Level::Ro);
        let call = |role: String, pw: String, hours: i32| {
            let broker = &broker;
            async move {
                broker
                    .query_one(
                        "SELECT db_admin.set_firefighter_password($1, $2, $3)",
                        &[&role, &pw, &hours],
                    )
                    .await
            }
        };
        let e = call(m.names.app(), RO_PASSWORD.into(), 2).await.unwrap_err();
        assert_eq!(
            db_message(&e),
            format!("role {} is not allowed for firefighter password rotation", m.names.app())
        );
        let e = call(ro.clone(), "short".into(), 2).await.unwrap_err();
        assert_eq!(db_message(&e), "temporary password must be at least 32 characters");
        let e = call(ro.clone(), RO_PASSWORD.into(), 3).await.unwrap_err();
        assert_eq!(db_message(&e), "temporary password validity must be between 1 and 2 hours");
        let e = call(ro.clone(), "SCRAM-SHA-256$1:bad".into(), 2).await.unwrap_err();
        assert_eq!(db_message(&e), "SCRAM-SHA-256 verifier must use 4096 iterations");
        let e = call(ro.clone(), "SCRAM-SHA-256$4096:bad".into(), 2).await.unwrap_err();
        assert_eq!(db_message(&e), "malformed SCRAM-SHA-256 verifier");
        let e = call(ro.clone(), format!("md5{}", "a".repeat(32)), 2).await.unwrap_err();
        assert_eq!(db_message(&e), "md5 password hashes are not accepted");

        let evil = "x' VALID UNTIL 'infinity'; -- \\ $$ %L $q$ \" end of evil".to_string();
        call(ro.clone(), evil.clone(), 1).await.expect("stored literally");
        pg::login(&server, &m.names.database, &ro, &evil)
            .await
            .expect("the literal password works");
        let su = pg::superuser(&server, "postgres").await;
        let until: Option<chrono::DateTime<chrono::Utc>> = su
            .query_one("SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", &[&ro])
            .await
            .unwrap()
            .get(0);
        let until = until.expect("VALID UNTIL set");
        assert!(until < chrono::Utc::now() + chrono::Duration::minutes(61), "cap held: {until}");
        m.drop().await;
    }
}

#[tokio::test]
async fn g9_expire_and_terminate_end_an_open_session_and_refuse_the_next_login() {
    for server in pg::versions() {
        let m = Model::new(&server, "g9");
        m.apply().await;
        let broker = m.login_as(&m.names.broker()).await;
        let rw = m.names.firefighter(Level::Rw);
        broker.query_one("SELECT db_admin.set_firefighter_password($1, $2, 1, 'INC-9', 'U1', ARRAY['U2','U3'])", &[&rw, &RO_PASSWORD]).await.unwrap();
        let session =
            pg::login(&server, &m.names.database, &rw, RO_PASSWORD).await.expect("rw logs in");
        let sessions = broker
            .query("SELECT pid, role FROM db_admin.firefighter_sessions()", &[])
            .await
            .unwrap();
        assert_eq!(
            sessions.len(),
            1,
            "PG{}: the open session is visible to the broker",
            server.version
        );

        broker
            .execute("SELECT db_admin.expire_firefighter_password($1, 'INC-9', 'bot')", &[&rw])
            .await
            .unwrap();
        let ended: i32 = broker
            .query_one("SELECT db_admin.terminate_firefighter_sessions($1, 'INC-9', 'bot')", &[&rw])
            .await
            .unwrap()
            .get(0);
        assert_eq!(ended, 1);
        assert!(session.simple_query("SELECT 1").await.is_err(), "the open session was terminated");
        let refused = pg::login(&server, &m.names.database, &rw, RO_PASSWORD).await.unwrap_err();
        assert!(
            db_message(&refused).contains("password authentication failed"),
            "{}",
            db_message(&refused)
        );

        let audit = broker
            .query("SELECT event, incident, approvers, sessions_ended FROM db_admin.firefighter_audit_recent(10) ORDER BY id", &[])
            .await
            .unwrap();
        let events: Vec<String> = audit.iter().map(|r| r.get::<_, String>(0)).collect();
        assert_eq!(events, ["issue", "expire", "terminate"]);
        assert_eq!(
            audit[0].get::<_, Option<Vec<String>>>(2),
            Some(vec!["U2".to_string(), "U3".to_string()])
        );
        assert_eq!(audit[2].get::<_, Option<i32>>(3), Some(1));
        m.drop().await;
    }
}

#[tokio::test]
async fn audit_table_is_tamper_resistant_and_broker_executes_only_its_functions() {
    for server in pg::versions() {
        let m = Model::new(&server, "audit");
        m.apply().await;
        let broker = m.login_as(&m.names.broker()).await;
        for sql in [
            "INSERT INTO db_admin.firefighter_audit (event, role) VALUES ('issue', 'x')",
            "UPDATE db_admin.firefighter_audit SET incident = 'x'",
            "DELETE FROM db_admin.firefighter_audit",
            "INSERT INTO db_admin.firefighter_roles VALUES ('postgres')",
        ] {
            assert!(
                must_fail(&broker, sql).await.starts_with("permission denied"),
                "PG{}: {sql}",
                server.version
            );
        }
        for role in [m.names.app(), m.names.firefighter(Level::Ro)] {
            let c = m.login_as(&role).await;
            assert!(must_fail(&c, "SELECT * FROM db_admin.firefighter_audit")
                .await
                .starts_with("permission denied"));
            assert!(must_fail(&c, "SELECT db_admin.firefighter_sessions()")
                .await
                .starts_with("permission denied"));
        }
        let su = m.superuser().await;
        let executable: Vec<String> = su
            .query(
                "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname IN ('db_admin', $2) AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1",
                &[&m.names.broker(), &m.names.schema],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            executable,
            [
                "db_admin.create_person_login(text,text,text,text,integer,text,text[])",
                "db_admin.end_instance_firefighter_sessions(name,timestamp with time zone)",
                "db_admin.end_person_login(name,text)",
                "db_admin.expire_firefighter_password(name)",
                "db_admin.expire_firefighter_password(name,text,text)",
                "db_admin.extend_firefighter_access(name,timestamp with time zone,text,text)",
                "db_admin.firefighter_audit_recent(integer)",
                "db_admin.firefighter_history(integer,text,text,integer)",
                "db_admin.firefighter_sessions()",
                "db_admin.instance_firefighter_sessions()",
                "db_admin.person_activity(name,integer)",
                "db_admin.person_logins(boolean)",
                "db_admin.record_instance_sessions_ended(name,text,text,jsonb)",
                "db_admin.renew_person_login(name,text,integer,text)",
                "db_admin.set_firefighter_password(name,text,integer)",
                "db_admin.set_firefighter_password(name,text,integer,text,text,text[])",
                "db_admin.set_firefighter_password(name,text,integer,text,text,text[],timestamp with time zone)",
                "db_admin.set_firefighter_password(name,text,timestamp with time zone,text,text,text[])",
                "db_admin.terminate_firefighter_sessions(name)",
                "db_admin.terminate_firefighter_sessions(name,text,text)",
            ]
        );
        m.drop().await;
    }
}

#[tokio::test]
async fn g8_a_failed_alter_role_does_not_echo_the_password() {
    for server in pg::versions() {
        let m = Model::new(&server, "g8");
        m.apply().await;
        // Make ALTER ROLE fail inside the function: allowlist a superuser the admin cannot alter.
        let su = m.superuser().await;
        su.batch_execute("INSERT INTO db_admin.firefighter_roles VALUES ('postgres')")
            .await
            .unwrap();
        let broker = m.login_as(&m.names.broker()).await;
        let secret = "SuperSecretPlaintext-0123456789-abcdefghij";
        let err = broker
            .query_one("SELECT db_admin.set_firefighter_password('postgres', $1, 1)", &[&secret])
            .await
            .unwrap_err();
        let db = err.as_db_error().expect("a server error");
        assert!(
            db.message().starts_with("could not set the password of role postgres"),
            "{}",
            db.message()
        );
        let everything =
            format!("{} {:?} {:?} {:?}", db.message(), db.detail(), db.hint(), db.where_());
        assert!(!everything.contains(secret), "PG{}: secret echoed: {everything}", server.version);
        m.drop().await;
    }
}
