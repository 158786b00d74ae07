//! `just bench-review`: how long the review pipeline takes with a reviewer that answers at once (the
//! model excluded), for 100-, 1,000- and 3,000-file pull requests, and the diff parser's throughput.
//!
//! Two pipelines are timed:
//! - in memory: the use case with a code host that answers from memory (parsing, budgeting, context,
//!   rendering, 422 handling never triggered): nectr's own cost;
//! - over HTTP: the same through the GitHub adapter against a local fake GitHub (wiremock), paging
//!   the changed files 100 at a time as GitHub does.
//!
//! And the built-in reviewer on a 100-file pull request (Rust, Python, TypeScript and Go files of
//! 400 lines, 30 added lines each), reading every file whole with tree-sitter, against the same
//! review by the changed lines alone (target: under 100 ms).
//!
//! Env: `BENCH_RUNS` (default 5; the median is printed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use domain::queue::{Job, JobHandler, JobResult};
use domain::review::FallbackToken;
use domain::review::budget::Budget;
use domain::review::codehost::{ChangedFile, MockCodeHost, Posted, PullRequest, PullRequestState};
use domain::review::diff::{LineMap, parse};
use domain::review::service::ReviewPullRequest;
use domain::review::{
    Category, Finding, ReviewDraft, ReviewError, ReviewRequest, Reviewer, Severity,
};
use domain::webhook::values::{HeadSha, RepoFullName};
use nectr_tests::fake_github::FakeGitHub;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const REPO: &str = "acme/backend";

/// Answers at once: one warning on the first added line of every tenth file.
struct InstantReviewer;

