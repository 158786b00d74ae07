//! Crash test: the real `app-server` binary is killed with SIGKILL while deliveries stream in and reviews
//! run, then started again on the same database. Every delivery that was answered `received` must reach a
//! terminal status, its work completed exactly once, and exactly one review posted on its PR.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapters_db::Db;
use adapters_db::entities::{event_runs, events};
use sea_orm::EntityTrait;
use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

mod common;

use common::{Server, free_port, wait_until_listening};

const BIN: &str = env!("CARGO_BIN_EXE_app-server");
const SECRET: &str = "crash-test-secret-0123456789";
const SHA: &str = "cccccccccccccccccccccccccccccccccccccccc";

fn start(dir: &std::path::Path, port: u16, github: &str) -> Server {
    let child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", "sqlite://crash.db")
        .env("PORT", port.to_string())
        .env("GITHUB_WEBHOOK_SECRET", SECRET)
        .env("GITHUB_API_URL", github)
        .env("WORKERS", "4")
        .env("LEASE_SECONDS", "3")
        .env("POLL_INTERVAL_MS", "50")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_listening(port);
    Server(child)
}

type Posted = Arc<Mutex<HashMap<u64, Vec<serde_json::Value>>>>;

/// A fake GitHub that answers every pull request as open at `SHA` (a little slowly, so work is in
/// flight), lists one changed file, and keeps the reviews posted on each pull request.
async fn fake_github() -> (MockServer, Posted) {
    let server = MockServer::start().await;
    let number_of = |req: &Request| -> u64 {
        req.url
            .path()
            .split('/')
            .nth(5)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/backend/pulls/\d+/files$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": "src/a.rs", "status": "modified",
            "additions": 1, "deletions": 0, "changes": 1, "patch": "@@ -1 +1,2 @@\n fn a() {}\n+// TODO: more",
        }])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/backend/pulls/\d+$"))
        .respond_with(move |req: &Request| {
            let number = number_of(req);
            ResponseTemplate::new(200).set_delay(Duration::from_millis(100)).set_body_json(json!({
                "number": number, "title": "change", "state": "open", "draft": false, "body": null,
                "user": {"login": "dev"}, "html_url": format!("https://github.com/acme/backend/pull/{number}"),
                "head": {"sha": SHA, "ref": "feature"}, "base": {"sha": SHA, "ref": "main"},
                "merged": false, "merged_at": null, "updated_at": "2026-11-22T10:00:00Z",
            }))
        })
        .mount(&server)
        .await;
    let posted: Posted = Arc::default();
    let (store, list) = (posted.clone(), posted.clone());
    Mock::given(method("POST"))
        .and(path_regex(r"^/repos/acme/backend/pulls/\d+/reviews$"))
        .respond_with(move |req: &Request| {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            let mut all = store.lock().unwrap();
            let id = 1000 + all.values().map(Vec::len).sum::<usize>() as u64;
            let review = json!({"id": id, "body": body["body"], "state": "COMMENTED", "user": {"login": "bot"},
                                "html_url": format!("https://github.com/r/{id}"), "commit_id": body["commit_id"]});
            all.entry(number_of(req)).or_default().push(review.clone());
            ResponseTemplate::new(200).set_body_json(review)
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/backend/pulls/\d+/reviews$"))
        .respond_with(move |req: &Request| {
            let reviews = list
                .lock()
                .unwrap()
                .get(&number_of(req))
                .cloned()
                .unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(reviews)
        })
        .mount(&server)
        .await;
    (server, posted)
}

fn payload(number: u64) -> Vec<u8> {
    json!({
        "action": "opened",
        "number": number,
        "pull_request": {"number": number, "state": "open", "draft": false, "head": {"sha": SHA}},
        "repository": {"full_name": "acme/backend"},
        "sender": {"login": "dev", "type": "User"},
    })
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_received_delivery_is_completed_exactly_once_across_a_kill_9() {
    app_server::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (github, posted) = fake_github().await;
    let port = free_port();
    let mut server = start(dir.path(), port, &github.uri());
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/v1/webhooks/github");
    let secret = domain::webhook::values::WebhookSecret::parse(SECRET).unwrap();

    let total = 300u64;
    let kill_after = 120u64;
    let mut received = HashSet::new();
    let mut unanswered = 0;
    for number in 1..=total {
        if number == kill_after {
            server.kill_9();
        }
        let body = payload(number);
        let answer = client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", format!("crash-{number}"))
            .header(
                "X-Hub-Signature-256",
                domain::webhook::signature::sign(&secret, &body),
            )
            .body(body)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match answer {
            Ok(response) if response.status().is_success() => {
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["status"], "received", "{body}");
                received.insert(body["event_id"].as_i64().unwrap());
            }
            Ok(response) => panic!("unexpected answer {}", response.status()),
            Err(_) => unanswered += 1,
        }
        if number == kill_after + 20 {
            // Some deliveries went unanswered while it was down; start it again on the same database.
            server = start(dir.path(), port, &github.uri());
        }
    }
    assert!(unanswered > 0, "some deliveries must fall in the outage");
    assert_eq!(
        received.len() + unanswered,
        total as usize,
        "every delivery was received or unanswered"
    );

    let db = Db::connect(
        &format!("sqlite://{}", dir.path().join("crash.db").display()),
        None,
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let all = events::Entity::find().all(db.connection()).await.unwrap();
        let done = all.iter().filter(|e| e.status == "completed").count();
        if done == received.len() {
            assert_eq!(
                all.len(),
                received.len(),
                "only answered deliveries were recorded"
            );
            assert!(
                all.iter().any(|e| e.attempts >= 2),
                "work in flight at the kill was reclaimed and run again"
            );
            break;
        }
        let stuck: Vec<_> = all
            .iter()
            .filter(|e| e.status != "completed")
            .map(|e| (e.id, e.status.clone()))
            .collect();
        assert!(
            Instant::now() < deadline,
            "not all work finished: {stuck:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let runs = event_runs::Entity::find()
        .all(db.connection())
        .await
        .unwrap();
    for id in &received {
        let completed = runs
            .iter()
            .filter(|r| r.event_id == *id && r.outcome == "completed")
            .count();
        assert_eq!(completed, 1, "event {id} completed {completed} times");
    }
    // One review on GitHub per received delivery: none lost, none posted twice.
    let events = events::Entity::find().all(db.connection()).await.unwrap();
    let posted = posted.lock().unwrap().clone();
    for event in &events {
        let n = u64::try_from(event.pr_number.unwrap()).unwrap();
        let count = posted.get(&n).map_or(0, Vec::len);
        assert_eq!(count, 1, "PR #{n} got {count} reviews");
    }
    drop(server);
}
