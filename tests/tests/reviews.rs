//! The review pipeline end to end, on SQLite and PostgreSQL: a signed delivery, the worker, and what
//! the fake GitHub receives. Each reviewer (built-in, OpenAI-compatible, parallel agents), a
//! 3,000-file pull request reviewed in parts, a push reviewed incrementally, comments GitHub refuses,
//! and the token owner's own pull request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::fake_github::{FakeGitHub, files_json};
use nectr_tests::{Backend, CORPUS_SECRET, TestApp, on_both_backends};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

on_both_backends!(
    the_openai_reviewer_reviews_with_the_pull_requests_context,
    parallel_agents_post_one_review_with_each_finding_once,
    a_three_thousand_file_pull_request_is_reviewed_in_parts_naming_what_was_left_out,
    a_push_is_reviewed_incrementally_and_repeats_no_finding,
    comments_github_refuses_move_into_the_body_and_the_rest_stay_inline,
    the_token_owners_own_pull_request_gets_a_comment,
);

const REPO: &str = "acme/backend";
const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NEXT: &str = "cccccccccccccccccccccccccccccccccccccccc";

/// A leaked AWS key (critical, security) on line 2 and an `unwrap()` (warning, correctness) on line 3.
const DIFF: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,3 +1,5 @@\n fn load() {\n+    let key = \"AKIA2OGYBAH6STMMNXNN\";\n+    let v = parse().unwrap();\n     run();\n }\n";

async fn start(backend: Backend, github: &FakeGitHub, extra: &[(&str, &str)]) -> Option<TestApp> {
    let url = github.url();
    let mut vars = vec![
        ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
        ("GITHUB_API_URL", url.as_str()),
    ];
    vars.extend_from_slice(extra);
    TestApp::spawn_with(backend, &vars).await
}

/// A chat completion answering `review` in its message content, as OpenAI does.
fn completion(review: &Value) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": review.to_string(), "refusal": null},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 150, "total_tokens": 1050}
    })
}

fn model_review() -> Value {
    json!({
        "summary": "The key must not be committed and parsing can fail.",
        "findings": [
            {"path": "src/config.rs", "line": 2, "end_line": null, "severity": "critical", "category": "security",
             "title": "Committed AWS key", "body": "Load it from the environment.", "suggestion": null},
            {"path": "src/config.rs", "line": 3, "end_line": null, "severity": "warning", "category": "correctness",
             "title": "Parse failure panics", "body": "Return the error.", "suggestion": "    let v = parse()?;"}
        ]
    })
}

fn prompt_of(request: &Request) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["messages"][1]["content"].as_str().unwrap().to_owned()
}

/// The chat completions the fake model server was asked for (the reviewer also asks, once, for
/// llama.cpp's `/props`, which this server does not have).
async fn completions_asked(server: &wiremock::MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/chat/completions"))
        .collect()
}

async fn the_openai_reviewer_reviews_with_the_pull_requests_context(backend: Backend) {
    let github = FakeGitHub::start().await;
    let mut pr = FakeGitHub::pull_request_json(REPO, 7, SHA, "open");
    pr["body"] = json!("Reads the key from config. Fixes #41.");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/7")))
        .and(header("accept", "application/vnd.github+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pr))
        .mount(&github.server)
        .await;
    github.serve_diff(REPO, 7, DIFF).await;
    github.accept_reviews(REPO, 7).await;
    github
        .serve_issue(
            REPO,
            41,
            "Config is read twice",
            "Startup reads config.toml twice.",
        )
        .await;
    github
        .serve_content(
            REPO,
            ".nectr/instructions.md",
            "Secrets never live in code.",
        )
        .await;
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test-openai"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(&model_review())))
        .expect(1)
        .mount(&openai)
        .await;
    let base = format!("{}/v1", openai.uri());
    let Some(app) = start(
        backend,
        &github,
        &[
            ("AI_PROVIDER", "openai"),
            ("OPENAI_API_KEY", "sk-test-openai"),
            ("OPENAI_BASE_URL", &base),
        ],
    )
    .await
    else {
        return;
    };
    let id = app.deliver_pull_request(REPO, 7, SHA, "opened").await;
    let event = app.finished_event(id).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);

    let posted = github.posted_reviews(REPO, 7).await;
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["event"], "REQUEST_CHANGES");
    let comments = posted[0]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert!(
        comments[1]["body"]
            .as_str()
            .unwrap()
            .ends_with("```suggestion\n    let v = parse()?;\n```")
    );
    let prompt = prompt_of(&completions_asked(&openai).await[0]);
    for expected in [
        "Reads the key from config. Fixes #41.",
        "issue #41: Config is read twice",
        "Startup reads config.toml twice.",
        "<instructions>\nSecrets never live in code.\n</instructions>",
    ] {
        assert!(prompt.contains(expected), "{expected} not in the prompt");
    }
    let contents = github
        .requests(
            "GET",
            &format!("/repos/{REPO}/contents/.nectr/instructions.md"),
        )
        .await;
    assert_eq!(
        contents[0].url.query(),
        Some("ref=f95f852bd8fca8fcc58a9a2d6c842781e32a215e"),
        "instructions come from the base commit"
    );

    let result = app.last_run_result(id).await;
    assert_eq!(result["reviewer"], "openai");
    assert_eq!(result["model"], "gpt-4.1-mini-2025-04-14");
    assert_eq!(
        (
            result["input_tokens"].as_u64(),
            result["output_tokens"].as_u64()
        ),
        (Some(900), Some(150))
    );
    assert_eq!(
        (
            result["linked_issues"].as_u64(),
            result["instructions"].as_bool()
        ),
        (Some(1), Some(true))
    );
}

