//! Fuzzing on the stable toolchain: a seeded mutational generator (bit flips, byte and token
//! insertions, truncations, splices between seeds) drives generated inputs through every parser of
//! untrusted text, and any panic is a failure with the input saved. Seeds are the repository's own
//! corpus of real payloads and real diffs, so the generated inputs stay close to what arrives.
//!
//! Targets: the whole delivery path (headers + body, through `IngestService` with in-memory ports and
//! the real GitHub payload reader), the unified-diff parser and its line map, the signature header,
//! the values (`RepoFullName`, `DeliveryId`, `HeadSha`, `WebhookSecret`, `Keyring` specs), and the
//! review texts read back from GitHub (nectr's hidden marker, linked issues).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters_github::GitHubPayloads;
use async_trait::async_trait;
use chrono::Utc;
use domain::clock::Clock;
use domain::queue::WorkSignal;
use domain::review::context::linked_issue_numbers;
use domain::review::diff::{LineMap, parse};
use domain::review::render::Marker;
use domain::webhook::delivery::DeliveryRecord;
use domain::webhook::ingest::{DeliveryRequest, IngestPorts, IngestService, RequestBody};
use domain::webhook::ports::{DeliveryLog, EventStore, InstallationStore, NewEvent, Recorded};
use domain::webhook::signature::{sign, verify};
use domain::webhook::values::{DeliveryId, HeadSha, RepoFullName, WebhookSecret};

/// A small, fast, seeded random generator (xorshift64*): the same seed gives the same inputs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Tokens that parsers give meaning to, spliced into inputs.
const TOKENS: [&[u8]; 24] = [
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"\\u0000",
    b"@@ -1,3 +1,4 @@",
    b"\n+",
    b"\n-",
    b"\n ",
    b"diff --git a/x b/x\n",
    b"\\ No newline at end of file",
    b"sha256=",
    b"<!-- nectr:",
    b"-->",
    b"fixes #",
    b"\xff\xfe",
    b"0",
    b"-1",
    b"18446744073709551616",
    b"\r\n",
];

/// One mutation of `seed`, mixing in `other` now and then.
pub fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next_u64() as u8),
            2 => data
                .splice(at..at, TOKENS[rng.below(TOKENS.len())].iter().copied())
                .for_each(drop),
            3 => data.truncate(at),
            4 if !data.is_empty() => {
                let end = (at + rng.below(64)).min(data.len());
                data.drain(at..end);
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + rng.below(256)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied())
                    .for_each(drop);
            }
            _ => {
                let end = (at + rng.below(16)).min(data.len());
                let copy = data[at.min(end)..end].to_vec();
                data.splice(at..at, copy).for_each(drop);
            }
        }
    }
    data
}

/// The outcome of one target's run.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub inputs: u64,
    pub elapsed: Duration,
    /// The first input that panicked, if any.
    pub panicked: Option<Vec<u8>>,
}

/// The targets, by name.
pub const TARGETS: [&str; 5] = ["delivery", "diff", "signature", "values", "review_text"];

/// Runs `inputs` generated inputs through `target`, from `seeds`.
pub fn run(target: &'static str, seeds: &[Vec<u8>], inputs: u64, seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let delivery = Delivery::new();
    let mut panicked = None;
    for n in 0..inputs {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, a, b);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| match target {
            "delivery" => delivery.ingest(&input, n),
            "diff" => diff(&input),
            "signature" => signature(&input),
            "values" => values(&input),
            _ => review_text(&input),
        }));
        if outcome.is_err() {
            panicked = Some(input);
            break;
        }
    }
    Report {
        target,
        inputs,
        elapsed: started.elapsed(),
        panicked,
    }
}

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

fn diff(input: &[u8]) {
    let files = parse(&text(input));
    let lines = LineMap::new(&files);
    for file in &files {
        let _ = lines.contains(file.path(), 1);
        let _ = domain::review::classify::classify(file);
    }
}

fn signature(input: &[u8]) {
    let secret = WebhookSecret::parse("fuzzing-secret-0123456789").expect("secret");
    let header = text(input);
    let _ = verify(&[&secret], b"{}", Some(&header), false);
    let body_signature = sign(&secret, input);
    let _ = verify(&[&secret], input, Some(&body_signature), true);
}

fn values(input: &[u8]) {
    let raw = text(input);
    let _ = RepoFullName::parse(&raw).map(|r| r.key());
    let _ = DeliveryId::parse(&raw);
    let _ = HeadSha::parse(&raw);
    let _ = WebhookSecret::parse(&raw);
    let _ = domain::accounts::Keyring::parse(&raw);
    let _ = domain::webhook::event::event_type(&raw, Some(&raw));
}

fn review_text(input: &[u8]) {
    let raw = text(input);
    let _ = Marker::find(&raw);
    let _ = linked_issue_numbers(&raw);
}

