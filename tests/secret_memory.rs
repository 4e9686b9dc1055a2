//! Freed memory never holds the firefighter password: this binary's global allocator scans
//! every block it frees, while armed, for any 16-byte run of the password. A buffer that is
//! zeroized before it is freed (`Zeroizing`) shows nothing; a plain `String`/`Vec` copy, or a
//! buffer left behind by a reallocation, is caught. Checked for the rendering and body path of
//! the password DM, and for a whole post through hyper over plain HTTP/1 to a loopback server
//! that reads into a zeroizing buffer. TLS (rustls's record buffers) is outside what this can
//! promise; README says so.

use pgroles::broker::TempPassword;
use pgroles::slack::render::{self, ConnectInfo};
use pgroles::slack::secret_body;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Length of a password, and of the run of it that counts as a copy.
const LEN: usize = pgroles::broker::password::PASSWORD_LEN;
const RUN: usize = 16;

static ARMED: AtomicBool = AtomicBool::new(false);
static NEEDLE: [AtomicU8; LEN] = [const { AtomicU8::new(0) }; LEN];
static HITS: AtomicUsize = AtomicUsize::new(0);
/// One armed scenario at a time (the test harness runs tests on several threads).
static SERIAL: Mutex<()> = Mutex::new(());

struct Watch;

// SAFETY: every call is forwarded to `System` with the same arguments; `dealloc` only reads
// the block it is about to free, which is still allocated and `layout.size()` bytes long.
// `realloc` is the default (alloc, copy, `dealloc`), so a moved block is scanned too.
unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Acquire) {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_a_run(block) {
                HITS.fetch_add(1, Ordering::Relaxed);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Watch = Watch;

/// Whether `block` contains any `RUN` consecutive bytes of the armed password (no allocation).
fn holds_a_run(block: &[u8]) -> bool {
    let mut needle = [0u8; LEN];
    for (n, a) in needle.iter_mut().zip(NEEDLE.iter()) {
        *n = a.load(Ordering::Relaxed);
    }
    block.windows(RUN).any(|w| needle.windows(RUN).any(|n| n == w))
}

/// Runs `scenario` with the allocator armed for `password`; returns how many freed blocks
/// held a run of it.
fn freed_copies(password: &TempPassword, scenario: impl FnOnce()) -> usize {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for (a, b) in NEEDLE.iter().zip(password.expose_for_delivery().bytes()) {
        a.store(b, Ordering::Relaxed);
    }
    HITS.store(0, Ordering::Relaxed);
    ARMED.store(true, Ordering::Release);
    scenario();
    ARMED.store(false, Ordering::Release);
    HITS.load(Ordering::Relaxed)
}

fn info() -> ConnectInfo {
    ConnectInfo {
        host: "db.example".into(),
        port: 5432,
        dbname: "app".into(),
        role: "pgroles_firefighter_ro".into(),
        sslmode: "verify-full".into(),
    }
}

#[test]
fn the_detector_sees_a_plain_copy() {
    let password = TempPassword::generate();
    let hits = freed_copies(&password, || {
        let copy = format!("Password: `{}`", password.expose_for_delivery());
        assert!(copy.len() > LEN);
    });
    assert!(hits >= 1, "a freed plain String must be seen");
}

#[test]
fn rendering_the_password_dm_leaves_no_copy_in_freed_memory() {
    let password = TempPassword::generate();
    let now = chrono::Utc::now();
    let hits = freed_copies(&password, || {
        let msg = render::credentials(
            "ro",
            "INC-42",
            &info(),
            &password,
            now + chrono::Duration::hours(1),
            now,
        );
        assert!(msg.expose_text().contains(password.expose_for_delivery()));
        // The text is one zeroizing buffer that never grew (nothing left behind by a move).
        let text: &zeroize::Zeroizing<String> = msg.zeroizing_text();
        assert_eq!(text.capacity(), text.len());
    });
    assert_eq!(hits, 0, "freed blocks held the password");
}

#[test]
fn the_request_body_for_hyper_leaves_no_copy_in_freed_memory() {
    let password = TempPassword::generate();
    let now = chrono::Utc::now();
    let hits = freed_copies(&password, || {
        let msg = render::credentials(
            "rw",
            "INC-7",
            &info(),
            &password,
            now + chrono::Duration::minutes(30),
            now,
        );
        let body: zeroize::Zeroizing<Vec<u8>> =
            secret_body::ephemeral_body("D0DM", "U0REQUESTER", msg.expose_text()).expect("body");
        assert_eq!(body.capacity(), body.len(), "the body never grew");
        let bytes = secret_body::into_wiped_bytes(body);
        // What hyper would send: clones of the same bytes, dropped after each attempt.
        let attempt = bytes.clone();
        assert!(attempt.windows(LEN).any(|w| w == password.expose_for_delivery().as_bytes()));
        drop(attempt);
        drop(bytes);
    });
    assert_eq!(hits, 0, "freed blocks held the password");
}

#[test]
fn the_old_path_through_slack_morphism_did_leave_copies() {
    // Control: the same text through a plain String and slack-morphism's typed request and
    // serializer (what main did) is seen by the detector.
    use slack_morphism::prelude::*;
    let password = TempPassword::generate();
    let hits = freed_copies(&password, || {
        let text = format!("Password: `{}`", password.expose_for_delivery());
        let content = SlackMessageContent::new().with_text(text);
        let req = SlackApiChatPostEphemeralRequest::new("D0DM".into(), "U0R".into(), content);
        let json = serde_json::to_string(&req).expect("json");
        assert!(json.contains(password.expose_for_delivery()));
    });
    assert!(hits >= 2, "{hits}");
}

/// A one-shot HTTP/1.1 server on loopback that reads the request into a zeroizing buffer
/// (allocated once) and answers `{"ok":true}`; returns its base URL.
async fn zeroizing_server() -> (String, tokio::task::JoinHandle<bool>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/api", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.expect("accept");
        let mut buf = zeroize::Zeroizing::new(vec![0u8; 1 << 16]);
        let mut filled = 0;
        loop {
            let n = conn.read(&mut buf[filled..]).await.expect("read");
            filled += n;
            let got = &buf[..filled];
            let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = std::str::from_utf8(&got[..end]).expect("ascii head").to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            if filled >= end + 4 + len || n == 0 {
                break;
            }
        }
        let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n\
                       content-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}";
        conn.write_all(answer).await.expect("write");
        conn.shutdown().await.ok();
        filled > 0
    });
    (url, server)
}

