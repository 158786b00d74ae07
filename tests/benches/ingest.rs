//! `just bench-ingest`: the release server (`target/release/app-server serve --no-workers`, its own
//! process) under load on the webhook endpoint, beside the same database's own rate for the same rows
//! measured in the same run, on SQLite and on PostgreSQL.
//!
//! Every request posts the corpus's `pull_request/opened.json` (28 KB) with a PR number and delivery
//! id of its own, signed: each is a new review, so the whole path (verify, parse, record the event and
//! its delivery-log row, commit) is measured, never the cheaper duplicate path. Per database:
//! - **baseline**: the database alone storing the same rows, one delivery per commit. SQLite: Python's
//!   `sqlite3` inserting the event row and its log row per commit into a nectr database
//!   (`synchronous=FULL`, WAL), and 32 deliveries per commit for reference. PostgreSQL: `pgbench`
//!   inserting the same event row, one insert per commit, with the same client count as the load;
//! - **ceiling**: the bare `/livez` route's rate under the same load generator;
//! - **saturation**: `wrk`, 32 connections for 5 s (`BENCH_CONCURRENCY`, `BENCH_SECONDS`);
//! - **latency**: an open-loop generator at 1,000 requests/s for 10 s (`BENCH_RATE`), latency taken
//!   from each request's scheduled start so a stall is not hidden by the generator slowing down;
//! - the server's peak RSS (`VmHWM`), and the events stored against the deliveries answered.
//!
//! Client and server share this machine's cores. Without `wrk` on the PATH (`apt-get install wrk`)
//! saturation is driven by this process instead, which takes a larger share of the cores.
//! Env: `BENCH_ONLY` (`sqlite` or `postgres`), `NECTR_TEST_POSTGRES_URL`, `NECTR_BENCH_SERVER` (the
//! server binary; default the workspace's `target/release/app-server`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters_db::Db;
use adapters_db::entities::events;
use nectr_tests::{
    Backend, CORPUS_SECRET, TEST_ENCRYPTION_KEYS, TEST_SESSION_KEY, corpus, fresh_database, sign,
};
use sea_orm::{EntityTrait, PaginatorTrait};
use tokio::sync::Mutex;

/// The PR numbers (and delivery ids) each phase uses: never the same delivery twice in a run.
const WRK_FIRST: u64 = 100_000;
const WRK_COUNT: u64 = 200_000;
const RATE_FIRST: u64 = 1_000_000;
const WARM_FIRST: u64 = 2_000_000;

/// The corpus body, cut where the PR number goes.
struct Template {
    parts: Vec<String>,
}

impl Template {
    fn load() -> Self {
        let file = corpus("pull_request")
            .into_iter()
            .find(|f| f.path.ends_with("/opened.json"))
            .unwrap();
        let text = String::from_utf8(file.bytes).unwrap();
        Self {
            parts: text.split("\"number\": 2,").map(|p| p.to_owned()).collect(),
        }
    }

    fn body(&self, number: u64) -> String {
        self.parts.join(&format!("\"number\": {number},"))
    }
}

