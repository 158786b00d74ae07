//! A TCP proxy a test puts between nectr and its database, to simulate outages without touching the
//! shared server: `cut` closes every connection and refuses new ones (a crashed server);
//! `stall` keeps every connection open but forwards nothing (a partition or a hung server), which
//! is the case that hangs a client without its own deadlines; `restore` brings it back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const UP: u8 = 0;
const CUT: u8 = 1;
const STALLED: u8 = 2;

/// A running proxy to `target` on a free port of 127.0.0.1.
#[derive(Debug)]
pub struct TcpProxy {
    pub port: u16,
    mode: Arc<AtomicU8>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

/// Copies `from` to `to` while the proxy is up; holds what it read while it is stalled.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mode: Arc<AtomicU8>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        while mode.load(Ordering::SeqCst) == STALLED {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let mode = Arc::new(AtomicU8::new(UP));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let (mode, connections) = (mode.clone(), connections.clone());
            tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let task = match mode.load(Ordering::SeqCst) {
                        // Refused as soon as it is made.
                        CUT => continue,
                        // Held open, answered never.
                        STALLED => tokio::spawn(async move {
                            let _held = inbound;
                            std::future::pending::<()>().await;
                        }),
                        _ => {
                            let mode = mode.clone();
                            tokio::spawn(async move {
                                let Ok(outbound) = TcpStream::connect(target).await else {
                                    return;
                                };
                                let (in_read, in_write) = inbound.into_split();
                                let (out_read, out_write) = outbound.into_split();
                                tokio::join!(
                                    pump(in_read, out_write, mode.clone()),
                                    pump(out_read, in_write, mode)
                                );
                            })
                        }
                    };
                    connections.lock().expect("lock").push(task);
                }
            })
        };
        Self {
            port,
            mode,
            connections,
            accept,
        }
    }

    /// The database is gone: every open connection is closed, every new one refused.
    pub fn cut(&self) {
        self.mode.store(CUT, Ordering::SeqCst);
        for task in self.connections.lock().expect("lock").drain(..) {
            task.abort();
        }
    }

    /// The database hangs: connections stay open, nothing goes through either way.
    pub fn stall(&self) {
        self.mode.store(STALLED, Ordering::SeqCst);
    }

    /// The database is back (connections cut before stay closed; stalled ones resume).
    pub fn restore(&self) {
        self.mode.store(UP, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
