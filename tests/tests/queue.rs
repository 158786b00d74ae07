//! The durable review queue and its workers, on SQLite and PostgreSQL: leases, outcomes, retries,
//! reclaiming a dead worker's work, graceful release at shutdown, and many workers sharing one database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapters_db::Db;
use adapters_db::entities::{event_runs, events};
use app_server::workers::{WorkerConfig, WorkerPool};
use async_trait::async_trait;
use chrono::Utc;
use domain::queue::{Job, JobHandler, JobResult, RetryPolicy, ReviewQueue};
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{Backend, CORPUS_SECRET, TestApp, delivery_id, on_both_backends, sign};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

on_both_backends!(
    a_queued_event_is_reviewed_and_one_review_posted,
    the_anthropic_reviewer_reviews_through_the_same_pipeline,
    a_retry_after_posting_posts_nothing_more,
    a_closed_pull_request_is_skipped_and_a_moved_one_superseded,
    a_transient_failure_is_retried_later_and_a_permanent_one_fails,
    an_expired_lease_is_reclaimed_by_another_worker,
    shutdown_releases_unfinished_work,
    two_worker_pools_drain_a_thousand_events_running_each_once,
);

const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const REPO: &str = "acme/backend";

fn pr_payload(number: u64, sha: &str) -> Vec<u8> {
    json!({
        "action": "opened",
        "number": number,
        "pull_request": {"number": number, "state": "open", "draft": false, "head": {"sha": sha}, "updated_at": "2026-11-22T10:00:00Z"},
        "repository": {"full_name": REPO},
        "sender": {"login": "dev", "type": "User"},
    })
    .to_string()
    .into_bytes()
}

async fn app_with_workers(backend: Backend, github: &FakeGitHub) -> Option<TestApp> {
    let url = github.url();
    TestApp::spawn_with(
        backend,
        &[
            ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
            ("GITHUB_API_URL", &url),
            ("NECTR_TEST_WORKERS", "1"),
            ("POLL_INTERVAL_MS", "50"),
            ("LEASE_SECONDS", "5"),
        ],
    )
    .await
}

async fn deliver(app: &TestApp, number: u64, sha: &str) -> i64 {
    let body = pr_payload(number, sha);
    let answer = app
        .deliver(
            "pull_request",
            &delivery_id(),
            &body,
            Some(&sign(CORPUS_SECRET, &body)),
        )
        .await;
    assert_eq!(answer.body["status"], "received", "{}", answer.body);
    answer.body["event_id"].as_i64().unwrap()
}

/// Waits (up to 20 s) until the event leaves `pending`/`processing`, or `until` says so.
async fn wait_for(db: &Db, event_id: i64, until: impl Fn(&events::Model) -> bool) -> events::Model {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = events::Entity::find_by_id(event_id)
            .one(db.connection())
            .await
            .unwrap()
            .unwrap();
        if until(&event) {
            return event;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "event {event_id} stuck as {}",
            event.status
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn terminal(e: &events::Model) -> bool {
    !matches!(e.status.as_str(), "pending" | "processing")
}

async fn runs(db: &Db, event_id: i64) -> Vec<event_runs::Model> {
    event_runs::Entity::find()
        .filter(event_runs::Column::EventId.eq(event_id))
        .all(db.connection())
        .await
        .unwrap()
}

const DIFF: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,3 +1,5 @@\n fn load() {\n+    let key = \"AKIA2OGYBAH6STMMNXNN\";\n+    let v = parse().unwrap();\n     run();\n }\n";

async fn a_queued_event_is_reviewed_and_one_review_posted(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github.serve_diff(REPO, 7, DIFF).await;
    github.accept_reviews(REPO, 7).await;
    let Some(app) = app_with_workers(backend, &github).await else {
        return;
    };
    let id = deliver(&app, 7, SHA).await;
    let event = wait_for(&app.db, id, terminal).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);
    assert_eq!(event.attempts, 1);
    assert!(event.processed_at.is_some() && event.lease_owner.is_none());

    let posted = github.posted_reviews(REPO, 7).await;
    assert_eq!(posted.len(), 1, "exactly one review");
    let review = &posted[0];
    assert_eq!(review["commit_id"], SHA);
    assert_eq!(
        review["event"], "REQUEST_CHANGES",
        "a leaked key is critical"
    );
    let comments = review["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(
        (comments[0]["path"].as_str(), comments[0]["line"].as_u64()),
        (Some("src/config.rs"), Some(2))
    );
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("(rule `secret-token`)")
    );
    assert_eq!(comments[1]["line"], 3);
    assert!(
        review["body"]
            .as_str()
            .unwrap()
            .contains(&format!("<!-- nectr:review event={id} sha={SHA}"))
    );

    let runs = runs(&app.db, id).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, "completed");
    let result: serde_json::Value =
        serde_json::from_str(runs[0].result.as_deref().unwrap()).unwrap();
    assert_eq!(
        (
            result["review_id"].as_u64(),
            result["inline_comments"].as_u64()
        ),
        (Some(1000), Some(2))
    );
    assert_eq!(result["reviewer"], "builtin");
}

