//! Helpers shared by the tests that run the real `app-server` binary.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses its own subset

use std::process::Child;
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Blocks until something accepts connections on `port` (30 s at most).
pub fn wait_until_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "app-server did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server process, killed (SIGKILL) when dropped so a failing test leaves nothing running.
pub struct Server(pub Child);

impl Server {
    /// SIGKILL: no shutdown, no release, leases left as they were.
    pub fn kill_9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_9();
    }
}