async fn parallel_agents_post_one_review_with_each_finding_once(backend: Backend) {
    // A model that answers every agent with every finding: each agent keeps its own focus, and the
    // merged review has each finding once.
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github.serve_diff(REPO, 7, DIFF).await;
    github.accept_reviews(REPO, 7).await;
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(&model_review())))
        .expect(3)
        .mount(&openai)
        .await;
    let base = format!("{}/v1", openai.uri());
    let Some(app) = start(
        backend,
        &github,
        &[
            ("AI_PROVIDER", "openai"),
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_BASE_URL", &base),
            ("PARALLEL_REVIEW_AGENTS", "true"),
        ],
    )
    .await
    else {
        return;
    };
    let id = app.deliver_pull_request(REPO, 7, SHA, "opened").await;
    let event = app.finished_event(id).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);
    let prompts: Vec<String> = completions_asked(&openai)
        .await
        .iter()
        .map(prompt_of)
        .collect();
    for focus in [
        "Review for security only",
        "Review for correctness and performance only",
        "Review for maintainability only",
    ] {
        assert_eq!(
            prompts.iter().filter(|p| p.contains(focus)).count(),
            1,
            "{focus}"
        );
    }
    let posted = github.posted_reviews(REPO, 7).await;
    assert_eq!(posted.len(), 1, "one review");
    let comments = posted[0]["comments"].as_array().unwrap();
    let lines: Vec<u64> = comments
        .iter()
        .map(|c| c["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3], "each finding once");
    let body = posted[0]["body"].as_str().unwrap();
    assert!(
        body.contains("- **Security**: ") && body.contains("- **Maintainability**: "),
        "{body}"
    );
    assert_eq!(app.last_run_result(id).await["input_tokens"], 2700);

    // The built-in reviewer works as parallel agents too.
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 8, SHA, "open").await;
    github.serve_diff(REPO, 8, DIFF).await;
    github.accept_reviews(REPO, 8).await;
    let Some(app) = start(backend, &github, &[("PARALLEL_REVIEW_AGENTS", "true")]).await else {
        return;
    };
    let id = app.deliver_pull_request(REPO, 8, SHA, "opened").await;
    assert_eq!(app.finished_event(id).await.status, "completed");
    let posted = github.posted_reviews(REPO, 8).await;
    assert_eq!(posted[0]["comments"].as_array().unwrap().len(), 2);
}