async fn the_anthropic_reviewer_reviews_through_the_same_pipeline(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github.serve_diff(REPO, 7, DIFF).await;
    github.accept_reviews(REPO, 7).await;
    let anthropic = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": [{"type": "tool_use", "id": "t1", "name": "submit_review", "input": {
                "summary": "The key must not be committed.",
                "findings": [{"path": "src/config.rs", "line": 2, "severity": "critical", "category": "security",
                              "title": "Committed AWS key", "body": "Load it from the environment.", "suggestion": null}]
            }}],
            "usage": {"input_tokens": 100, "output_tokens": 50}
        })))
        .expect(1)
        .mount(&anthropic)
        .await;
    let (gh_url, ai_url) = (github.url(), anthropic.uri());
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
            ("GITHUB_API_URL", &gh_url),
            ("NECTR_TEST_WORKERS", "1"),
            ("POLL_INTERVAL_MS", "50"),
            ("AI_PROVIDER", "anthropic"),
            ("ANTHROPIC_API_KEY", "sk-ant-test"),
            ("ANTHROPIC_BASE_URL", &ai_url),
        ],
    )
    .await
    else {
        return;
    };
    let id = deliver(&app, 7, SHA).await;
    let event = wait_for(&app.db, id, terminal).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);
    let posted = github.posted_reviews(REPO, 7).await;
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["event"], "REQUEST_CHANGES");
    let comments = posted[0]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("Committed AWS key")
    );
    let result: serde_json::Value =
        serde_json::from_str(runs(&app.db, id).await[0].result.as_deref().unwrap()).unwrap();
    assert_eq!(result["reviewer"], "anthropic");
}

async fn a_retry_after_posting_posts_nothing_more(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github.serve_diff(REPO, 7, DIFF).await;
    // The first attempt posted its review, then the process died before recording it. A fresh
    // database's first event is id 1.
    let earlier = json!({
        "id": 555, "user": {"login": "nectr-bot"}, "state": "COMMENTED", "commit_id": SHA,
        "html_url": "https://github.com/acme/backend/pull/7#pullrequestreview-555",
        "body": format!("## nectr review\n\n<!-- nectr:review event=1 sha={SHA} findings=abc -->"),
    });
    github.keep_reviews(REPO, 7, vec![earlier]).await;
    let Some(app) = app_with_workers(backend, &github).await else {
        return;
    };
    let id = deliver(&app, 7, SHA).await;
    assert_eq!(id, 1);
    let event = wait_for(&app.db, id, terminal).await;
    assert_eq!(event.status, "completed");
    assert!(
        github.posted_reviews(REPO, 7).await.is_empty(),
        "no second review"
    );
    let result: serde_json::Value =
        serde_json::from_str(runs(&app.db, id).await[0].result.as_deref().unwrap()).unwrap();
    assert_eq!(
        (
            result["review_id"].as_u64(),
            result["already_posted"].as_bool()
        ),
        (Some(555), Some(true))
    );
}

