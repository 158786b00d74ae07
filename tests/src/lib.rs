//! Test harness for nectr's black-box tests: spawns the real application on port 0 with a fresh database
//! (a SQLite file in a temporary directory, or a new PostgreSQL database dropped afterwards) and talks to
//! it over HTTP like GitHub does.
//!
//! PostgreSQL: `NECTR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) names a
//! server whose user may create databases. When it is unreachable the PostgreSQL variants pass without
//! running and a notice says so, unless `NECTR_REQUIRE_POSTGRES=1` (CI), which makes them fail.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is its job

pub mod api;
pub mod arcadedb;
pub mod browser;
pub mod fake_github;
pub mod fuzz;
pub mod proxy;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use adapters_db::Db;
use adapters_db::entities::{deliveries, event_runs, events};
use app_server::{Application, Settings};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde_json::Value;

pub use reqwest::StatusCode;

/// The secret the corpus is signed with (GitHub's documented test secret).
pub const CORPUS_SECRET: &str = "It's a Secret to Everybody";

/// Generates one `#[tokio::test]` per backend for each named `async fn(Backend)` in the calling module.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn postgres_admin_url() -> String {
    std::env::var("NECTR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `host:port` of the test PostgreSQL server, from its URL (port 5432 when none is named).
fn postgres_host_port() -> String {
    let url = postgres_admin_url();
    let host_port = url
        .split('@')
        .next_back()
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5432")
        .to_owned();
    if host_port.contains(':') {
        host_port
    } else {
        format!("{host_port}:5432")
    }
}

/// The test PostgreSQL server's address, when it is reachable (else `None`, with the notice, or a
/// failure under `NECTR_REQUIRE_POSTGRES=1`).
pub fn postgres_address() -> Option<std::net::SocketAddr> {
    if !postgres_reachable() {
        return None;
    }
    std::net::ToSocketAddrs::to_socket_addrs(&postgres_host_port())
        .ok()?
        .next()
}

/// Whether PostgreSQL answers on its TCP port; checked once per test binary.
fn postgres_reachable() -> bool {
    static REACHABLE: OnceLock<bool> = OnceLock::new();
    *REACHABLE.get_or_init(|| {
        let host_port = postgres_host_port();
        let reachable = std::net::ToSocketAddrs::to_socket_addrs(&host_port)
            .ok()
            .and_then(|mut addrs| addrs.next())
            .is_some_and(|addr| std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok());
        if !reachable {
            if std::env::var("NECTR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("NECTR_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {host_port}");
            }
            // Written past the test harness's capture so the person running the tests sees it.
            let _ = writeln!(
                std::io::stderr(),
                "\nNOTICE: PostgreSQL is not reachable at {host_port}: the PostgreSQL variants of these tests \
                 were SKIPPED (they passed without running). Start PostgreSQL or set NECTR_TEST_POSTGRES_URL to run them.\n"
            );
        }
        reachable
    })
}

/// Keeps a test's database alive and removes it afterwards.
#[derive(Debug)]
pub enum DbGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(admin) = Db::connect(&admin_url, None).await {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = admin.connection().execute_unprepared(&sql).await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A fresh, empty database on `backend`: a SQLite file in a temporary directory, or a new
/// PostgreSQL database on the test server. It is removed when the guard drops. `None` when
/// PostgreSQL is unreachable (with the notice, or a failure under `NECTR_REQUIRE_POSTGRES=1`).
pub async fn fresh_database(backend: Backend) -> Option<(String, DbGuard)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("nectr.db").display());
            Some((url, DbGuard::Sqlite(dir)))
        }
        Backend::Postgres => {
            if !postgres_reachable() {
                return None;
            }
            let admin_url = postgres_admin_url();
            let name = format!("nectr_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Db::connect(&admin_url, None)
                .await
                .expect("connect to PostgreSQL as admin");
            admin
                .connection()
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.expect("close admin connection");
            // Same server and options, the new database: `scheme://who@host:port/<name>?options`.
            let (path, query) = match admin_url.split_once('?') {
                Some((path, query)) => (path, format!("?{query}")),
                None => (admin_url.as_str(), String::new()),
            };
            let base = path.rsplit_once('/').map_or(path, |(base, _)| base);
            let url = format!("{base}/{name}{query}");
            Some((
                url,
                DbGuard::Postgres {
                    admin_url: admin_url.clone(),
                    name,
                },
            ))
        }
    }
}

