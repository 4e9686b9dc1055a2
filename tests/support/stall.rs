//! Loopback TCP proxies. [`StallProxy`]: open connections the test can freeze: they stop
//! forwarding bytes in both directions but stay open (a half-dead NAT entry, a frozen server
//! process); new connections pass. Used to stall one broker connection without touching the
//! shared cluster. [`Gate`]: shut, it cuts and refuses connections (a partition); open, it
//! forwards.
//!
//! Owns the byte forwarding only; it must not parse or log what passes through.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A forwarding proxy whose open connections can be frozen.
pub struct StallProxy {
    pub port: u16,
    open: Arc<Mutex<Vec<watch::Sender<bool>>>>,
    task: JoinHandle<()>,
}

impl StallProxy {
    pub async fn start(target: SocketAddr) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let open: Arc<Mutex<Vec<watch::Sender<bool>>>> = Arc::default();
        let conns = open.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else { continue };
                let (tx, rx) = watch::channel(false);
                conns.lock().unwrap().push(tx);
                tokio::spawn(forward(inbound, target, rx));
            }
        });
        StallProxy { port, open, task }
    }

    /// Every connection open now stops forwarding in both directions (and stays open).
    pub fn freeze_open(&self) -> usize {
        let open = self.open.lock().unwrap();
        for tx in open.iter() {
            let _ = tx.send(true);
        }
        open.len()
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(mut inbound: TcpStream, target: SocketAddr, mut frozen: watch::Receiver<bool>) {
    let Ok(mut outbound) = TcpStream::connect(target).await else { return };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        () = async { drop(frozen.wait_for(|f| *f).await) } => {
            // Hold both sockets open, forwarding nothing, until the test ends.
            let _keep = (inbound, outbound);
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
    }
}

/// A forwarding proxy that can be shut: while shut, new connections are closed at once and
/// the open ones are cut (a network partition between the bot and one instance, while clients
/// elsewhere keep their sessions). Starts open.
pub struct Gate {
    pub port: u16,
    open: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    task: JoinHandle<()>,
}

impl Gate {
    pub async fn start(target: SocketAddr) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the gate");
        let port = listener.local_addr().expect("gate address").port();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (is_open, list) = (open.clone(), conns.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if !is_open.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                list.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Gate { port, open, conns, task }
    }

    /// Cuts every open connection and refuses new ones until [`Gate::open`].
    pub fn shut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    pub fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}
