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

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`, as GitHub signs.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, body).as_ref())
    )
}

/// A fresh PostgreSQL database for one test, dropped afterwards.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use sea_orm::ConnectionTrait;
                if let Ok(admin) = adapters_db::Db::connect(&admin_url, None).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = admin.connection().execute_unprepared(&sql).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A new database on the test PostgreSQL server (`NECTR_TEST_POSTGRES_URL`, default the local one).
/// `None`, with a notice, when the server is not reachable, unless `NECTR_REQUIRE_POSTGRES=1`, which
/// fails the test instead.
pub async fn test_database() -> Option<TestDatabase> {
    use sea_orm::ConnectionTrait;
    let admin_url = std::env::var("NECTR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let admin = match adapters_db::Db::connect(&admin_url, None).await {
        Ok(admin) => admin,
        Err(e) => {
            assert!(
                !std::env::var("NECTR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1"),
                "NECTR_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable: {e}"
            );
            eprintln!(
                "\nNOTICE: PostgreSQL is not reachable: the PostgreSQL tests of this binary were SKIPPED (they passed without running).\n"
            );
            return None;
        }
    };
    let name = format!("nectr_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .connection()
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (path, query) = match admin_url.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (admin_url.as_str(), String::new()),
    };
    let base = path.rsplit_once('/').map_or(path, |(base, _)| base);
    Some(TestDatabase {
        url: format!("{base}/{name}{query}"),
        admin_url,
        name,
    })
}
