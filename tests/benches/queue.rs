//! `just bench-queue`: claimed+completed jobs per second through the durable queue with a no-op handler,
//! on SQLite (one process) and PostgreSQL (one process, and two as two pools on one database).
//! Env: `BENCH_JOBS` (default 20,000), `BENCH_WORKERS` (per process, default 64: no-op jobs need many in
//! flight to keep the queue, not the handler, the limit), `BENCH_WRITERS`, `BENCH_ONLY`.

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

/// Drains `jobs` no-op jobs with `processes` pools; jobs per second. Unless `batched`, each claim
/// takes one job and each finished job commits alone: the queue as it was before batching.
async fn drain(app: &TestApp, processes: usize, workers: usize, jobs: usize, batched: bool) -> f64 {
    queue_jobs(&app.db, jobs).await;
    let config = WorkerConfig {
        workers,
        poll_interval: Duration::from_millis(10),
        claim_batch: if batched {
            WorkerConfig::default().claim_batch
        } else {
            1
        },
        ..WorkerConfig::default()
    };
    let started = Instant::now();
    let mut pools = Vec::new();
    let batching = WriteBatching {
        writers: std::env::var("BENCH_WRITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(WriteBatching::default().writers),
        max_writes: if batched {
            WriteBatching::default().max_writes
        } else {
            1
        },
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
        .unwrap_or(128);
    let only = std::env::var("BENCH_ONLY")
        .unwrap_or_default()
        .to_ascii_lowercase();
    println!(
        "\nnectr queue benchmark: {jobs} jobs, no-op handler, {workers} workers per process; the baseline, \
         measured in the same run on {} jobs, claims one job a statement and commits each alone\n",
        jobs / 4
    );
    println!(
        "| {:<12} | {:>9} | {:>14} | {:>12} | {:>11} | {:>7} | {:>9} |",
        "database", "processes", "baseline job/s", "jobs/s", "vs baseline", "target", "vs target"
    );
    println!(
        "|{:-<14}|{:->11}|{:->16}|{:->14}|{:->13}|{:->9}|{:->11}|",
        "", "", "", "", "", "", ""
    );
    for (backend, processes, target) in [
        (Backend::Sqlite, 1, 3000.0),
        (Backend::Postgres, 1, f64::NAN),
        (Backend::Postgres, 2, 5000.0),
    ] {
        if !only.is_empty() && !format!("{backend:?}").to_ascii_lowercase().contains(&only) {
            continue;
        }
        let (Some(before), Some(after)) =
            (TestApp::spawn(backend).await, TestApp::spawn(backend).await)
        else {
            println!("| {backend:?} | skipped: not reachable |");
            continue;
        };
        let baseline = drain(&before, processes, workers, jobs / 4, false).await;
        let rate = drain(&after, processes, workers, jobs, true).await;
        let versus = |t: f64| {
            if t.is_nan() {
                "-".to_owned()
            } else {
                format!("{:.2}x", rate / t)
            }
        };
        println!(
            "| {:<12} | {:>9} | {:>14.0} | {:>12.0} | {:>10.2}x | {:>7} | {:>9} |",
            format!("{backend:?}"),
            processes,
            baseline,
            rate,
            rate / baseline,
            if target.is_nan() {
                "-".to_owned()
            } else {
                format!("{target:.0}")
            },
            versus(target)
        );
    }
    println!();
}
