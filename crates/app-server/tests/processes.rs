//! Two real processes on one PostgreSQL database: `app-server serve --no-workers` takes a delivery and
//! `app-server worker` reviews it, both polling only once a minute. The worker must be woken by the
//! database's `NOTIFY` (every process that runs workers on PostgreSQL listens), not by its poll.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

use common::{Server, free_port, sign, test_database, wait_until_listening};

const BIN: &str = env!("CARGO_BIN_EXE_app-server");
const SECRET: &str = "two-processes-secret-0123456789";
const SHA: &str = "dddddddddddddddddddddddddddddddddddddddd";
const KEYS: &str = "t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SESSION_KEY: &str = "two-processes-session-key-0123456789abcdef";

fn app_server(args: &[&str], database_url: &str, github: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("GITHUB_WEBHOOK_SECRET", SECRET)
        .env("GITHUB_API_URL", github)
        .env("ENCRYPTION_KEYS", KEYS)
        .env("SESSION_KEY", SESSION_KEY)
        .env("WORKERS", "1")
        .env("POLL_INTERVAL_MS", "60000")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A fake GitHub with one open pull request at `SHA`, one changed file and no earlier review; the
/// review posted on it is what the test waits for.
async fn fake_github() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/backend/pulls/5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 5, "title": "change", "state": "open", "draft": false, "body": null,
            "user": {"login": "dev"}, "html_url": "https://github.com/acme/backend/pull/5",
            "head": {"sha": SHA, "ref": "feature"}, "base": {"sha": SHA, "ref": "main"},
            "merged": false, "merged_at": null, "updated_at": "2026-11-22T10:00:00Z",
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/backend/pulls/5/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": "src/a.rs", "status": "modified",
            "additions": 1, "deletions": 0, "changes": 1, "patch": "@@ -1 +1,2 @@\n fn a() {}\n+// TODO: more",
        }])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/backend/pulls/5/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/backend/pulls/5/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 1, "html_url": "https://github.com/acme/backend/pull/5#pullrequestreview-1"}),
        ))
        .mount(&server)
        .await;
    server
}

fn pull_request_body() -> String {
    json!({
        "action": "opened",
        "number": 5,
        "pull_request": {
            "number": 5, "state": "open", "draft": false,
            "head": {"sha": SHA}, "updated_at": "2026-11-22T10:00:00Z",
        },
        "repository": {"full_name": "acme/backend"},
        "sender": {"login": "dev", "type": "User"},
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_to_the_server_is_reviewed_by_a_worker_process_woken_by_notify() {
    app_server::install_crypto_provider();
    let Some(database) = test_database().await else {
        return;
    };
    let github = fake_github().await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let _server = Server(
        app_server(&["serve", "--no-workers"], &database.url, &github.uri())
            .current_dir(dir.path())
            .env("PORT", port.to_string())
            .spawn()
            .unwrap(),
    );
    wait_until_listening(port);

    // The worker logs when it listens; only then can a notification reach it.
    let mut child = app_server(&["worker"], &database.url, &github.uri())
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = child.stdout.take().unwrap();
    let _worker = Server(child);
    let (ready, listening) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(logs).lines().map_while(Result::ok) {
            if line.contains("listening for queued work") {
                let _ = ready.send(());
            }
        }
    });
    listening
        .recv_timeout(Duration::from_secs(30))
        .expect("the worker process listens for queued work");
    // Its first claim (at start) has found nothing: from here on only a poll (a minute away) or a
    // notification starts it.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let body = pull_request_body();
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v1/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "7a1c4f2e-0000-4000-8000-000000000001")
        .header("x-hub-signature-256", sign(SECRET, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    let delivered = Instant::now();
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(answer["status"], "received", "{answer}");

    let reviewed = loop {
        let posted = github
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .any(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/pulls/5/reviews"));
        if posted {
            break delivered.elapsed();
        }
        assert!(
            delivered.elapsed() < Duration::from_secs(10),
            "no review within 10 s: the worker was not woken"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!("the worker process posted the review {reviewed:?} after the delivery was answered");
    assert!(
        reviewed < Duration::from_secs(2),
        "reviewed {reviewed:?} after the delivery; a notification wakes the worker within 2 s"
    );
}
