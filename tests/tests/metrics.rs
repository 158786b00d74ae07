//! Operators' endpoints, on SQLite and PostgreSQL: `/metrics` in Prometheus's text format (read by a
//! Prometheus text parser) behind `METRICS_TOKEN`, with deliveries, ingest latency, jobs, the queue
//! and the pool; `/readyz` once the database answers with every migration applied.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{Backend, CORPUS_SECRET, StatusCode, TestApp, delivery_id, on_both_backends};
use prometheus_parse::{Sample, Scrape, Value};

on_both_backends!(metrics_are_scraped_by_a_prometheus_parser_and_readiness_is_told,);

const REPO: &str = "acme/backend";
const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn value(sample: &Sample) -> f64 {
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
        Value::Summary(_) => 0.0,
    }
}

/// The sum of `metric`'s samples whose labels include every one of `labels`.
fn total(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(value)
        .sum()
}

async fn metrics_are_scraped_by_a_prometheus_parser_and_readiness_is_told(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github
        .serve_diff(REPO, 7, "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1 +1,2 @@\n fn a() {}\n+fn b() {}\n")
        .await;
    github.accept_reviews(REPO, 7).await;
    let url = github.url();
    let vars = [
        ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
        ("GITHUB_API_URL", url.as_str()),
        ("METRICS_TOKEN", "scrape-me-please"),
    ];
    let Some(app) = TestApp::spawn_with(backend, &vars).await else {
        return;
    };
    let id = app.deliver_pull_request(REPO, 7, SHA, "opened").await;
    assert_eq!(app.finished_event(id).await.status, "completed");
    let forged = app
        .deliver(
            "pull_request",
            &delivery_id(),
            b"{}",
            Some(&format!("sha256={}", "0".repeat(64))),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let address = &app.address;
    let refused = app
        .client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let answer = app
        .client
        .get(format!("{address}/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = answer.text().await.unwrap();
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    let github_received = [("provider", "github"), ("outcome", "received")];
    assert!(
        total(&scrape, "nectr_deliveries_total", &github_received) >= 1.0,
        "{text}"
    );
    let forged_labels = [("outcome", "rejected"), ("cause", "signature_mismatch")];
    assert!(
        total(&scrape, "nectr_deliveries_total", &forged_labels) >= 1.0,
        "{text}"
    );
    assert!(
        total(
            &scrape,
            "nectr_ingest_seconds_count",
            &[("provider", "github")]
        ) >= 2.0,
        "{text}"
    );
    let reviewed = [("kind", "review"), ("outcome", "completed")];
    assert!(
        total(&scrape, "nectr_jobs_total", &reviewed) >= 1.0,
        "{text}"
    );
    assert!(total(&scrape, "nectr_job_seconds_count", &[("kind", "review")]) >= 1.0);
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "nectr_queue_events" && s.labels.get("status") == Some("pending")),
        "{text}"
    );
    assert!(
        total(&scrape, "nectr_db_pool_connections", &[("state", "open")]) >= 1.0,
        "{text}"
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "nectr_queue_oldest_pending_seconds")
    );
    assert!(
        scrape.docs.contains_key("nectr_deliveries_total"),
        "described"
    );

    let ready = app
        .client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}