fn delivery(number: u64) -> String {
    format!("00000000-0000-4000-8000-{number:012}")
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// The release server as a child process.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(database_url: &str) -> Self {
        let binary = std::env::var_os("NECTR_BENCH_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
                    || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
                    PathBuf::from,
                );
                target.join("release/app-server")
            });
        assert!(
            binary.is_file(),
            "{} is missing: build it first (`cargo build --release -p app-server`; `just bench-ingest` does)",
            binary.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["serve", "--no-workers"])
            .env_clear()
            .env("PORT", port.to_string())
            .env("DATABASE_URL", database_url)
            .env("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET)
            .env("ENCRYPTION_KEYS", TEST_ENCRYPTION_KEYS)
            .env("SESSION_KEY", TEST_SESSION_KEY)
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start app-server");
        let server = Self {
            child,
            port,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        while client.get(server.url("/livez")).send().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Peak resident memory so far, from `/proc`.
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A run's figures.
#[derive(Default)]
struct Figures {
    rate: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    requests: u64,
    failed: u64,
}

fn row(label: &str, f: &Figures, baseline: Option<f64>) {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    let ratio = baseline.map_or_else(|| "-".to_owned(), |b| format!("{:.2}x", f.rate / b));
    println!(
        "| {label:<44} | {:>9.0} | {:>8} | {:>8} | {:>8} | {:>6} | {:>8} |",
        f.rate,
        ms(f.p50_ms),
        ms(f.p99_ms),
        f.requests,
        f.failed,
        ratio
    );
}

/// `wrk` against `url` for `seconds` with `connections`, with the Lua `script` when given.
fn wrk(url: &str, connections: usize, seconds: u64, script: Option<&Path>) -> Figures {
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
        "--timeout",
        "10s",
    ]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).output().expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    let number = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    let latency = |label: &str| {
        number(label).and_then(|v| {
            let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
            let n: f64 = n.parse().ok()?;
            Some(match unit {
                "us" => n / 1000.0,
                "ms" => n,
                "s" => n * 1000.0,
                _ => return None,
            })
        })
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let failed = number("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        + number("Socket errors:").map_or(0, |v| {
            v.split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        });
    Figures {
        rate: number("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50_ms: latency("50%"),
        p99_ms: latency("99%"),
        requests,
        failed,
    }
}

/// The Lua script that has `wrk` post distinct signed deliveries: PR numbers from `WRK_FIRST`, the
/// two threads taking alternate ones, each signature computed here beforehand.
fn wrk_script(dir: &Path, template: &Template) -> PathBuf {
    // Lua drops a long string's first newline: give it one to drop.
    let long = |s: &str| format!("[==[\n{s}]==]");
    let parts: Vec<String> = template.parts.iter().map(|p| long(p)).collect();
    let signatures: String = (WRK_FIRST..WRK_FIRST + WRK_COUNT)
        .map(|n| sign(CORPUS_SECRET, template.body(n).as_bytes()) + "\n")
        .collect();
    std::fs::write(dir.join("signatures.txt"), signatures).unwrap();
    let script = format!(
        r#"
local parts = {{ {parts} }}
local first, count = {first}, {count}
local signatures = {{}}
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  for line in io.lines("{dir}/signatures.txt") do signatures[#signatures + 1] = line end
  sent = 0
end
function request()
  local i = sent * 2 + id
  sent = sent + 1
  if i >= count then i = i % count end
  local n = first + i
  local body = table.concat(parts, '"number": ' .. n .. ',')
  local headers = {{
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "pull_request",
    ["X-GitHub-Delivery"] = string.format("00000000-0000-4000-8000-%012d", n),
    ["X-Hub-Signature-256"] = signatures[i + 1],
  }}
  return wrk.format("POST", "/api/v1/webhooks/github", headers, body)
end
"#,
        parts = parts.join(", "),
        first = WRK_FIRST,
        count = WRK_COUNT,
        dir = dir.display(),
    );
    let path = dir.join("deliveries.lua");
    std::fs::write(&path, script).unwrap();
    path
}

/// Posts one delivery numbered `n`; whether it was received.
async fn post(client: &reqwest::Client, url: &str, template: &Template, n: u64) -> bool {
    let body = template.body(n);
    let signature = sign(CORPUS_SECRET, body.as_bytes());
    let sent = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", delivery(n))
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) => r.status().is_success() && r.text().await.is_ok_and(|t| t.contains("received")),
        Err(_) => false,
    }
}

/// `rate` requests a second for `seconds`, each timed from when it was due.
async fn fixed_rate(
    url: &str,
    template: Arc<Template>,
    first: u64,
    rate: u64,
    seconds: u64,
) -> Figures {
    let client = reqwest::Client::new();
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let results = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, url, template, results) = (
            client.clone(),
            url.to_owned(),
            template.clone(),
            results.clone(),
        );
        handles.push(tokio::spawn(async move {
            let ok = post(&client, &url, &template, first + i).await;
            results.lock().await.push((ok, due.elapsed()));
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let elapsed = start.elapsed();
    let results = results.lock().await;
    let mut latencies: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len() - 1))
            .map(|d| d.as_secs_f64() * 1e3)
    };
    Figures {
        rate: results.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        requests: results.len() as u64,
        failed: results.iter().filter(|(ok, _)| !ok).count() as u64,
    }
}

