//! `just bench-limits`: the release server under the floods of the hardening issue, with a normal
//! client's latency measured beside each, against the same client's latency on the idle server in the
//! same run. The server is the real binary (its RSS and file descriptors are its own), on SQLite in a
//! temporary directory, 127.0.0.1 only. Every flood is bounded in count and time and stops by itself.
//!
//! 1. **Large forged bodies**: `BENCH_LARGE_SENDERS` (4) senders post 24 MiB bodies with a wrong
//!    signature, again and again, while `/livez` is probed. Aim: `/livez` p99 under 20 ms. The
//!    senders stand for another machine: they run at the lowest priority, so that the sending
//!    itself (over 500 MB/s of copying) takes as little as it can of the cores the server runs on.
//! 2. **Stalled connections**: `BENCH_STALLED` (20,000) connections send a webhook's head and one of
//!    28,011 declared bytes, then nothing, while `/health` is probed on fresh connections; the server's
//!    open descriptors and RSS are read from `/proc`. Aim: `/health` keeps answering.
//! 3. **Held-back bodies**: 20 connections send 25 MiB − 1 byte of a 25 MiB body, then nothing.
//!    Aim: RSS bounded by `MAX_BUFFERED_BODY_BYTES`, the rest refused `503`, `/health` answering.
//!
//! The stalling clients run in child processes of this bench (at most 10,000 connections each), so
//! that no process needs more descriptors than this machine gives one. Env: `BENCH_STALLED`,
//! `BENCH_LARGE_SENDERS`, `BENCH_SECONDS` (probe time per phase, 8).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_app-server");
const SECRET: &str = "bench-limits-secret-0123456789";
const ROLE: &str = "NECTR_LIMITS_BENCH_ROLE";
const PER_CHILD: usize = 10_000;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("stall") {
        return stall_child();
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test` lists benches; nothing to list.
    }
    let seconds = env_or("BENCH_SECONDS", 8) as u64;
    let server = Server::start();
    println!(
        "nectr limits bench: release server pid {} on {} (SQLite), {} s per phase",
        server.child.id(),
        server.address,
        seconds
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>7} {:>9} {:>6}",
        "phase", "p50 ms", "p99 ms", "max ms", "failed", "RSS MB", "fds"
    );

    let idle_livez = probe(&server, "/livez", Duration::from_secs(seconds), false);
    server.row("idle: /livez", &idle_livez);
    let idle_health = probe(&server, "/health", Duration::from_secs(seconds), true);
    server.row("idle: /health (new connection each)", &idle_health);

    let flood = large_bodies(&server, env_or("BENCH_LARGE_SENDERS", 4), seconds);
    server.row(
        &format!("{} x 24 MiB forged: /livez", flood.senders),
        &flood.probe,
    );
    println!(
        "    {} forged bodies answered ({} with 403), {:.0} MB/s of forged bodies checked",
        flood.answered,
        flood.forbidden,
        flood.answered as f64 * 24.0 / seconds as f64
    );

    let stalled = stalled_connections(&server, env_or("BENCH_STALLED", 20_000), seconds);
    server.row(
        &format!("{} stalled conns: /health (new conn)", stalled.opened),
        &stalled.probe,
    );
    println!(
        "    server: {} fds and {:.0} MB RSS at peak (idle: {} fds, {:.0} MB)",
        stalled.peak_fds, stalled.peak_rss_mb, stalled.idle_fds, stalled.idle_rss_mb
    );

    let held = held_bodies(&server, 20, seconds);
    server.row("20 x (25 MiB - 1) held back: /health", &held.probe);
    println!(
        "    server RSS peak {:.0} MB (idle {:.0} MB); answers: {}",
        held.peak_rss_mb, held.idle_rss_mb, held.answers
    );

    println!();
    let ratio =
        |a: &Probe, b: &Probe| a.pct(0.99).as_secs_f64() / b.pct(0.99).as_secs_f64().max(1e-6);
    println!(
        "/livez p99 under large forged bodies: {:.1} ms ({:.1}x idle); aim: under 20 ms",
        ms(flood.probe.pct(0.99)),
        ratio(&flood.probe, &idle_livez)
    );
    println!(
        "/health p99 under {} stalled connections: {:.1} ms ({:.1}x idle), {} failed",
        stalled.opened,
        ms(stalled.probe.pct(0.99)),
        ratio(&stalled.probe, &idle_health),
        stalled.probe.failed
    );
    println!(
        "/health p99 under held-back 25 MiB bodies: {:.1} ms ({:.1}x idle), RSS +{:.0} MB",
        ms(held.probe.pct(0.99)),
        ratio(&held.probe, &idle_health),
        held.peak_rss_mb - held.idle_rss_mb
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The release server as a child process.
struct Server {
    child: Child,
    address: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let database = format!("sqlite://{}", dir.path().join("nectr.db").display());
        let child = Command::new(BIN)
            .args(["serve", "--no-workers"])
            .env_clear()
            .env("PORT", port.to_string())
            .env("DATABASE_URL", database)
            .env("GITHUB_WEBHOOK_SECRET", SECRET)
            .env("RUST_LOG", "error")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start app-server");
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let server = Self {
            child,
            address,
            _dir: dir,
        };
        let started = Instant::now();
        while get(&server.address, "/livez", Duration::from_secs(1)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn rss_mb(&self) -> f64 {
        rss_mb(self.child.id())
    }

    fn fds(&self) -> usize {
        fds(self.child.id())
    }

    fn row(&self, label: &str, probe: &Probe) {
        println!(
            "{:<44} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>9.0} {:>6}",
            label,
            ms(probe.pct(0.5)),
            ms(probe.pct(0.99)),
            ms(probe.pct(1.0)),
            probe.failed,
            self.rss_mb(),
            self.fds()
        );
    }
}

/// A process's resident memory, from `/proc`.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A process's open descriptors, from `/proc`.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `GET` on a fresh connection; the status code.
fn get(address: &SocketAddr, path: &str, timeout: Duration) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))
}

/// Latencies of a normal client.
#[derive(Default)]
struct Probe {
    latencies: Vec<Duration>,
    failed: usize,
}

impl Probe {
    fn pct(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        let i = ((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1));
        l.get(i).copied().unwrap_or_default()
    }
}

/// 100 requests a second for `length`, each on a fresh connection (a monitoring probe), each given
/// 5 s; a failure is an error, a timeout or (with `need_ok`) a status other than 200.
fn probe(server: &Server, path: &str, length: Duration, need_ok: bool) -> Probe {
    let mut probe = Probe::default();
    let start = Instant::now();
    let mut next = start;
    while start.elapsed() < length {
        let sent = Instant::now();
        match get(&server.address, path, Duration::from_secs(5)) {
            Ok(status) if !need_ok || status == 200 => probe.latencies.push(sent.elapsed()),
            _ => probe.failed += 1,
        }
        next += Duration::from_millis(10);
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    probe
}

/// A webhook request's head.
fn webhook_head(length: usize) -> String {
    format!(
        "POST /api/v1/webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {}\r\n\
         X-Hub-Signature-256: sha256={}\r\nContent-Length: {length}\r\n\r\n",
        uuid::Uuid::new_v4(),
        "0".repeat(64)
    )
}

struct Flood {
    senders: usize,
    probe: Probe,
    answered: usize,
    forbidden: usize,
}

/// Senders post forged 24 MiB bodies (a real repository name, then a long string) until the probe ends.
fn large_bodies(server: &Server, senders: usize, seconds: u64) -> Flood {
    let mut body = br#"{"action":"opened","repository":{"full_name":"acme/backend"},"pull_request":{"number":1,"body":""#.to_vec();
    body.resize(24 * 1024 * 1024 - 3, b'a');
    body.extend_from_slice(br#""}}"#);
    let body = std::sync::Arc::new(body);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let threads: Vec<_> = (0..senders)
        .map(|_| {
            let (body, stop, address) = (body.clone(), stop.clone(), server.address);
            std::thread::spawn(move || {
                // The attacker is another machine: here it shares the cores, so it runs at the
                // lowest priority to leave them to the server and the probe as far as it can.
                let _ = thread_priority::set_current_thread_priority(
                    thread_priority::ThreadPriority::Min,
                );
                let (mut answered, mut forbidden) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(status) = post(&address, &body) {
                        answered += 1;
                        forbidden += usize::from(status == 403);
                    }
                }
                (answered, forbidden)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let probe = probe(server, "/livez", Duration::from_secs(seconds), false);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (answered, forbidden) = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .fold((0, 0), |(a, f), (x, y)| (a + x, f + y));
    Flood {
        senders,
        probe,
        answered,
        forbidden,
    }
}

fn post(address: &SocketAddr, body: &[u8]) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(webhook_head(body.len()).as_bytes())?;
    stream.write_all(body)?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))
}

struct Stalled {
    opened: usize,
    probe: Probe,
    idle_fds: usize,
    idle_rss_mb: f64,
    peak_fds: usize,
    peak_rss_mb: f64,
}

/// `count` stalled connections from child processes, held for `seconds` while `/health` is probed.
fn stalled_connections(server: &Server, count: usize, seconds: u64) -> Stalled {
    let (idle_fds, idle_rss_mb) = (server.fds(), server.rss_mb());
    // The children try for up to 8 s, then hold what they opened while the probe runs.
    let hold = 8 + seconds + 2;
    let mut children: Vec<Child> = (0..count.div_ceil(PER_CHILD))
        .map(|i| {
            let n = PER_CHILD.min(count - i * PER_CHILD);
            Command::new(std::env::current_exe().unwrap())
                .env(ROLE, "stall")
                .env("STALL_ADDRESS", server.address.to_string())
                .env("STALL_COUNT", n.to_string())
                .env("STALL_SECONDS", hold.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Each child says how many it opened once it has opened them all.
    let opened: usize = children
        .iter_mut()
        .map(|c| {
            let mut line = String::new();
            BufReader::new(c.stdout.as_mut().unwrap())
                .read_line(&mut line)
                .unwrap();
            line.trim().parse::<usize>().unwrap_or(0)
        })
        .sum();
    let sampler = Sampler::start(server);
    let probe = probe(server, "/health", Duration::from_secs(seconds), true);
    let (peak_fds, peak_rss_mb) = sampler.stop();
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    Stalled {
        opened,
        probe,
        idle_fds,
        idle_rss_mb,
        peak_fds,
        peak_rss_mb,
    }
}

/// The child's side: open the connections (each a head and one byte of 28,011), report, hold, exit.
fn stall_child() {
    let address: SocketAddr = std::env::var("STALL_ADDRESS").unwrap().parse().unwrap();
    let count = env_or("STALL_COUNT", 0);
    let hold = Duration::from_secs(env_or("STALL_SECONDS", 10) as u64);
    let deadline = Instant::now() + hold;
    // Connections the server does not accept yet wait in its listen backlog, and past that are not
    // answered at all: 16 threads try each once, for at most 8 s in all, and report what is held.
    let stop_trying = Instant::now() + Duration::from_secs(8);
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let share = count / 16 + usize::from(t < count % 16);
            std::thread::spawn(move || {
                let mut held = Vec::with_capacity(share);
                for _ in 0..share {
                    if Instant::now() > stop_trying {
                        break;
                    }
                    let Ok(mut stream) =
                        TcpStream::connect_timeout(&address, Duration::from_millis(500))
                    else {
                        continue;
                    };
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                    let _ = stream.write_all(webhook_head(28_011).as_bytes());
                    let _ = stream.write_all(b"{");
                    held.push(stream);
                }
                held
            })
        })
        .collect();
    let held: Vec<TcpStream> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap_or_default())
        .collect();
    println!("{}", held.len());
    let _ = std::io::stdout().flush();
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
}

/// Samples the server's descriptors and RSS every 100 ms; `stop` gives the peaks.
struct Sampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(usize, f64)>,
}

impl Sampler {
    fn start(server: &Server) -> Self {
        let pid = server.child.id();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut peak_fds, mut peak_rss) = (0, 0.0_f64);
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak_fds = peak_fds.max(fds(pid));
                peak_rss = peak_rss.max(rss_mb(pid));
                std::thread::sleep(Duration::from_millis(100));
            }
            (peak_fds, peak_rss)
        });
        Self { stop, thread }
    }

    fn stop(self) -> (usize, f64) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

struct Held {
    probe: Probe,
    idle_rss_mb: f64,
    peak_rss_mb: f64,
    answers: String,
}

/// `count` connections each send all but the last byte of a 25 MiB body, then hold it back.
fn held_bodies(server: &Server, count: usize, seconds: u64) -> Held {
    let idle_rss_mb = server.rss_mb();
    let size = 25 * 1024 * 1024;
    let chunk = vec![b' '; 1 << 20];
    let sampler = Sampler::start(server);
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let (address, chunk) = (server.address, chunk.clone());
            std::thread::spawn(move || -> Option<u16> {
                let mut stream = TcpStream::connect(address).ok()?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(seconds + 15)))
                    .ok()?;
                stream.write_all(webhook_head(size).as_bytes()).ok()?;
                let mut left = size - 1;
                while left > 0 {
                    let n = left.min(chunk.len());
                    // A refused body is answered and closed: writing then fails, and the answer is read.
                    if stream.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                    left -= n;
                }
                let mut line = String::new();
                BufReader::new(stream).read_line(&mut line).ok()?;
                line.split_whitespace().nth(1)?.parse().ok()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let probe = probe(server, "/health", Duration::from_secs(seconds), true);
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for t in threads {
        let key = t
            .join()
            .unwrap()
            .map_or("none".to_owned(), |s| s.to_string());
        *answers.entry(key).or_default() += 1;
    }
    let (_, peak_rss_mb) = sampler.stop();
    Held {
        probe,
        idle_rss_mb,
        peak_rss_mb,
        answers: answers
            .iter()
            .map(|(k, v)| format!("{v} x {k}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
