//! `just bench-queue`: claimed+completed jobs per second through the durable queue with a no-op handler,
//! on SQLite (one process) and PostgreSQL (one process, and two as two pools on one database).
//! Env: `BENCH_JOBS` (default 5000), `BENCH_WORKERS` (per process, default 4), `BENCH_ONLY`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters_db::entities::events;
use adapters_db::{Db, WriteBatching};
use app_server::workers::{WorkerConfig, WorkerPool};
use async_trait::async_trait;
use chrono::Utc;
use domain::queue::{Job, JobHandler, JobResult};
use nectr_tests::{Backend, TestApp};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

struct NoOp;

#[async_trait]
impl JobHandler for NoOp {
    async fn handle(&self, _job: &Job) -> JobResult {
        JobResult::Completed {
            result: serde_json::Value::Null,
        }
    }
}

async fn queue_jobs(db: &Db, count: usize) {
    let now = Utc::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let rows = chunk.iter().map(|i| events::ActiveModel {
            delivery_id: Set(format!("bench-{i}")),
            event_name: Set("pull_request".into()),
            action: Set(Some("opened".into())),
            event_type: Set("opened_pull_request".into()),
            repository: Set(Some("acme/backend".into())),
            pr_number: Set(Some(*i as i64 + 1)),
            head_sha: Set(Some("a".repeat(40))),
            pr_updated_at: Set(None),
            sender: Set(Some("dev".into())),
            status: Set("pending".into()),
            reason: Set(None),
            payload: Set("{}".into()),
            attempts: Set(0),
            run_at: Set(Some(now)),
            lease_expires_at: Set(None),
            lease_owner: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            processed_at: Set(None),
            ..Default::default()
        });
        events::Entity::insert_many(rows)
            .exec(db.connection())
            .await
            .unwrap();
    }
}

async fn drain(app: &TestApp, processes: usize, workers: usize, jobs: usize) -> f64 {
    queue_jobs(&app.db, jobs).await;
    let config = WorkerConfig {
        workers,
        poll_interval: Duration::from_millis(10),
        ..WorkerConfig::default()
    };
    let started = Instant::now();
    let mut pools = Vec::new();
    let batching = WriteBatching {
        writers: std::env::var("BENCH_WRITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(WriteBatching::default().writers),
        ..WriteBatching::default()
    };
    for p in 0..processes {
        // Each "process" has its own connection pool.
        let db = Db::connect_with(&app.database_url, None, batching)
            .await
            .unwrap();
        let signal = db.work_signal();
        pools.push(WorkerPool::start(
            &format!("p{p}"),
            Arc::new(db),
            Arc::new(NoOp),
            config.clone(),
            signal,
        ));
    }
    // Polls what is left (an index range that shrinks), not what is done.
    loop {
        let left = events::Entity::find()
            .filter(events::Column::Status.is_in(["pending", "processing"]))
            .count(app.db.connection())
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    for pool in pools {
        pool.shutdown().await;
    }
    jobs as f64 / elapsed
}

#[tokio::main]
async fn main() {
    let jobs: usize = std::env::var("BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let workers: usize = std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let only = std::env::var("BENCH_ONLY")
        .unwrap_or_default()
        .to_ascii_lowercase();
    println!(
        "\nnectr queue benchmark: {jobs} jobs, no-op handler, {workers} workers per process\n"
    );
    println!(
        "| {:<12} | {:>9} | {:>12} |",
        "database", "processes", "jobs/s"
    );
    println!("|{:-<14}|{:->11}|{:->14}|", "", "", "");
    for (backend, processes) in [
        (Backend::Sqlite, 1),
        (Backend::Postgres, 1),
        (Backend::Postgres, 2),
    ] {
        if !only.is_empty() && !format!("{backend:?}").to_ascii_lowercase().contains(&only) {
            continue;
        }
        let Some(app) = TestApp::spawn(backend).await else {
            println!("| {backend:?} | skipped: not reachable |");
            continue;
        };
        let rate = drain(&app, processes, workers, jobs).await;
        println!(
            "| {:<12} | {:>9} | {:>12.0} |",
            format!("{backend:?}"),
            processes,
            rate
        );
    }
    println!();
}