/// Saturation without `wrk`: `concurrency` senders from this process for `seconds`.
async fn saturate(url: &str, template: Arc<Template>, concurrency: u64, seconds: u64) -> Figures {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let handles: Vec<_> = (0..concurrency)
        .map(|c| {
            let (client, url, template) = (client.clone(), url.to_owned(), template.clone());
            tokio::spawn(async move {
                let (mut sent, mut failed) = (0u64, 0u64);
                while Instant::now() < deadline {
                    let n = WRK_FIRST + sent * concurrency + c;
                    failed += u64::from(!post(&client, &url, &template, n).await);
                    sent += 1;
                }
                (sent, failed)
            })
        })
        .collect();
    let (mut sent, mut failed) = (0, 0);
    for h in handles {
        let (s, f) = h.await.unwrap();
        sent += s;
        failed += f;
    }
    Figures {
        rate: sent as f64 / start.elapsed().as_secs_f64(),
        requests: sent,
        failed,
        ..Figures::default()
    }
}

/// A fresh database with nectr's tables, for a baseline or a server.
async fn migrated(backend: Backend) -> Option<(String, nectr_tests::DbGuard)> {
    let (url, guard) = fresh_database(backend).await?;
    let db = Db::connect(&url, None).await.unwrap();
    db.migrate().await.unwrap();
    db.close().await.unwrap();
    Some((url, guard))
}

const SQLITE_BASELINE: &str = r#"
import json, sqlite3, sys, time
path, payload_path, count, per_commit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
payload = open(payload_path, encoding="utf-8").read()
headers = json.dumps({"content-type": "application/json", "x-github-event": "pull_request",
                      "x-github-delivery": "00000000-0000-4000-8000-000000000000",
                      "x-hub-signature-256": "[redacted]", "user-agent": "GitHub-Hookshot/bench"})
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
now = "2026-12-06 00:00:00.000000+00:00"
start = time.perf_counter()
for i in range(count):
    if i % per_commit == 0:
        db.execute("BEGIN IMMEDIATE")
    delivery = "baseline-%d-%d" % (per_commit, i)
    cur = db.execute(
        "INSERT INTO events (delivery_id, event_name, action, event_type, repository, pr_number, head_sha,"
        " pr_updated_at, sender, status, payload, attempts, run_at, created_at, updated_at, job, provider)"
        " VALUES (?, 'pull_request', 'opened', 'opened_pull_request', 'acme/bench', ?, ?, ?, 'dev',"
        " 'pending', ?, 0, ?, ?, ?, 'review', 'github')",
        (delivery, i + per_commit * 10000000, "%040d" % i, now, payload, now, now, now))
    db.execute(
        "INSERT INTO deliveries (delivery_id, event, action, repository, outcome, status_code, event_id,"
        " headers, body_size, body_sha256, received_at, provider)"
        " VALUES (?, 'pull_request', 'opened', 'acme/bench', 'received', 200, ?, ?, ?, ?, ?, 'github')",
        (delivery, cur.lastrowid, headers, len(payload), "0" * 64, now))
    if i % per_commit == per_commit - 1 or i == count - 1:
        db.execute("COMMIT")
print(count / (time.perf_counter() - start))
"#;