/// The encryption keys test apps run with (`ENCRYPTION_KEYS`): key `t1`, 32 bytes 0..=31.
pub const TEST_ENCRYPTION_KEYS: &str = "t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The session-signing key test apps run with (`SESSION_KEY`).
pub const TEST_SESSION_KEY: &str = "test-session-key-0123456789abcdef-0123";

/// A running nectr with its own database.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    /// The app's own database, for a second connection pool (a "second process").
    pub database_url: String,
    pub port: u16,
    pub db: Db,
    pub client: reqwest::Client,
    /// The settings the app runs with: [`TestApp::run_queue`] reviews with the same.
    pub settings: Settings,
    _guard: DbGuard,
}

/// What the webhook endpoint answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl TestApp {
    /// Starts nectr with the corpus secret as `GITHUB_WEBHOOK_SECRET`. `None` means the backend is
    /// PostgreSQL and it is not available here (the test should return).
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, &[("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET)]).await
    }

    /// Starts nectr with these environment variables (on top of a fresh database and port 0).
    pub async fn spawn_with(backend: Backend, vars: &[(&str, &str)]) -> Option<Self> {
        let (database_url, guard) = fresh_database(backend).await?;
        // `NECTR_TEST_DATABASE_VIA=host:port` points the app at a proxy in front of its database.
        let app_database_url = match vars.iter().find(|(k, _)| *k == "NECTR_TEST_DATABASE_VIA") {
            Some((_, via)) => through(&database_url, via),
            None => database_url.clone(),
        };
        // GitHub is never reachable from a test: unless a test names its fake, calls go to a closed port.
        let mut env: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), app_database_url),
            ("PORT".into(), "0".into()),
            ("GITHUB_API_URL".into(), "http://127.0.0.1:9".into()),
            ("GITHUB_OAUTH_URL".into(), "http://127.0.0.1:9".into()),
            ("ENCRYPTION_KEYS".into(), TEST_ENCRYPTION_KEYS.into()),
            ("SESSION_KEY".into(), TEST_SESSION_KEY.into()),
        ]);
        env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut settings =
            Settings::from_vars(|k| env.get(k).cloned()).expect("valid test settings");
        // Workers run only where a test asks for them (`NECTR_TEST_WORKERS=1` among `vars`), so the
        // webhook tests see events exactly as the endpoint left them.
        settings.server.run_workers = env.get("NECTR_TEST_WORKERS").is_some_and(|v| v == "1");
        let app = Application::build(settings.clone())
            .await
            .expect("application starts");
        let port = app.port();
        let db = app.db().clone();
        tokio::spawn(app.run_until_stopped());
        Some(Self {
            database_url,
            address: format!("http://127.0.0.1:{port}"),
            port,
            db,
            client: {
                app_server::install_crypto_provider();
                reqwest::Client::new()
            },
            settings,
            _guard: guard,
        })
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/api/v1/webhooks/github", self.address)
    }

    /// Posts `body` as GitHub would: JSON, event, delivery id and (when given) the SHA-256 signature.
    pub async fn deliver(
        &self,
        event: &str,
        delivery: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> Answer {
        let mut headers = vec![
            ("Content-Type", "application/json".to_owned()),
            ("X-GitHub-Event", event.to_owned()),
            ("X-GitHub-Delivery", delivery.to_owned()),
            (
                "X-GitHub-Hook-Installation-Target-Type",
                "repository".to_owned(),
            ),
            ("User-Agent", "GitHub-Hookshot/test".to_owned()),
        ];
        if let Some(signature) = signature {
            headers.push(("X-Hub-Signature-256", signature.to_owned()));
        }
        self.post(&headers, body.to_vec()).await
    }

    /// Delivers a corpus file as GitHub sent it: its recorded signature, a fresh delivery id.
    pub async fn deliver_file(&self, event: &str, file: &CorpusFile) -> Answer {
        self.deliver(event, &delivery_id(), &file.bytes, Some(&file.signature))
            .await
    }

    /// Posts `body` with exactly these headers.
    pub async fn post(&self, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
        let mut request = self.client.post(self.webhook_url()).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("webhook request");
        let status = response.status();
        let text = response.text().await.expect("answer body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }

    /// Every event row, oldest first.
    pub async fn events(&self) -> Vec<events::Model> {
        events::Entity::find()
            .order_by_asc(events::Column::Id)
            .all(self.db.connection())
            .await
            .expect("read events")
    }

    /// Delivers a signed `pull_request` webhook (`action`: opened, synchronize, ...) for `repo`#`number`
    /// at head `sha`, asserts it was received, and returns the event id.
    pub async fn deliver_pull_request(
        &self,
        repo: &str,
        number: u64,
        sha: &str,
        action: &str,
    ) -> i64 {
        let answer = self
            .deliver_pull_request_signed(CORPUS_SECRET, repo, number, sha, action)
            .await;
        assert_eq!(answer.body["status"], "received", "{}", answer.body);
        answer.body["event_id"].as_i64().expect("event id")
    }

    /// The same delivery signed with `secret` (a connected repository's own), and its answer.
    pub async fn deliver_pull_request_signed(
        &self,
        secret: &str,
        repo: &str,
        number: u64,
        sha: &str,
        action: &str,
    ) -> Answer {
        let body = serde_json::json!({
            "action": action,
            "number": number,
            "pull_request": {"number": number, "state": "open", "draft": false, "head": {"sha": sha},
                             "updated_at": chrono::Utc::now().to_rfc3339()},
            "repository": {"full_name": repo},
            "sender": {"login": "dev", "type": "User"},
        })
        .to_string()
        .into_bytes();
        self.deliver(
            "pull_request",
            &delivery_id(),
            &body,
            Some(&sign(secret, &body)),
        )
        .await
    }

    /// Runs every due job to its end, as the app's workers would (same reviewer, same GitHub), until
    /// none is due; returns how many ran. Tests drive the queue with this instead of waiting for a
    /// pool.
    pub async fn run_queue(&self) -> usize {
        let handler = app_server::startup::job_handler(&self.settings, &self.db)
            .expect("the review handler builds");
        app_server::workers::run_until_idle(
            std::sync::Arc::new(self.db.clone()),
            handler,
            self.settings.queue.clone(),
        )
        .await
    }

    /// Runs the queue until idle, then returns the event, which must have finished.
    pub async fn finished_event(&self, id: i64) -> events::Model {
        self.run_queue().await;
        let event = events::Entity::find_by_id(id)
            .one(self.db.connection())
            .await
            .expect("read event")
            .expect("event exists");
        assert!(
            !matches!(event.status.as_str(), "pending" | "processing"),
            "event {id} is still {} after the queue ran dry ({:?})",
            event.status,
            event.last_error
        );
        event
    }

    /// The recorded result (JSON) of the event's last run.
    pub async fn last_run_result(&self, id: i64) -> Value {
        use sea_orm::{ColumnTrait, QueryFilter};
        let runs = event_runs::Entity::find()
            .filter(event_runs::Column::EventId.eq(id))
            .order_by_asc(event_runs::Column::Id)
            .all(self.db.connection())
            .await
            .expect("read runs");
        let run = runs.last().expect("a run");
        serde_json::from_str(run.result.as_deref().unwrap_or("null")).expect("result JSON")
    }

    /// Every delivery-log row, oldest first.
    pub async fn deliveries(&self) -> Vec<deliveries::Model> {
        deliveries::Entity::find()
            .order_by_asc(deliveries::Column::Id)
            .all(self.db.connection())
            .await
            .expect("read deliveries")
    }
}

/// `url` with its `host:port` replaced by `via`.
fn through(url: &str, via: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"));
    format!("{scheme}://{}{via}/{path}", user.unwrap_or_default())
}

/// The corpus copied into this repository (see `fixtures/corpus/SOURCES.md`).
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

/// One corpus file: its path under `github/`, exact bytes and recorded signature.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub signature: String,
}

/// The GitHub corpus files of one event (`pull_request`, `ping`, ...), with their signatures from
/// `SIGNATURES.tsv`.
pub fn corpus(event: &str) -> Vec<CorpusFile> {
    let tsv = std::fs::read_to_string(corpus_dir().join("SIGNATURES.tsv")).expect("SIGNATURES.tsv");
    let prefix = format!("github/{event}/");
    let mut files: Vec<CorpusFile> = tsv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let path = cols.first()?;
            path.starts_with(&prefix).then(|| CorpusFile {
                path: path.to_string(),
                bytes: std::fs::read(corpus_dir().join(path)).expect("corpus file"),
                signature: cols.get(2).unwrap_or(&"").to_string(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(!files.is_empty(), "no corpus files for {event}");
    files
}

/// A fresh delivery id, as GitHub sends them.
pub fn delivery_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Signs `body` with `secret` as GitHub does.
pub fn sign(secret: &str, body: &[u8]) -> String {
    domain::webhook::signature::sign(
        &domain::webhook::values::WebhookSecret::parse(secret).expect("secret"),
        body,
    )
}