async fn a_three_thousand_file_pull_request_is_reviewed_in_parts_naming_what_was_left_out(
    backend: Backend,
) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 9, SHA, "open").await;
    // 3,000 new files; the largest one commits a key, and a lock file and a binary come along.
    let mut files: Vec<Value> = (0..2998)
        .map(|i| {
            json!({
                "filename": format!("src/gen/m{i:04}.rs"), "status": "added",
                "additions": 3, "deletions": 0, "changes": 3,
                "patch": format!("@@ -0,0 +1,3 @@\n+pub fn f{i}() -> u32 {{\n+    {i}\n+}}"),
            })
        })
        .collect();
    files[1500] = json!({
        "filename": "src/secrets.rs", "status": "added", "additions": 4, "deletions": 0, "changes": 4,
        "patch": "@@ -0,0 +1,4 @@\n+// keys\n+const KEY: &str = \"AKIA2OGYBAH6STMMNXNN\";\n+const A: u8 = 1;\n+const B: u8 = 2;",
    });
    files.push(json!({"filename": "Cargo.lock", "status": "modified", "additions": 1, "deletions": 1, "changes": 2,
                      "patch": "@@ -1 +1 @@\n-a\n+b"}));
    files.push(json!({"filename": "logo.png", "status": "added", "additions": 0, "deletions": 0, "changes": 0}));
    github.serve_files(REPO, 9, files).await;
    github.accept_reviews(REPO, 9).await;
    let Some(app) = start(
        backend,
        &github,
        &[("REVIEW_CHUNK_TOKENS", "20000"), ("REVIEW_MAX_CHUNKS", "3")],
    )
    .await
    else {
        return;
    };
    let id = app.deliver_pull_request(REPO, 9, SHA, "opened").await;
    let event = app.finished_event(id).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);
    assert_eq!(
        github
            .requests("GET", &format!("/repos/{REPO}/pulls/9/files"))
            .await
            .len(),
        30,
        "every page of 100 files"
    );

    let result = app.last_run_result(id).await;
    assert_eq!(result["requests"], 3);
    let reviewed = result["files_reviewed"].as_u64().unwrap();
    let left_out = result["not_covered"].as_u64().unwrap();
    assert!(reviewed > 1000, "{reviewed} files reviewed");
    assert_eq!(reviewed + left_out, 3000, "every file reviewed or named");

    let posted = github.posted_reviews(REPO, 9).await;
    assert_eq!(posted.len(), 1);
    let review = &posted[0];
    let body = review["body"].as_str().unwrap();
    assert!(body.len() < 65_536, "GitHub's limit");
    assert!(
        body.contains("This pull request was reviewed in 3 parts."),
        "{body}"
    );
    assert!(body.contains(&format!("### Not reviewed ({left_out} files)")));
    assert!(body.contains("- over the review budget (3 requests of 20000 tokens): `src/gen/"));
    assert!(body.contains("- lock file: `Cargo.lock`"));
    assert!(body.contains(
        "- no diff to review (empty, binary, or too large for GitHub to show): `logo.png`"
    ));
    let comments = review["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "the larger file with the key came first");
    assert_eq!(
        (comments[0]["path"].as_str(), comments[0]["line"].as_u64()),
        (Some("src/secrets.rs"), Some(2))
    );
    assert_eq!(review["event"], "REQUEST_CHANGES");
}