/// Python's `sqlite3` storing the same rows, `per_commit` deliveries per commit: rows per second.
async fn sqlite_baseline(dir: &Path, template: &Template, per_commit: u32) -> Option<f64> {
    let (url, _guard) = migrated(Backend::Sqlite).await?;
    let path = url.trim_start_matches("sqlite://").to_owned();
    let payload = dir.join("payload.json");
    std::fs::write(&payload, template.body(2)).unwrap();
    let output = Command::new("python3")
        .args(["-c", SQLITE_BASELINE, &path])
        .arg(&payload)
        .args(["5000", &per_commit.to_string()])
        .output()
        .ok()?;
    if !output.status.success() {
        println!(
            "SQLite baseline failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// `pgbench` inserting the same event row, one insert per commit, `clients` clients, 5 s:
/// transactions per second.
async fn postgres_baseline(dir: &Path, template: &Template, clients: usize) -> Option<f64> {
    let (url, _guard) = migrated(Backend::Postgres).await?;
    let script = "\\set nectr_pr random(1, 2000000000)\n\
         INSERT INTO events (delivery_id, event_name, action, event_type, repository, pr_number, head_sha, \
         pr_updated_at, sender, status, payload, attempts, run_at, created_at, updated_at, job, provider) \
         VALUES (gen_random_uuid()::text, 'pull_request', 'opened', 'opened_pull_request', 'acme/bench', \
         :nectr_pr, md5(random()::text) || '01234567', now(), 'dev', 'pending', :payload, 0, now(), now(), \
         now(), 'review', 'github') ON CONFLICT DO NOTHING;\n";
    let path = dir.join("pgbench.sql");
    std::fs::write(&path, script).unwrap();
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2", "-T", "5"])
        // The body is bound as a parameter, as nectr binds it.
        .arg(format!("-Dpayload={}", template.body(2)))
        .arg(format!("-c{clients}"))
        .arg("-f")
        .arg(&path)
        .arg("-d")
        .arg(url.split('?').next().unwrap_or(&url))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2)?.parse().ok());
    if tps.is_none() {
        println!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    tps
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    app_server::install_crypto_provider();
    let rate: u64 = env_or("BENCH_RATE", 1000);
    let seconds: u64 = env_or("BENCH_SECONDS", 5);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let only = std::env::var("BENCH_ONLY")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let template = Arc::new(Template::load());
    let dir = tempfile::tempdir().unwrap();
    let has_wrk = which("wrk").is_some();
    let script = has_wrk.then(|| wrk_script(dir.path(), &template));
    println!(
        "\nnectr ingest benchmark: {} KB signed pull_request deliveries, each new; load by {}, {concurrency} connections for {seconds} s; latency at {rate}/s for 10 s\n",
        template.body(2).len() / 1024,
        if has_wrk {
            "wrk"
        } else {
            "this process (no wrk on the PATH: apt-get install wrk)"
        },
    );
    println!(
        "| {:<44} | {:>9} | {:>8} | {:>8} | {:>8} | {:>6} | {:>8} |",
        "run", "req/s", "p50 ms", "p99 ms", "requests", "failed", "vs base"
    );
    println!(
        "|{:-<46}|{:->11}|{:->10}|{:->10}|{:->10}|{:->8}|{:->10}|",
        "", "", "", "", "", "", ""
    );
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let name = format!("{backend:?}");
        if !only.is_empty() && !name.to_ascii_lowercase().contains(&only) {
            continue;
        }
        let baseline = match backend {
            Backend::Sqlite => {
                let one = sqlite_baseline(dir.path(), &template, 1).await;
                let batched = sqlite_baseline(dir.path(), &template, 32).await;
                if let Some(rate) = batched {
                    let f = Figures {
                        rate,
                        requests: 5000,
                        ..Figures::default()
                    };
                    row("SQLite alone, 32 deliveries per commit", &f, one);
                }
                one.inspect(|&rate| {
                    let f = Figures {
                        rate,
                        requests: 5000,
                        ..Figures::default()
                    };
                    row("SQLite alone, 1 delivery per commit (base)", &f, None);
                })
            }
            Backend::Postgres => {
                let tps = postgres_baseline(dir.path(), &template, concurrency).await;
                if let Some(rate) = tps {
                    let f = Figures {
                        rate,
                        ..Figures::default()
                    };
                    row(
                        &format!("pgbench, 1 insert per commit, {concurrency} clients (base)"),
                        &f,
                        None,
                    );
                }
                tps
            }
        };
        let Some((url, _guard)) = fresh_database(backend).await else {
            println!("| {name}: PostgreSQL not reachable, skipped |");
            continue;
        };
        let server = Server::start(&url).await;
        let webhook = server.url("/api/v1/webhooks/github");
        // Warm up: connections, caches, the first pages of the tables.
        fixed_rate(&webhook, template.clone(), WARM_FIRST, 200, 1).await;
        let (ceiling, saturated) = match &script {
            Some(script) => (
                wrk(&server.url("/livez"), concurrency, seconds, None),
                wrk(&webhook, concurrency, seconds, Some(script)),
            ),
            None => (
                Figures::default(),
                saturate(&webhook, template.clone(), concurrency as u64, seconds).await,
            ),
        };
        if has_wrk {
            row(&format!("{name} /livez (HTTP ceiling)"), &ceiling, baseline);
        }
        row(
            &format!("{name} webhook, {concurrency} connections"),
            &saturated,
            baseline,
        );
        let steady = fixed_rate(&webhook, template.clone(), RATE_FIRST, rate, 10).await;
        row(&format!("{name} webhook @{rate}/s"), &steady, None);
        let db = Db::connect(&url, None).await.unwrap();
        let stored = events::Entity::find().count(db.connection()).await.unwrap();
        db.close().await.unwrap();
        println!(
            "| {name}: server peak RSS {:.0} MB; {stored} events stored for {} deliveries answered |",
            server.peak_rss_mb(),
            200 + saturated.requests - saturated.failed + steady.requests - steady.failed,
        );
    }
    println!();
}
