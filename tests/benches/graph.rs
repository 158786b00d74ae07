//! `just bench-graph`: the knowledge graph at size. `BENCH_GRAPH_PRS` pull requests (10,000) of 20
//! files each, drawn from 2,000 paths by 200 authors, are indexed into each store. Then 200 questions
//! of 20 paths each are asked: file experts and related pull requests. Printed: the indexing cost per
//! pull request, and p50/p99 per question, beside a baseline measured in the same run (a keyed read
//! of one pull request's paths) and as a ratio to it. On PostgreSQL the questions are asked after a
//! `VACUUM ANALYZE`, the state autovacuum reaches after a bulk of inserts. Aim: under 5 ms per question on SQLite and
//! PostgreSQL. Stores: SQLite (a temporary file), PostgreSQL (`NECTR_TEST_POSTGRES_URL`, skipped
//! where unreachable), and the Bolt store on ArcadeDB (skipped where it is not installed; see
//! `nectr_tests::arcadedb`). `BENCH_ONLY=sqlite|postgres|bolt` runs one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use adapters_db::Db;
use adapters_graph::SqlGraph;
use chrono::{DateTime, Utc};
use domain::knowledge::{IndexedPullRequest, KnowledgeGraph};
use domain::webhook::values::RepoFullName;
use nectr_tests::arcadedb::ArcadeDb;
use nectr_tests::{Backend, fresh_database};
use sea_orm::ConnectionTrait;

const FILES_PER_PR: usize = 20;
const PATHS: u64 = 2_000;
const AUTHORS: u64 = 200;
const QUESTIONS: usize = 200;

/// A small deterministic generator, so every store gets the same pull requests.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }

    fn paths(&mut self) -> Vec<String> {
        let mut paths: Vec<String> = (0..FILES_PER_PR)
            .map(|_| {
                format!(
                    "src/module_{}/file_{}.rs",
                    self.next(50),
                    self.next(PATHS / 50)
                )
            })
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

fn repo() -> RepoFullName {
    RepoFullName::parse("acme/monorepo").unwrap()
}

fn pull_requests(count: u64) -> Vec<IndexedPullRequest> {
    let mut rng = Lcg(7);
    let start: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
    (1..=count)
        .map(|number| IndexedPullRequest {
            repository: repo(),
            number,
            title: format!("Change {number}"),
            author: format!("dev{}", rng.next(AUTHORS)),
            at: start + chrono::Duration::minutes(number as i64 * 60),
            merged: true,
            verdict: None,
            paths: rng.paths(),
        })
        .collect()
}

fn pct(latencies: &mut [Duration], p: f64) -> Duration {
    latencies.sort();
    let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
    latencies[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Indexes `count` pull requests, lets the store settle (`settle`: on PostgreSQL, the `VACUUM
/// ANALYZE` autovacuum runs after a bulk of inserts, which makes the covering index's scans
/// index-only), then asks the questions.
async fn measure(
    name: &str,
    graph: &dyn KnowledgeGraph,
    count: u64,
    settle: Option<&sea_orm::DatabaseConnection>,
) {
    let prs = pull_requests(count);
    let started = Instant::now();
    for pr in &prs {
        graph.index(pr).await.unwrap();
    }
    let indexing = started.elapsed();
    if let Some(db) = settle {
        for table in ["graph_files", "graph_pull_requests"] {
            db.execute_unprepared(&format!("VACUUM ANALYZE {table}"))
                .await
                .unwrap();
        }
    }

    let mut rng = Lcg(99);
    let questions: Vec<Vec<String>> = (0..QUESTIONS).map(|_| rng.paths()).collect();
    let (mut baseline, mut experts, mut related) = (Vec::new(), Vec::new(), Vec::new());
    let mut answers = 0;
    for (i, paths) in questions.iter().enumerate() {
        let number = 1 + (i as u64 * 37) % count;
        let t = Instant::now();
        graph.pull_request_paths(&repo(), number).await.unwrap();
        baseline.push(t.elapsed());
        let t = Instant::now();
        answers += graph
            .file_experts(&repo(), paths, Some("dev1".into()), 3)
            .await
            .unwrap()
            .len();
        experts.push(t.elapsed());
        let t = Instant::now();
        answers += graph
            .related_pull_requests(&repo(), paths, Some(number), 5)
            .await
            .unwrap()
            .len();
        related.push(t.elapsed());
    }
    assert!(
        answers > 0,
        "the questions found nothing: the bench measures nothing"
    );
    let base = pct(&mut baseline, 0.5);
    let ratio = |d: Duration| d.as_secs_f64() / base.as_secs_f64().max(1e-9);
    println!(
        "{name:<10} index {:>7.2} ms/PR ({count} PRs in {:.1} s)",
        ms(indexing) / count as f64,
        indexing.as_secs_f64()
    );
    println!(
        "{name:<10} baseline (one PR's paths)   p50 {:>7.3} ms  p99 {:>7.3} ms",
        ms(base),
        ms(pct(&mut baseline, 0.99))
    );
    for (label, latencies) in [("file_experts", &mut experts), ("related", &mut related)] {
        let (p50, p99) = (pct(latencies, 0.5), pct(latencies, 0.99));
        println!(
            "{name:<10} {label:<26} p50 {:>7.3} ms  p99 {:>7.3} ms  ({:.1}x / {:.1}x the baseline){}",
            ms(p50),
            ms(p99),
            ratio(p50),
            ratio(p99),
            if name == "bolt" {
                ""
            } else if p99 < Duration::from_millis(5) {
                "  under 5 ms: met"
            } else {
                "  over 5 ms: NOT met"
            }
        );
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let count: u64 = std::env::var("BENCH_GRAPH_PRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let only = std::env::var("BENCH_ONLY").ok();
    let runs = |name: &str| only.as_deref().is_none_or(|o| o == name);
    println!(
        "knowledge graph: {count} PRs x {FILES_PER_PR} files, {PATHS} paths, {AUTHORS} authors; {QUESTIONS} questions of {FILES_PER_PR} paths"
    );

    for (name, backend) in [("sqlite", Backend::Sqlite), ("postgres", Backend::Postgres)] {
        if !runs(name) {
            continue;
        }
        let Some((url, _database)) = fresh_database(backend).await else {
            println!("{name:<10} skipped: not reachable");
            continue;
        };
        let db = Db::connect(&url, None).await.unwrap();
        db.migrate().await.unwrap();
        let graph = SqlGraph::new(db.connection().clone(), db.writer().clone());
        let settle = (backend == Backend::Postgres).then_some(db.connection());
        measure(name, &graph, count, settle).await;
        db.close().await.unwrap();
    }
    if runs("bolt") {
        match ArcadeDb::start() {
            Some(server) => measure("bolt", &server.graph(), count, None).await,
            None => println!("bolt       skipped: ArcadeDB is not installed"),
        }
    }
}
