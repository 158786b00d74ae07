//! Prometheus metrics through the `metrics` facade and its Prometheus exporter: recorded where
//! things happen (deliveries in the webhook routes, jobs in the workers, GitHub's rate limit in its
//! adapter), and the store's gauges (queue depth, the oldest pending job, pool use) read at scrape
//! time. `GET /metrics` renders them in Prometheus's text format.

use std::sync::OnceLock;
use std::time::Duration;

use domain::health::StoreStats;
use domain::queue::{Job, JobResult};
use domain::webhook::IngestOutcome;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Seconds: from a millisecond to a minute (ingest), and to an hour (jobs).
const INGEST_BUCKETS: [f64; 12] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];
const JOB_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

/// The process's recorder, installed once (every application in a process shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("nectr_ingest_seconds".into()),
                &INGEST_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full("nectr_job_seconds".into()), &JOB_BUCKETS)
            })
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "a metrics recorder was installed before nectr's; /metrics may be empty"
            );
        }
        describe();
        handle
    })
}

fn describe() {
    describe_counter!(
        "nectr_deliveries_total",
        "Webhook requests by provider, outcome and cause"
    );
    describe_histogram!(
        "nectr_ingest_seconds",
        "Time from a webhook body read to its answer"
    );
    describe_counter!("nectr_jobs_total", "Job attempts by kind and outcome");
    describe_histogram!("nectr_job_seconds", "Time one job attempt took, by kind");
    describe_counter!(
        "nectr_model_tokens_total",
        "Model tokens by model and direction"
    );
    describe_gauge!(
        "nectr_model_cost_usd_total",
        "Model cost in dollars by model, since the process started"
    );
    describe_gauge!(
        "nectr_queue_events",
        "Events in flight by status and job kind"
    );
    describe_gauge!(
        "nectr_queue_oldest_pending_seconds",
        "Age of the oldest pending event (0 with none)"
    );
    describe_gauge!("nectr_db_pool_connections", "Database connections by state");
    describe_gauge!(
        "nectr_github_rate_limit_remaining",
        "GitHub's remaining requests, as its last answer said"
    );
}

/// One webhook request's answer.
pub fn delivery(provider: &'static str, outcome: &IngestOutcome, took: Duration) {
    let (outcome, cause) = match outcome {
        IngestOutcome::Received { .. } => ("received", "none"),
        IngestOutcome::Ignored { .. } => ("ignored", "none"),
        IngestOutcome::DuplicateSkipped { .. } => ("duplicate_skipped", "none"),
        IngestOutcome::Pong { .. } => ("pong", "none"),
        IngestOutcome::Rejected(cause) => ("rejected", cause.cause()),
    };
    counter!("nectr_deliveries_total", "provider" => provider, "outcome" => outcome, "cause" => cause)
        .increment(1);
    histogram!("nectr_ingest_seconds", "provider" => provider).record(took.as_secs_f64());
}

/// One job attempt's end: its outcome, its time, and a review's tokens and cost.
pub fn job(job: &Job, result: &JobResult, took: Duration) {
    let kind = job.kind.as_str();
    let outcome = match result {
        JobResult::Completed { .. } => "completed",
        JobResult::Skipped { .. } => "skipped",
        JobResult::Superseded { .. } => "superseded",
        JobResult::Transient { .. } => "transient",
        JobResult::Permanent { .. } => "permanent",
    };
    counter!("nectr_jobs_total", "kind" => kind, "outcome" => outcome).increment(1);
    histogram!("nectr_job_seconds", "kind" => kind).record(took.as_secs_f64());
    if let JobResult::Completed { result } = result {
        let model = result["model"]
            .as_str()
            .unwrap_or(result["reviewer"].as_str().unwrap_or("none"))
            .to_owned();
        for (direction, key) in [("input", "input_tokens"), ("output", "output_tokens")] {
            if let Some(tokens) = result[key].as_u64() {
                counter!("nectr_model_tokens_total", "model" => model.clone(), "direction" => direction)
                    .increment(tokens);
            }
        }
        if let Some(usd) = result["cost_usd"].as_f64() {
            // Dollars are fractional: a gauge that only ever grows (Prometheus counters are
            // integers in this exporter).
            gauge!("nectr_model_cost_usd_total", "model" => model).increment(usd);
        }
    }
}

/// The store's gauges, set just before a scrape renders them.
pub fn store(stats: &StoreStats, now: chrono::DateTime<chrono::Utc>) {
    for status in ["pending", "processing"] {
        for kind in domain::queue::JobKind::ALL {
            let count = stats
                .in_flight
                .iter()
                .find(|(s, k, _)| s == status && k == kind.as_str())
                .map_or(0, |(_, _, n)| *n);
            gauge!("nectr_queue_events", "status" => status, "kind" => kind.as_str())
                .set(count as f64);
        }
    }
    let age = stats.oldest_pending.map_or(0.0, |at| {
        (now - at).num_milliseconds().max(0) as f64 / 1000.0
    });
    gauge!("nectr_queue_oldest_pending_seconds").set(age);
    gauge!("nectr_db_pool_connections", "state" => "open").set(f64::from(stats.pool_size));
    gauge!("nectr_db_pool_connections", "state" => "idle").set(f64::from(stats.pool_idle));
}
