//! Issue 15 acceptance: three responders hold one level at once, each with their own login over
//! SCRAM TCP, each attributed in `pg_stat_activity.usename` and the audit table; ending one
//! leaves the others working. A login that owns an object is disabled instead of dropped. The
//! broker cannot write the record of the logins.

use super::person::{create, end, memberships, verifier};
use crate::support::model::{db_message, Model};
use crate::support::pg::{self, ident};
use crate::PLAINTEXT;
use pgroles::config::AuroraMode;
use tokio_postgres::Client;

async fn usename(su: &Client, pid: i32) -> Option<String> {
    su.query_opt("SELECT usename::text FROM pg_stat_activity WHERE pid = $1", &[&pid])
        .await
        .expect("read pg_stat_activity")
        .and_then(|r| r.get(0))
}

/// On every version, with the model applied by a vanilla superuser and by an emulated Aurora
/// master (NOSUPERUSER CREATEROLE, member of rds_superuser).
#[tokio::test]
async fn i15_three_responders_at_once_are_each_attributed_and_one_ending_leaves_the_others() {
    for (server, aurora) in pg::versions().into_iter().flat_map(|s| [(s.clone(), false), (s, true)])
    {
        let v = server.version;
        let m = Model::new(&server, "i15three");
        if aurora {
            let master = pg::aurora_fixture(&server, &m.prefix).await;
            m.apply_as(&master.url, AuroraMode::Auto, &[]).await.expect("apply as the master");
        } else {
            m.apply().await;
        }
        m.migrate_orders().await;
        let su = pg::superuser(&server, "postgres").await;
        let db = m.superuser().await;
        let broker = m.login_as(&m.names.broker()).await;
        let table = format!("{}.orders", ident(&m.names.schema));
        let mut people = Vec::new();
        for (user, grant) in
            [("U0ANNA1", "000000a1"), ("U0BEN22", "000000b2"), ("W0CARL3", "000000c3")]
        {
            let (login, _) = create(&broker, "ro", user, grant, &verifier(), 60)
                .await
                .unwrap_or_else(|e| panic!("PG{v}: create for {user}: {e}"));
            let client = pg::login(&server, &m.names.database, &login, PLAINTEXT)
                .await
                .unwrap_or_else(|e| panic!("PG{v}: {login} logs in: {}", db_message(&e)));
            let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
            people.push((login, client, pid));
        }
        for (login, client, pid) in &people {
            assert_eq!(usename(&su, *pid).await.as_deref(), Some(login.as_str()), "PG{v}");
            client
                .query(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .unwrap_or_else(|e| panic!("PG{v}: {login} reads as ro: {}", db_message(&e)));
            let e = client.batch_execute(&format!("UPDATE {table} SET status = 'x'")).await;
            assert!(e.is_err(), "PG{v}: {login} cannot write as ro");
        }
        let (first, _, first_pid) = &people[0];
        let (outcome, ended) = end(&broker, first).await.expect("end the first login");
        assert_eq!((outcome.as_str(), ended), ("dropped", 1), "PG{v}");
        assert_eq!(usename(&su, *first_pid).await, None, "PG{v}: the session is gone");
        assert!(people[0].1.query("SELECT 1", &[]).await.is_err(), "PG{v}: and its client");
        let gone = pg::login(&server, &m.names.database, first, PLAINTEXT).await;
        assert!(gone.is_err(), "PG{v}: the login no longer exists");
        for (login, client, pid) in &people[1..] {
            client
                .query(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .unwrap_or_else(|e| panic!("PG{v}: {login} still works: {}", db_message(&e)));
            assert_eq!(usename(&su, *pid).await.as_deref(), Some(login.as_str()));
        }
        let audit: Vec<(String, String)> = db
            .query("SELECT event, role::text FROM db_admin.firefighter_audit ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for (login, _, _) in &people {
            assert!(audit.contains(&("issue".into(), login.clone())), "PG{v}: {audit:?}");
        }
        assert!(audit.contains(&("terminate".into(), first.clone())), "PG{v}: {audit:?}");
        let live: Vec<String> = broker
            .query("SELECT login::text FROM db_admin.person_logins(false)", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(live, vec![people[1].0.clone(), people[2].0.clone()], "PG{v}");
        // The broker reads the record only through person_logins(); it cannot write it.
        for sql in [
            "UPDATE db_admin.person_logins SET ended_at = now()",
            "DELETE FROM db_admin.person_logins",
            "INSERT INTO db_admin.person_login_levels VALUES ('rw', 'postgres', 'x')",
            "SELECT db_admin.reset_person_login_settings('x')",
            "SELECT db_admin.live_person_login('x')",
        ] {
            let e = broker.batch_execute(sql).await.map_err(|e| db_message(&e)).err();
            assert!(
                e.as_deref().is_some_and(|e| e.contains("permission denied")),
                "PG{v}: {sql}: {e:?}"
            );
        }
        m.drop().await;
    }
}

/// A login that owns an object cannot be dropped: it is left NOLOGIN, without password,
/// expired and without its firefighter membership, and the outcome says so.
#[tokio::test]
async fn i15_a_login_that_cannot_be_dropped_is_disabled_and_reported() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i15own");
        m.apply().await;
        let su = pg::superuser(&server, "postgres").await;
        let db = m.superuser().await;
        let broker = m.login_as(&m.names.broker()).await;
        let (login, _) =
            create(&broker, "rw", "U0OWNER", "0000abcd", &verifier(), 10).await.unwrap();
        let ff = pg::login(&server, &m.names.database, &login, PLAINTEXT).await.unwrap();
        db.batch_execute(&format!(
            "CREATE TABLE {s}.kept (id int); ALTER TABLE {s}.kept OWNER TO {l}",
            s = ident(&m.names.schema),
            l = ident(&login)
        ))
        .await
        .unwrap();
        let (outcome, ended) = end(&broker, &login).await.expect("end");
        assert_eq!((outcome.as_str(), ended), ("disabled", 1), "PG{v}");
        assert!(ff.query("SELECT 1", &[]).await.is_err(), "PG{v}: session ended");
        let row = su
            .query_one(
                "SELECT rolcanlogin, rolpassword IS NULL, rolvaliduntil < now() \
                 FROM pg_authid WHERE rolname = $1",
                &[&login],
            )
            .await
            .unwrap();
        assert_eq!((row.get(0), row.get(1), row.get(2)), (false, true, true), "PG{v}");
        let rw = m.names.firefighter(pgroles::model::Level::Rw);
        let member = memberships(&su, &login, v >= 16).await;
        assert!(!member.iter().any(|s| s.starts_with(&format!("{rw} >"))), "PG{v}: {member:?}");
        let detail: Option<String> = db
            .query_one("SELECT end_detail FROM db_admin.person_logins WHERE login = $1", &[&login])
            .await
            .unwrap()
            .get(0);
        assert!(detail.is_some_and(|d| d.contains("depend")), "PG{v}: reason recorded");
        assert!(pg::login(&server, &m.names.database, &login, PLAINTEXT).await.is_err());
        m.drop().await;
    }
}
