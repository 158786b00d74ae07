//! `just bench-ingest`: load on the webhook endpoint, side by side with a bare `200 OK` route (`/livez`) of the
//! same server, on SQLite and on PostgreSQL.
//!
//! Each request posts the corpus's `pull_request/opened.json` (28 KB) with a distinct PR number, re-signed, and
//! a fresh delivery id, so every one is a new review: the full path (verify, parse, one transaction with the
//! event and the delivery-log row, commit) is measured. Two runs per target:
//! - fixed rate (open loop, default 500 requests/s for 10 s): latency measured from each request's scheduled
//!   start, so a stall is not hidden by the generator slowing down;
//! - saturation (closed loop, 32 concurrent senders for 5 s): the most the server sustains.
//!
//! Client and server share this machine's cores; figures are for that setting.
//! Env: `BENCH_RATE`, `BENCH_SECONDS`, `BENCH_CONCURRENCY`, `BENCH_ONLY` (`sqlite` or `postgres`),
//! `NECTR_TEST_POSTGRES_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use nectr_tests::{Backend, CORPUS_SECRET, TestApp, corpus, delivery_id, sign};
use tokio::sync::Mutex;

#[derive(Clone, Copy, Debug)]
enum Target {
    Webhook,
    Bare,
}

struct Payloads {
    bodies: Vec<(Vec<u8>, String)>,
    next: std::sync::atomic::AtomicUsize,
}

impl Payloads {
    fn new(count: usize) -> Self {
        let template = corpus("pull_request")
            .into_iter()
            .find(|f| f.path.ends_with("/opened.json"))
            .unwrap();
        let text = String::from_utf8(template.bytes).unwrap();
        let bodies = (0..count)
            .map(|i| {
                let body = text
                    .replace("\"number\": 2,", &format!("\"number\": {},", 1000 + i))
                    .into_bytes();
                let signature = sign(CORPUS_SECRET, &body);
                (body, signature)
            })
            .collect();
        Self {
            bodies,
            next: Default::default(),
        }
    }

    fn take(&self) -> &(Vec<u8>, String) {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.bodies[i % self.bodies.len()]
    }
}

async fn one(app: &TestApp, payloads: &Payloads, target: Target) -> bool {
    // Only webhook requests use up distinct PR numbers; the bare route gets the same body each time.
    let (body, signature) = match target {
        Target::Webhook => payloads.take(),
        Target::Bare => &payloads.bodies[0],
    };
    let request = match target {
        Target::Webhook => app
            .client
            .post(app.webhook_url())
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", delivery_id())
            .header("X-Hub-Signature-256", signature),
        Target::Bare => app.client.post(format!("{}/livez", app.address)),
    };
    match request.body(body.clone()).send().await {
        Ok(response) => {
            let ok = response.status().is_success();
            let text = response.text().await.unwrap_or_default();
            let ok = ok && (matches!(target, Target::Bare) || text.contains("\"received\""));
            if !ok {
                report_failure(&text);
            }
            ok
        }
        Err(e) => {
            report_failure(&e.to_string());
            false
        }
    }
}

/// Prints the first failure of a run (answers are never secret here: synthetic payloads).
fn report_failure(what: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        eprintln!(
            "first failure: {}",
            what.chars().take(300).collect::<String>()
        )
    });
}

struct Stats {
    sent: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn row(&self, label: &str) -> String {
        let mut l = self.latencies.clone();
        l.sort();
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        format!(
            "| {label:<34} | {:>8.0} | {:>8.2} | {:>8.2} | {:>8.2} | {:>6} | {:>6} |",
            self.sent as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            l.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            self.sent,
            self.failed,
        )
    }
}

async fn fixed_rate(
    app: Arc<TestApp>,
    payloads: Arc<Payloads>,
    target: Target,
    rate: u64,
    seconds: u64,
) -> Stats {
    let total = (rate * seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let results = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let (app, payloads, results) = (app.clone(), payloads.clone(), results.clone());
        handles.push(tokio::spawn(async move {
            let ok = one(&app, &payloads, target).await;
            results.lock().await.push((ok, scheduled.elapsed()));
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let elapsed = start.elapsed();
    let results = results.lock().await;
    Stats {
        sent: results.len(),
        failed: results.iter().filter(|(ok, _)| !ok).count(),
        elapsed,
        latencies: results.iter().map(|(_, d)| *d).collect(),
    }
}

async fn saturate(
    app: Arc<TestApp>,
    payloads: Arc<Payloads>,
    target: Target,
    concurrency: usize,
    seconds: u64,
) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let handles: Vec<_> = (0..concurrency)
        .map(|_| {
            let (app, payloads) = (app.clone(), payloads.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = one(&app, &payloads, target).await;
                    out.push((ok, t.elapsed()));
                }
                out
            })
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.extend(h.await.unwrap());
    }
    Stats {
        sent: results.len(),
        failed: results.iter().filter(|(ok, _)| !ok).count(),
        elapsed: start.elapsed(),
        latencies: results.iter().map(|(_, d)| *d).collect(),
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let rate: u64 = env_or("BENCH_RATE", 500);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let payloads = Arc::new(Payloads::new(((rate * seconds) as usize).max(20_000)));
    println!(
        "\nnectr ingest benchmark: {} KB signed PR payloads, {rate} req/s for {seconds} s, then {concurrency} concurrent senders for 5 s\n",
        payloads.bodies[0].0.len() / 1024
    );
    println!(
        "| {:<34} | {:>8} | {:>8} | {:>8} | {:>8} | {:>6} | {:>6} |",
        "run", "req/s", "p50 ms", "p99 ms", "max ms", "sent", "failed"
    );
    println!(
        "|{:-<36}|{:->10}|{:->10}|{:->10}|{:->10}|{:->8}|{:->8}|",
        "", "", "", "", "", "", ""
    );
    let only = std::env::var("BENCH_ONLY")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if !only.is_empty() && !format!("{backend:?}").to_ascii_lowercase().contains(&only) {
            continue;
        }
        let Some(app) = TestApp::spawn(backend).await else {
            println!("| {backend:?}: PostgreSQL not reachable, skipped |");
            continue;
        };
        let app = Arc::new(app);
        // Warm up connections and caches.
        saturate(app.clone(), payloads.clone(), Target::Webhook, 4, 1).await;
        for target in [Target::Bare, Target::Webhook] {
            let stats = fixed_rate(app.clone(), payloads.clone(), target, rate, seconds).await;
            println!(
                "{}",
                stats.row(&format!("{backend:?} {target:?} @{rate}/s"))
            );
            let stats = saturate(app.clone(), payloads.clone(), target, concurrency, 5).await;
            println!(
                "{}",
                stats.row(&format!("{backend:?} {target:?} saturated x{concurrency}"))
            );
        }
    }
    println!();
}