async fn a_closed_pull_request_is_skipped_and_a_moved_one_superseded(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 1, SHA, "closed").await;
    github
        .serve_pull_request(REPO, 2, &"b".repeat(40), "open")
        .await;
    let Some(app) = app_with_workers(backend, &github).await else {
        return;
    };
    let closed = deliver(&app, 1, SHA).await;
    let moved = deliver(&app, 2, SHA).await;
    assert_eq!(wait_for(&app.db, closed, terminal).await.status, "skipped");
    let moved = wait_for(&app.db, moved, terminal).await;
    assert_eq!(moved.status, "superseded");
    assert!(moved.reason.unwrap().contains("moved to bbbb"));
}

async fn a_transient_failure_is_retried_later_and_a_permanent_one_fails(backend: Backend) {
    let github = FakeGitHub::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/1")))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({"message": "Server Error"})))
        .mount(&github.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/2")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&github.server)
        .await;
    let Some(app) = app_with_workers(backend, &github).await else {
        return;
    };
    let flaky = deliver(&app, 1, SHA).await;
    let gone = deliver(&app, 2, SHA).await;
    let retried = wait_for(&app.db, flaky, |e| e.status == "pending" && e.attempts == 1).await;
    assert!(retried.last_error.as_deref().unwrap().contains("502"));
    let run_at = retried.run_at.unwrap();
    assert!(
        run_at > Utc::now() + chrono::Duration::seconds(3),
        "backoff puts the retry in the future: {run_at}"
    );
    assert_eq!(runs(&app.db, flaky).await[0].outcome, "retry");
    let failed = wait_for(&app.db, gone, terminal).await;
    assert_eq!(failed.status, "failed");
    assert!(failed.last_error.unwrap().contains("not found"));
    assert_eq!(failed.attempts, 1, "a permanent error is not retried");
}

/// A handler that records which events it ran and can be slowed down.
#[derive(Default)]
struct Recorder {
    seen: Mutex<HashMap<i64, u32>>,
    delay: Duration,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn handle(&self, job: &Job) -> JobResult {
        *self.seen.lock().unwrap().entry(job.event_id).or_default() += 1;
        tokio::time::sleep(self.delay).await;
        JobResult::Completed {
            result: json!({"ok": true}),
        }
    }
}

/// Queues `count` review events straight through the webhook endpoint.
async fn queue_events(app: &TestApp, count: u64) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 1..=count {
        ids.push(deliver(app, n, SHA).await);
    }
    ids
}

async fn an_expired_lease_is_reclaimed_by_another_worker(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let [id] = queue_events(&app, 1).await[..] else {
        unreachable!()
    };
    // A worker claims it with a short lease, then dies (never finishes, never heartbeats).
    let claimed = app
        .db
        .claim("dead-worker", Utc::now(), Duration::from_secs(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|j| j.event_id).collect::<Vec<_>>(), [id]);
    assert!(
        app.db
            .claim("other", Utc::now(), Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "a leased event is not claimed twice"
    );
    assert_eq!(
        app.db
            .reclaim_expired(Utc::now(), RetryPolicy::default())
            .await
            .unwrap(),
        0,
        "a live lease is not reclaimed"
    );
    let later = Utc::now() + chrono::Duration::seconds(2);
    assert_eq!(
        app.db
            .reclaim_expired(later, RetryPolicy::default())
            .await
            .unwrap(),
        1
    );
    let event = events::Entity::find_by_id(id)
        .one(app.db.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.status, "pending");
    assert!(event.last_error.unwrap().contains("lease expired"));
    let again = app
        .db
        .claim("other", later, Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 2, "the dead worker's attempt counts");
    // Out of attempts, an expired lease fails the event instead.
    let much_later = later + chrono::Duration::seconds(120);
    assert_eq!(
        app.db
            .reclaim_expired(
                much_later,
                RetryPolicy {
                    max_attempts: 2,
                    ..RetryPolicy::default()
                }
            )
            .await
            .unwrap(),
        1
    );
    let event = events::Entity::find_by_id(id)
        .one(app.db.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.status, "failed");
}

async fn shutdown_releases_unfinished_work(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let [id] = queue_events(&app, 1).await[..] else {
        unreachable!()
    };
    let handler = Arc::new(Recorder {
        delay: Duration::from_secs(30),
        ..Recorder::default()
    });
    let config = WorkerConfig {
        workers: 1,
        poll_interval: Duration::from_millis(20),
        grace: Duration::from_millis(200),
        ..WorkerConfig::default()
    };
    let pool = WorkerPool::start(
        "test",
        Arc::new(app.db.clone()),
        handler.clone(),
        config,
        app.db.work_signal(),
    );
    wait_for(&app.db, id, |e| e.status == "processing").await;
    let started = std::time::Instant::now();
    pool.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waits for the grace period, not the work"
    );
    let event = events::Entity::find_by_id(id)
        .one(app.db.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (event.status.as_str(), event.attempts),
        ("pending", 0),
        "released, the attempt not counted"
    );
    assert!(event.lease_owner.is_none());
    assert!(runs(&app.db, id).await.is_empty());
}