/// Posts the password DM to a [`zeroizing_server`] inside a runtime that is dropped before
/// returning (so every buffer of the connection is freed while the detector is armed), either
/// with our own request or with slack-morphism's typed one.
fn post_once(password: &TempPassword, ours: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let now = chrono::Utc::now();
    let msg = render::credentials("ro", "INC-9", &info(), password, now, now);
    runtime.block_on(async {
        let (url, server) = zeroizing_server().await;
        let token = secrecy::SecretString::from("xoxb-test");
        let api = pgroles::slack::client::SlackApi::new(&url, &token).expect("client");
        if ours {
            api.post_ephemeral_secret("D0DM", "U0REQUESTER", &msg).await.expect("posted");
        } else {
            let text = msg.expose_text();
            api.post_ephemeral("D0DM", "U0REQUESTER", text, &[]).await.expect("posted");
        }
        assert!(server.await.expect("server"));
        drop(api);
    });
    drop(runtime);
}

#[test]
fn posting_the_password_dm_over_plain_http1_leaves_no_copy_in_freed_memory() {
    // Our side of the wire: hyper's plain HTTP/1 client writes the `Bytes` without copying
    // them. (Over TLS, rustls's record buffers are outside this guarantee: README says so.)
    let password = TempPassword::generate();
    let hits = freed_copies(&password, || post_once(&password, true));
    assert_eq!(hits, 0, "freed blocks held the password");
    // Control: the typed slack-morphism call over the same wire leaves copies behind.
    let typed = freed_copies(&password, || post_once(&password, false));
    assert!(typed >= 1, "{typed}");
    eprintln!("freed blocks holding the password: ours {hits}, slack-morphism's {typed}");
}