#[async_trait]
impl Reviewer for InstantReviewer {
    fn name(&self) -> &str {
        "instant"
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError> {
        let findings = request
            .files
            .iter()
            .step_by(10)
            .filter_map(|f| {
                let line = f.added_lines().next()?.new_no?;
                Some(Finding {
                    path: f.path().to_owned(),
                    line,
                    end_line: None,
                    severity: Severity::Warning,
                    category: Category::Correctness,
                    title: format!("Check {}", f.path()),
                    body: "Something to look at.".into(),
                    suggestion: None,
                })
            })
            .collect();
        Ok(ReviewDraft {
            summary: format!("{} files looked at.", request.files.len()),
            findings,
            ..ReviewDraft::default()
        })
    }
}

/// A changed file of 30 added lines (about 1 KB of patch), as the files API lists it.
fn changed(i: usize) -> ChangedFile {
    let mut patch = String::from("@@ -1,2 +1,32 @@\n fn start() {}\n");
    for n in 0..30 {
        patch.push_str(&format!(
            "+    let value_{n} = compute(input_{i}, {n}) + offset;\n"
        ));
    }
    patch.push_str(" fn end() {}");
    ChangedFile {
        filename: format!("src/module_{}/file_{i}.rs", i % 40),
        status: "modified".into(),
        additions: 30,
        deletions: 0,
        changes: 30,
        patch: Some(patch),
        previous_filename: None,
    }
}

fn file_json(f: &ChangedFile) -> Value {
    json!({
        "sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": f.filename, "status": f.status,
        "additions": f.additions, "deletions": f.deletions, "changes": f.changes, "patch": f.patch,
    })
}

fn job() -> Job {
    Job {
        event_id: 1,
        attempts: 1,
        kind: domain::queue::JobKind::Review,
        repository: RepoFullName::parse(REPO).unwrap(),
        pr_number: 7,
        head_sha: Some(HeadSha::parse(SHA).unwrap()),
        action: Some("opened".into()),
        lease_expires_at: Utc::now(),
    }
}

/// Room for every file, so the time measures all of them.
fn everything() -> Budget {
    Budget {
        chunk_tokens: 200_000,
        max_chunks: 1_000,
    }
}

fn in_memory_host(files: usize) -> MockCodeHost {
    let changed: Vec<ChangedFile> = (0..files).map(changed).collect();
    let mut host = MockCodeHost::new();
    host.expect_pull_request().returning(|_, _, _| {
        Ok(PullRequest {
            number: 7,
            title: "Bench".into(),
            body: Some("Fixes nothing.".into()),
            state: PullRequestState::Open,
            draft: false,
            author: "dev".into(),
            head_sha: HeadSha::parse(SHA).unwrap(),
            head_ref: "f".into(),
            base_sha: "b".repeat(40),
            base_ref: "main".into(),
            html_url: String::new(),
            updated_at: None,
            changed_files: 0,
            additions: 0,
            deletions: 0,
            labels: Vec::new(),
        })
    });
    host.expect_token_owner().returning(|_| Ok(None));
    host.expect_reviews().returning(|_, _, _| Ok(vec![]));
    host.expect_pull_request_files()
        .returning(move |_, _, _| Ok(changed.clone()));
    host.expect_file_content()
        .returning(|_, _, p, _| Err(domain::codehost::CodeHostError::NotFound(p.into())));
    host.expect_post_review().returning(|_, _, _, _| {
        Ok(Posted {
            id: 1,
            html_url: String::new(),
        })
    });
    host
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn run(handler: &ReviewPullRequest) -> Duration {
    let started = Instant::now();
    let result = handler.handle(&job()).await;
    let elapsed = started.elapsed();
    assert!(matches!(result, JobResult::Completed { .. }), "{result:?}");
    elapsed
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!("review pipeline, instant reviewer, median of {runs} runs");
    println!(
        "{:>6} files  {:>12}  {:>12}  {:>12}",
        "", "in memory", "per file", "over HTTP"
    );
    for files in [100usize, 1_000, 3_000] {
        let handler = ReviewPullRequest::new(
            Arc::new(in_memory_host(files)),
            Arc::new(InstantReviewer),
            Arc::new(FallbackToken),
            everything(),
            Arc::new(domain::knowledge::NoKnowledge),
        );
        run(&handler).await; // warm-up
        let mut memory = Vec::new();
        for _ in 0..runs {
            memory.push(run(&handler).await);
        }
        let memory = median(memory);

        let github = FakeGitHub::start().await;
        github.serve_pull_request(REPO, 7, SHA, "open").await;
        github
            .serve_files(
                REPO,
                7,
                (0..files).map(|i| file_json(&changed(i))).collect(),
            )
            .await;
        // Every run posts as if for the first time: no earlier review is listed.
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/pulls/7/reviews")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&github.server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/repos/{REPO}/pulls/7/reviews")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"id": 1, "html_url": "https://github.com/acme/backend/pull/7#pullrequestreview-1"}),
            ))
            .mount(&github.server)
            .await;
        let handler = ReviewPullRequest::new(
            Arc::new(github.client()),
            Arc::new(InstantReviewer),
            Arc::new(FallbackToken),
            everything(),
            Arc::new(domain::knowledge::NoKnowledge),
        );
        let mut http = Vec::new();
        for _ in 0..runs {
            http.push(run(&handler).await);
        }
        let http = median(http);
        println!(
            "{files:>6} files  {:>9.1} ms  {:>9.1} µs  {:>9.1} ms",
            memory.as_secs_f64() * 1e3,
            memory.as_secs_f64() * 1e6 / files as f64,
            http.as_secs_f64() * 1e3,
        );
    }

    builtin_whole_files(runs).await;

    // Diff parser: a 3,000-file diff, parsed and mapped.
    let mut diff = String::new();
    for i in 0..3_000 {
        let f = changed(i);
        diff.push_str(&format!(
            "diff --git a/{0} b/{0}\nindex 83db48f..bf269f4 100644\n--- a/{0}\n+++ b/{0}\n{1}\n",
            f.filename,
            f.patch.unwrap()
        ));
    }
    let mb = diff.len() as f64 / 1e6;
    let mut times = Vec::new();
    for _ in 0..runs.max(3) {
        let started = Instant::now();
        let files = parse(&diff);
        let lines = LineMap::new(&files);
        std::hint::black_box((&files, &lines));
        times.push(started.elapsed());
    }
    let t = median(times).as_secs_f64();
    println!(
        "diff parser + line map: {mb:.1} MB in {:.1} ms = {:.0} MB/s",
        t * 1e3,
        mb / t
    );
}