async fn two_worker_pools_drain_a_thousand_events_running_each_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let count = 1000;
    let ids = queue_events(&app, count).await;
    // Two independent pools on two independent connection pools, as two processes would have.
    let other_process = Db::connect(&database_url(&app).await, None).await.unwrap();
    let handler = Arc::new(Recorder::default());
    let config = WorkerConfig {
        workers: 4,
        poll_interval: Duration::from_millis(20),
        ..WorkerConfig::default()
    };
    let a = WorkerPool::start(
        "a",
        Arc::new(app.db.clone()),
        handler.clone(),
        config.clone(),
        app.db.work_signal(),
    );
    let b = WorkerPool::start(
        "b",
        Arc::new(other_process.clone()),
        handler.clone(),
        config,
        other_process.work_signal(),
    );
    let last = *ids.last().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let done = events::Entity::find()
            .filter(events::Column::Status.eq("completed"))
            .all(app.db.connection())
            .await
            .unwrap()
            .len();
        if done == ids.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {done} of {count} completed (last id {last})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.shutdown().await;
    b.shutdown().await;
    let seen = handler.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), ids.len(), "every event ran");
    assert!(seen.values().all(|n| *n == 1), "no event ran twice");
    let runs = event_runs::Entity::find()
        .all(app.db.connection())
        .await
        .unwrap();
    assert_eq!(runs.len(), ids.len());
    let workers: std::collections::HashSet<&str> = runs
        .iter()
        .map(|r| r.worker.split('-').next().unwrap())
        .collect();
    assert_eq!(workers.len(), 2, "both pools took work");
}

async fn database_url(app: &TestApp) -> String {
    app.database_url.clone()
}

/// PostgreSQL only: SQLite has no LISTEN/NOTIFY, and there polling (`POLL_INTERVAL_MS`) covers work
/// queued by another process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_queued_by_one_process_wakes_the_idle_workers_of_another_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let other_process = Db::connect(&app.database_url, None).await.unwrap();
    let handler = Arc::new(Recorder::default());
    // Polling once a minute: only a notification can start the work within the test's patience.
    let config = WorkerConfig {
        workers: 1,
        poll_interval: Duration::from_secs(60),
        ..WorkerConfig::default()
    };
    let pool = WorkerPool::start(
        "listener",
        Arc::new(other_process.clone()),
        handler.clone(),
        config,
        other_process.work_signal(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = deliver(&app, 1, SHA).await;
    let started = std::time::Instant::now();
    let event = wait_for(&app.db, id, terminal).await;
    assert_eq!(event.status, "completed");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken by NOTIFY, not by polling"
    );
    pool.shutdown().await;
}