/// The pull request after a push: `DIFF`, another `unwrap()` in the same file, and a new file with
/// a `dbg!`.
const DIFF_AFTER_PUSH: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,3 +1,6 @@\n fn load() {\n+    let key = \"AKIA2OGYBAH6STMMNXNN\";\n+    let v = parse().unwrap();\n+    let w = other().unwrap();\n     run();\n }\n\
diff --git a/src/log.rs b/src/log.rs\nnew file mode 100644\n--- /dev/null\n+++ b/src/log.rs\n@@ -0,0 +1,3 @@\n+fn log(x: u8) {\n+    dbg!(x);\n+}\n";

/// What the push itself changed.
const PUSHED: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,5 +1,6 @@\n fn load() {\n     let key = \"AKIA2OGYBAH6STMMNXNN\";\n     let v = parse().unwrap();\n+    let w = other().unwrap();\n     run();\n }\n\
diff --git a/src/log.rs b/src/log.rs\nnew file mode 100644\n--- /dev/null\n+++ b/src/log.rs\n@@ -0,0 +1,3 @@\n+fn log(x: u8) {\n+    dbg!(x);\n+}\n";

async fn a_push_is_reviewed_incrementally_and_repeats_no_finding(backend: Backend) {
    let github = FakeGitHub::start().await;
    let pr = github.serve_moving_pull_request(REPO, 7, SHA, DIFF).await;
    github.accept_reviews(REPO, 7).await;
    github
        .serve_compare(REPO, SHA, NEXT, "ahead", files_json(PUSHED))
        .await;
    let Some(app) = start(backend, &github, &[("REVIEW_ON_REOPENED", "true")]).await else {
        return;
    };
    let first = app.deliver_pull_request(REPO, 7, SHA, "opened").await;
    assert_eq!(app.finished_event(first).await.status, "completed");
    assert_eq!(
        github.posted_reviews(REPO, 7).await[0]["comments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    pr.push(NEXT, DIFF_AFTER_PUSH);
    let second = app.deliver_pull_request(REPO, 7, NEXT, "synchronize").await;
    let event = app.finished_event(second).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);
    let posted = github.posted_reviews(REPO, 7).await;
    assert_eq!(posted.len(), 2);
    let review = &posted[1];
    assert_eq!(review["commit_id"], NEXT);
    let comments = review["comments"].as_array().unwrap();
    assert_eq!(
        comments.len(),
        1,
        "only the new file's finding: {comments:?}"
    );
    assert_eq!(
        (comments[0]["path"].as_str(), comments[0]["line"].as_u64()),
        (Some("src/log.rs"), Some(2))
    );
    assert_eq!(
        review["event"], "COMMENT",
        "the critical key was reviewed before"
    );
    assert!(
        review["body"]
            .as_str()
            .unwrap()
            .contains("_Reviewed the commits since `aaaaaaaaaaaa`")
    );
    let result = app.last_run_result(second).await;
    assert_eq!(result["scope"], "incremental");
    assert_eq!(result["since"], SHA);
    assert_eq!(
        result["repeated_findings_left_out"], 1,
        "the second unwrap() in src/config.rs was already reported there"
    );

    // The same head again (a reopen, say): reviewed already, nothing posted.
    let third = app.deliver_pull_request(REPO, 7, NEXT, "reopened").await;
    let event = app.finished_event(third).await;
    assert_eq!(event.status, "completed");
    assert_eq!(github.posted_reviews(REPO, 7).await.len(), 2);
    assert_eq!(app.last_run_result(third).await["already_reviewed"], true);
}

async fn comments_github_refuses_move_into_the_body_and_the_rest_stay_inline(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github.serve_diff(REPO, 7, DIFF).await;
    github
        .keep_reviews_refusing(REPO, 7, vec![], vec![("src/config.rs".into(), 3)])
        .await;
    let Some(app) = start(backend, &github, &[]).await else {
        return;
    };
    let id = app.deliver_pull_request(REPO, 7, SHA, "opened").await;
    let event = app.finished_event(id).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);

    let reviews = github.current_reviews(REPO, 7).await;
    assert_eq!(
        reviews.len(),
        1,
        "one review, no pending probe left: {reviews:?}"
    );
    let submitted = github.posted_reviews(REPO, 7).await;
    let last = submitted.last().unwrap();
    let comments = last["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0]["line"], 2, "the accepted comment stays inline");
    let body = last["body"].as_str().unwrap();
    assert!(
        body.contains(
            "### Findings outside the diff\n\n- `src/config.rs:3` **warning (correctness)**: `unwrap()` in non-test code."
        ),
        "{body}"
    );
    let result = app.last_run_result(id).await;
    assert_eq!(
        (
            result["moved_to_body"].as_u64(),
            result["inline_comments"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

async fn the_token_owners_own_pull_request_gets_a_comment(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github.serve_diff(REPO, 7, DIFF).await;
    github.accept_reviews(REPO, 7).await;
    // The corpus pull request is Codertocat's, and so is the token.
    github.serve_token_owner("Codertocat").await;
    let Some(app) = start(
        backend,
        &github,
        &[("GITHUB_PAT", "ghp_codertocats_own_token")],
    )
    .await
    else {
        return;
    };
    let id = app.deliver_pull_request(REPO, 7, SHA, "opened").await;
    assert_eq!(app.finished_event(id).await.status, "completed");
    let posted = github.posted_reviews(REPO, 7).await;
    assert_eq!(
        posted[0]["event"], "COMMENT",
        "GitHub refuses REQUEST_CHANGES on your own PR"
    );
    assert_eq!(posted[0]["comments"].as_array().unwrap().len(), 2);
    assert_eq!(app.last_run_result(id).await["own_pr"], true);
}