/// The delivery path with in-memory ports: every store call answers at once.
struct Delivery {
    runtime: tokio::runtime::Runtime,
    service: IngestService,
}

struct Quiet;

#[async_trait]
impl InstallationStore for Quiet {
    async fn webhook_secrets(&self, _: &RepoFullName) -> domain::Result<Vec<WebhookSecret>> {
        Ok(Vec::new())
    }

    async fn delivery_filters(
        &self,
        _: &RepoFullName,
    ) -> domain::Result<Vec<domain::webhook::filters::DeliveryFilter>> {
        Ok(Vec::new())
    }

    async fn delivery_settings(
        &self,
        _: &RepoFullName,
        _: bool,
    ) -> domain::Result<domain::webhook::ports::DeliverySettings> {
        Ok(Default::default())
    }

    async fn set_delivery_filters(
        &self,
        _: &RepoFullName,
        _: Option<Vec<serde_json::Value>>,
    ) -> domain::Result<bool> {
        Ok(false)
    }
}

#[async_trait]
impl EventStore for Quiet {
    async fn record(&self, _: NewEvent, _: DeliveryRecord) -> domain::Result<Recorded> {
        Ok(Recorded::Ignored { event_id: 1 })
    }
}

#[async_trait]
impl DeliveryLog for Quiet {
    async fn append(&self, _: DeliveryRecord) -> domain::Result<i64> {
        Ok(1)
    }
}

impl Clock for Quiet {
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc::now()
    }
}

#[async_trait]
impl WorkSignal for Quiet {
    fn work_queued(&self) {}

    async fn wait(&self) {}
}

/// Header names the delivery path reads, and others.
const HEADER_NAMES: [&str; 8] = [
    "content-type",
    "x-github-event",
    "x-github-delivery",
    "x-hub-signature-256",
    "x-hub-signature",
    "x-github-hook-installation-target-type",
    "x-auth-token",
    "x-pad",
];

impl Delivery {
    fn new() -> Self {
        let quiet = Arc::new(Quiet);
        let policy = domain::webhook::ingest::IngestPolicy {
            global_secret: WebhookSecret::parse("fuzzing-secret-0123456789").ok(),
            allow_unsigned: true,
            ..Default::default()
        };
        let service = IngestService::new(
            IngestPorts {
                installations: quiet.clone(),
                events: quiet.clone(),
                log: quiet.clone(),
                payloads: Arc::new(GitHubPayloads),
                clock: quiet.clone(),
                signal: quiet,
            },
            policy,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        Self { runtime, service }
    }

    /// The input's first line holds header values separated by `|`; the rest is the body. Every
    /// other input is signed correctly, so the generated bodies reach the event rules too.
    fn ingest(&self, input: &[u8], n: u64) {
        let split = input.iter().position(|b| *b == b'\n').unwrap_or(0);
        let (head, body) = input.split_at(split);
        let head = text(head);
        let values: Vec<&str> = head.split('|').collect();
        let secret = WebhookSecret::parse("fuzzing-secret-0123456789").expect("secret");
        let signature = sign(&secret, body);
        let mut headers: Vec<(&str, &str)> = HEADER_NAMES
            .iter()
            .zip(values.iter())
            .map(|(name, value)| (*name, *value))
            .collect();
        if n.is_multiple_of(2) {
            headers.retain(|(name, _)| *name != "x-hub-signature-256");
            headers.push(("x-hub-signature-256", &signature));
            headers.push(("content-type", "application/json"));
        }
        let request = DeliveryRequest {
            headers,
            body: RequestBody::Complete(body),
        };
        let _ = self.runtime.block_on(self.service.ingest(request));
    }
}

/// The seeds of a target: the repository's corpus (payloads, with a header line in front for the
/// delivery target), the diffs of its review fixtures, and a few hand-made ones.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let corpus = crate::corpus_dir().join("github");
    let mut seeds = Vec::new();
    if let Ok(events) = std::fs::read_dir(&corpus) {
        for event in events.flatten() {
            let name = event.file_name().to_string_lossy().into_owned();
            for file in std::fs::read_dir(event.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Ok(bytes) = std::fs::read(file.path()) {
                    let mut seed = format!(
                        "application/json|{name}|0f6e3b52-0000-4000-8000-000000000001|sha256=00|||x|p\n"
                    )
                    .into_bytes();
                    seed.extend_from_slice(&bytes);
                    seeds.push(if target == "delivery" { seed } else { bytes });
                }
            }
        }
    }
    let handmade: [&[u8]; 5] = [
        b"diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,2 +1,3 @@\n fn a() {}\n+let x = y.unwrap();\n \n",
        b"sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        b"acme/backend",
        b"<!-- nectr:review event=1 head=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa findings=abc,def -->",
        b"This fixes #12 and closes #13, resolves acme/web#4",
    ];
    seeds.extend(handmade.iter().map(|s| s.to_vec()));
    seeds
}
