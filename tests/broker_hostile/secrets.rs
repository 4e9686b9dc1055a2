//! Findings 2, 3 and 4: only PostgreSQL's exact verifier shape (4096 iterations) is accepted
//! as a verifier, before anything hashes; a plaintext is always stored as SCRAM.

use crate::support::model::Model;
use crate::support::pg;
use crate::verifier_with;
use crate::{role_state, set_hours, set_until, PLAINTEXT};
use chrono::{Duration, Utc};
use pgroles::model::Level;
use std::time::Instant;

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
