//! A tiny TCP proxy the test controls: "PostgreSQL unreachable" without touching the shared
//! cluster. `stop` closes the listening port (new connections are refused) and cuts every
//! forwarded connection; `start` listens on the same port again.
//!
//! Owns the byte forwarding only; it must not parse or log what passes through.

use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

pub struct TcpProxy {
    port: u16,
    target: SocketAddr,
    running: Mutex<Option<JoinHandle<()>>>,
}

impl TcpProxy {
    /// A proxy to `target` on a free loopback port, started.
    pub async fn start(target: SocketAddr) -> anyhow::Result<TcpProxy> {
        let proxy =
            TcpProxy { port: crate::support::free_port(), target, running: Mutex::new(None) };
        proxy.resume().await?;
        Ok(proxy)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Listens again (no-op while running).
    pub async fn resume(&self) -> anyhow::Result<()> {
        if self.running.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        let target = self.target;
        let task = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every forwarded connection.
            let mut conns = JoinSet::new();
            loop {
                let Ok((inbound, _)) = listener.accept().await else { continue };
                while conns.try_join_next().is_some() {}
                conns.spawn(forward(inbound, target));
            }
        });
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        Ok(())
    }

    /// Refuses new connections and cuts the open ones.
    pub async fn stop(&self) {
        let task = self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(task) = self.running.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

async fn forward(mut inbound: TcpStream, target: SocketAddr) {
    let Ok(mut outbound) = TcpStream::connect(target).await else { return };
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}
