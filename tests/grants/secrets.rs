//! The plaintext password reaches the holder only: not Redis (every key of the prefix, whole
//! values), not the logs (a debug-level subscriber writing to a buffer). And the worker's
//! `LogNotifier` refuses to deliver without a private delivery file.

use crate::fixture::{eventually, spawn_worker, Fixture};
use crate::support::pg;
use pgroles::access::{IncidentId, SlackUserId};
use pgroles::grants::{GrantRecord, LogNotifier, Notifier};
use pgroles::model::Level;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn the_password_appears_neither_in_redis_nor_in_the_logs() {
    let logs = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    // The test runs on one thread (current-thread runtime): every task logs here.
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = pg::versions().remove(0);
    let fx = Fixture::new(&server, "grantleak").await;
    let rec = fx
        .service
        .issue(fx.request(Level::Ro, "U0HOLDER", Duration::from_secs(1)))
        .await
        .expect("issue");
    fx.service.resend(Level::Ro, &SlackUserId::parse("U0HOLDER").unwrap()).await.expect("resend");
    let redis_while_active = fx.redis_dump();
    let worker = spawn_worker(fx.service.clone());
    let expired =
        eventually(Duration::from_secs(10), || async { fx.recorder.count("expired") == 1 }).await;
    worker.stop().await;
    assert!(expired);
    fx.recorder.fail.store(true, Ordering::SeqCst);
    let failed = fx.service.issue(fx.request(Level::Rw, "U0HOLDER", Duration::from_secs(60))).await;
    assert!(failed.is_err());

    let passwords = fx.recorder.passwords.lock().unwrap().clone();
    assert_eq!(passwords.len(), 3);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let redis = format!("{redis_while_active}\n{}", fx.redis_dump());
    // The capture works: the grant's id and the Redis keys are there.
    assert!(logs.contains(&rec.id), "the log capture saw nothing");
    assert!(redis_while_active.contains(&format!("{}grant:ro", fx.prefix)), "{redis_while_active}");
    assert!(redis_while_active.contains(&rec.id), "{redis_while_active}");
    for p in &passwords {
        assert!(!logs.contains(p.as_str()), "a password is in the logs");
        assert!(!redis.contains(p.as_str()), "a password is in Redis");
    }
    assert!(!logs.contains("SCRAM-SHA-256$") && !redis.contains("SCRAM-SHA-256$"));
    fx.cleanup().await;
}

fn record() -> GrantRecord {
    let now = chrono::Utc::now();
    GrantRecord {
        id: "g1".into(),
        level: Level::Ro,
        role: "x_firefighter_ro".into(),
        holder: SlackUserId::parse("U0OPS").unwrap(),
        incident: IncidentId::try_from("INC-1".to_owned()).unwrap(),
        approvers: vec![],
        request_id: None,
        granted_at: now,
        expires_at: now,
        db_valid_until: now,
        context: serde_json::Value::Null,
        delivered: true,
        issuer: String::new(),
        login: None,
        slot: None,
        break_glass: false,
    }
}

#[tokio::test]
async fn the_log_notifier_delivers_only_into_a_new_private_file() {
    let password = pgroles::broker::TempPassword::generate();
    let e = LogNotifier::new().deliver(&record(), &password).await.unwrap_err();
    assert!(!format!("{e:#}").contains(password.expose_for_delivery()));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grant.txt");
    LogNotifier::with_delivery_file(&path).deliver(&record(), &password).await.expect("deliver");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(password.expose_for_delivery()) && text.contains("x_firefighter_ro"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // An existing file is never reused (no password appended to an old file).
    let again = LogNotifier::with_delivery_file(&path).deliver(&record(), &password).await;
    assert!(again.is_err());
}