/// A 400-line source file in the language of `ext`, with a test block at its end; `nested`: its
/// functions all inside one item (a module, class, namespace or function), so that the part parsed
/// around a change is the whole file.
fn source_file(ext: &str, i: usize, nested: bool) -> String {
    let mut s = String::new();
    let indent = if nested { "    " } else { "" };
    if nested {
        s.push_str(match ext {
            "rs" => "mod all {\n",
            "py" => "class All:\n",
            "ts" => "export namespace All {\n",
            _ => "func All() {\n",
        });
    }
    for n in 0..380 {
        s.push_str(&match ext {
            "rs" => format!("{indent}pub fn f_{i}_{n}(x: u32) -> u32 {{ x.wrapping_mul({n}) }}\n"),
            "py" => format!("{indent}def f_{i}_{n}(x):\n{indent}    return x * {n}  # {n}\n"),
            "ts" => format!(
                "{indent}export function f{i}_{n}(x: number): number {{ return x * {n}; }}\n"
            ),
            _ if nested => format!("{indent}_ = func(x int) int {{ return x * {n} }}\n"),
            _ => format!("func F{i}_{n}(x int) int {{ return x * {n} }}\n"),
        });
    }
    if nested && ext != "py" {
        s.push_str("}\n");
    }
    s.push_str(match ext {
        "rs" => "#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { super::f(1).unwrap(); }\n}\n",
        "py" => "def test_f():\n    print(f_0_0(1))\n",
        "ts" => "describe('f', () => {\n  it('works', () => { console.log(1); });\n});\n",
        _ => "func TestF(t *testing.T) {\n\tt.Skip()\n}\n",
    });
    s
}

/// The built-in reviewer on 100 files read whole, against the same files by their lines alone:
/// changed at lines 101–130, at their end, and at their end inside one item that spans the file
/// (every byte parsed).
async fn builtin_whole_files(runs: usize) {
    for (at, nested, lines) in [
        (Some(100), false, "101-130"),
        (None, false, "their end"),
        (None, true, "their end, inside one item spanning the file"),
    ] {
        builtin_at(runs, at, nested, lines).await;
    }
}

async fn builtin_at(runs: usize, at: Option<usize>, nested: bool, where_: &str) {
    use adapters_ai::BuiltinReviewer;
    let exts = ["rs", "py", "ts", "go"];
    let mut diff = String::new();
    let mut sources = std::collections::BTreeMap::new();
    for i in 0..100 {
        let ext = exts[i % exts.len()];
        let path = format!("src/m{}/file_{i}.{ext}", i % 10);
        let source = source_file(ext, i, nested);
        let lines: Vec<&str> = source.lines().collect();
        let at = at.unwrap_or(lines.len() - 32);
        diff.push_str(&format!(
            "diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -{at},0 +{},30 @@\n",
            at + 1
        ));
        for line in &lines[at..at + 30] {
            diff.push_str(&format!("+{line}\n"));
        }
        sources.insert(path, source);
    }
    let alone = ReviewRequest::new("bench", parse(&diff));
    let mut whole = alone.clone();
    whole.sources = Arc::new(sources);
    let bytes: usize = whole.sources.values().map(String::len).sum();
    let time = |request: ReviewRequest| async move {
        let mut times = Vec::new();
        for _ in 0..runs.max(3) {
            let started = Instant::now();
            let draft = BuiltinReviewer.review(&request).await.unwrap();
            times.push(started.elapsed());
            std::hint::black_box(draft);
        }
        median(times)
    };
    let lines_only = time(alone).await;
    let parsed = time(whole).await;
    println!(
        "built-in reviewer, 100 files ({:.1} MB read whole) changed at lines {where_}: {:.1} ms parsed whole, {:.1} ms by lines alone ({:.1}x); target under 100 ms: {}",
        bytes as f64 / 1e6,
        parsed.as_secs_f64() * 1e3,
        lines_only.as_secs_f64() * 1e3,
        parsed.as_secs_f64() / lines_only.as_secs_f64().max(1e-9),
        if parsed < Duration::from_millis(100) {
            "met"
        } else {
            "NOT met"
        },
    );
}
