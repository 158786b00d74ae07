//! The team's controls end to end, on SQLite and PostgreSQL, against the fake GitHub serving
//! `.nectr.toml`: path excludes and `min_severity` change what is posted, the `nectr/review` status
//! goes pending → failure/success (and error when skipped or failed), the one summary comment is
//! edited across three pushes, a spent budget skips with an error status, a file that does not
//! parse says so and reviews on the defaults, an installation's defaults apply under the file, and
//! delivery filters admit what they name. The comment commands are in `commands.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::api::{Reply, Session};
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{
    Backend, CORPUS_SECRET, StatusCode, TestApp, delivery_id, on_both_backends, sign,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(
    config_statuses_and_one_summary_across_three_pushes,
    a_spent_budget_skips_with_an_error_status,
    skips_failures_and_a_broken_file_are_said_in_the_status_and_the_body,
    an_installations_defaults_apply_under_the_file_and_usage_is_listed,
    delivery_filters_admit_what_they_name_and_refuse_to_be_invalid,
);

const REPO: &str = "acme/backend";
const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";
const SHA3: &str = "3333333333333333333333333333333333333333";

/// A leaked key (critical) on line 2, an `unwrap()` (warning) on line 3 and a TODO (note) on line
/// 4 of `src/config.rs`; a leaked key in `legacy/lib.rs`.
const FIRST: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,2 +1,5 @@\n fn load() {\n+    let key = \"AKIA2OGYBAH6STMMNXNN\";\n+    let v = parse().unwrap();\n+    // TODO: cache it\n }\n\
diff --git a/legacy/lib.rs b/legacy/lib.rs\n--- a/legacy/lib.rs\n+++ b/legacy/lib.rs\n\
@@ -1 +1,2 @@\n fn v() {}\n+const K: &str = \"AKIA2OGYBAH6STMMNXNN\";\n";

/// Only a TODO (a note, below `min_severity`).
const CLEAN: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,2 +1,3 @@\n fn load() {\n+    // TODO: cache it\n }\n";

const CONFIG: &str = "[review]\nmin_severity = \"warning\"\n\n[paths]\nexclude = [\"legacy/**\"]\n";

async fn spawn(backend: Backend, github: &FakeGitHub, extra: &[(&str, String)]) -> Option<TestApp> {
    let mut vars = vec![
        ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET.to_owned()),
        ("GITHUB_API_URL", github.url()),
        ("BACKEND_URL", "https://nectr.example".to_owned()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(backend, &vars).await
}

/// An app whose user alice (signed in through the fake GitHub) has connected [`REPO`].
async fn connected(backend: Backend, github: &FakeGitHub) -> Option<(TestApp, Session)> {
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[REPO])
        .await;
    github.keep_hooks().await;
    let extra: Vec<(&str, String)> = github
        .app_settings()
        .into_iter()
        .filter(|(k, _)| *k != "GITHUB_API_URL" && *k != "BACKEND_URL")
        .collect();
    let app = spawn(backend, github, &extra).await?;
    let alice = nectr_tests::api::sign_in(&app, "code-alice").await;
    assert_eq!(app.install(&alice, REPO).await.status, StatusCode::CREATED);
    Some((app, alice))
}

/// `PUT path` with a JSON body, as `session`.
async fn put_json(app: &TestApp, session: &Session, path: String, body: Value) -> Reply<Value> {
    app.call_with::<Value>(reqwest::Method::PUT, &path, Some(session), Some(&body))
        .await
}

async fn config_statuses_and_one_summary_across_three_pushes(backend: Backend) {
    let github = FakeGitHub::start().await;
    let moving = github.serve_moving_pull_request(REPO, 7, SHA1, FIRST).await;
    github.accept_reviews(REPO, 7).await;
    github.accept_comments(REPO, 7).await;
    github.accept_statuses(REPO).await;
    github.serve_content(REPO, ".nectr.toml", CONFIG).await;
    let Some(app) = spawn(backend, &github, &[]).await else {
        return;
    };

    let first = app.deliver_pull_request(REPO, 7, SHA1, "opened").await;
    assert_eq!(app.finished_event(first).await.status, "completed");
    let review = &github.posted_reviews(REPO, 7).await[0];
    let places: Vec<(&str, u64)> = review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].as_str().unwrap(), c["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        places,
        [("src/config.rs", 2), ("src/config.rs", 3)],
        "the note is below min_severity and legacy/ is excluded"
    );
    let body = review["body"].as_str().unwrap();
    assert!(body.contains("legacy/lib.rs"), "{body}");
    assert!(
        body.contains("excluded by paths.exclude (.nectr.toml)"),
        "{body}"
    );
    assert_eq!(review["event"], "REQUEST_CHANGES");
    assert_eq!(
        github.statuses(REPO, SHA1).await,
        [
            (
                "pending".to_owned(),
                "nectr is reviewing this commit".to_owned()
            ),
            (
                "failure".to_owned(),
                "nectr requests changes: critical findings".to_owned()
            ),
        ]
    );
    let status = &github
        .requests("POST", &format!("/repos/{REPO}/statuses/{SHA1}"))
        .await[0];
    let sent: Value = serde_json::from_slice(&status.body).unwrap();
    assert_eq!(sent["context"], "nectr/review");
    assert_eq!(
        sent["target_url"],
        format!("https://nectr.example/api/v1/events/{first}")
    );
    let result = app.last_run_result(first).await;
    assert_eq!(result["findings_left_out_by_config"], 1);

    // Two more pushes: each reviewed, each status success, one summary comment edited in place.
    for sha in [SHA2, SHA3] {
        moving.push(sha, CLEAN);
        let id = app.deliver_pull_request(REPO, 7, sha, "synchronize").await;
        assert_eq!(app.finished_event(id).await.status, "completed");
        let statuses = github.statuses(REPO, sha).await;
        let states: Vec<&str> = statuses.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(states, ["pending", "success"], "{sha}");
    }
    let comments = github.current_comments(REPO, 7).await;
    let summaries: Vec<&str> = comments
        .iter()
        .filter_map(|c| c["body"].as_str())
        .filter(|b| b.starts_with("<!-- nectr:summary -->"))
        .collect();
    assert_eq!(summaries.len(), 1, "edited, not posted again: {comments:?}");
    assert!(
        summaries[0].contains("at `333333333333`"),
        "{}",
        summaries[0]
    );
    assert!(
        summaries[0].contains("| Findings | 0 critical, 0 warning(s), 0 note(s) |"),
        "{}",
        summaries[0]
    );
    assert_eq!(
        github
            .requests("POST", &format!("/repos/{REPO}/issues/7/comments"))
            .await
            .len(),
        1
    );
}

fn completion() -> Value {
    let answer = json!({"summary": "Fine.", "findings": [], "memories": []});
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.to_string()},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 150, "total_tokens": 1050}
    })
}

async fn a_spent_budget_skips_with_an_error_status(backend: Backend) {
    let github = FakeGitHub::start().await;
    let moving = github.serve_moving_pull_request(REPO, 7, SHA1, CLEAN).await;
    github.accept_reviews(REPO, 7).await;
    github.accept_comments(REPO, 7).await;
    github.accept_statuses(REPO).await;
    github
        .serve_content(REPO, ".nectr.toml", "[budget]\nmonthly_tokens = 1000\n")
        .await;
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion()))
        .mount(&model)
        .await;
    let extra = [
        ("AI_PROVIDER", "openai".to_owned()),
        ("OPENAI_API_KEY", "sk-test".to_owned()),
        ("OPENAI_BASE_URL", format!("{}/v1", model.uri())),
    ];
    let Some(app) = spawn(backend, &github, &extra).await else {
        return;
    };
    let first = app.deliver_pull_request(REPO, 7, SHA1, "opened").await;
    assert_eq!(app.finished_event(first).await.status, "completed");
    let result = app.last_run_result(first).await;
    // 900 input and 150 output tokens of gpt-4.1-mini: $0.40 and $1.60 a million.
    let cost = result["cost_usd"].as_f64().unwrap();
    assert!((cost - 0.0006).abs() < 1e-9, "{cost}");

    moving.push(SHA2, CLEAN);
    let second = app.deliver_pull_request(REPO, 7, SHA2, "synchronize").await;
    let event = app.finished_event(second).await;
    assert_eq!(
        (event.status.as_str(), event.reason.as_deref()),
        ("skipped", Some("budget exhausted"))
    );
    assert_eq!(
        github.statuses(REPO, SHA2).await,
        [(
            "error".to_owned(),
            "Skipped: the monthly budget ([budget] in .nectr.toml) is exhausted".to_owned()
        )]
    );
    assert_eq!(github.posted_reviews(REPO, 7).await.len(), 1);
}

async fn skips_failures_and_a_broken_file_are_said_in_the_status_and_the_body(backend: Backend) {
    let github = FakeGitHub::start().await;
    let mut pr = FakeGitHub::pull_request_json(REPO, 7, SHA1, "open");
    pr["title"] = json!("WIP: not yet");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pr))
        .mount(&github.server)
        .await;
    // acme/other's file does not parse; acme/failing's files cannot be read (a permanent failure).
    github
        .serve_pull_request("acme/other", 3, SHA2, "open")
        .await;
    github.serve_diff("acme/other", 3, FIRST).await;
    github.accept_reviews("acme/other", 3).await;
    github
        .serve_pull_request("acme/failing", 4, SHA3, "open")
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/failing/pulls/4/files"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Resource not accessible"})),
        )
        .mount(&github.server)
        .await;
    for repo in [REPO, "acme/other", "acme/failing"] {
        github.accept_statuses(repo).await;
    }
    github
        .serve_content(REPO, ".nectr.toml", "[skip]\ntitle_patterns = [\"^WIP\"]\n")
        .await;
    github
        .serve_content("acme/other", ".nectr.toml", "[review\nmin_severity = 3\n")
        .await;
    let Some(app) = spawn(backend, &github, &[]).await else {
        return;
    };

    let skipped = app.deliver_pull_request(REPO, 7, SHA1, "opened").await;
    let event = app.finished_event(skipped).await;
    assert_eq!(event.status, "skipped");
    assert_eq!(
        event.reason.as_deref(),
        Some("the title matches skip.title_patterns `^WIP` (.nectr.toml)")
    );
    assert_eq!(
        github.statuses(REPO, SHA1).await,
        [(
            "error".to_owned(),
            "Skipped: the title matches skip.title_patterns `^WIP` (.nectr.toml)".to_owned()
        )]
    );

    // A file that does not parse: reviewed on the defaults (the note is posted again), and the
    // body names the line.
    let broken = app
        .deliver_pull_request("acme/other", 3, SHA2, "opened")
        .await;
    assert_eq!(app.finished_event(broken).await.status, "completed");
    let review = &github.posted_reviews("acme/other", 3).await[0];
    let body = review["body"].as_str().unwrap();
    assert!(
        body.contains("**Configuration** (`.nectr.toml`)\n\n- .nectr.toml line 1: "),
        "{body}"
    );
    assert!(body.contains("the defaults applied"), "{body}");
    assert_eq!(review["comments"].as_array().unwrap().len(), 4);
    let result = app.last_run_result(broken).await;
    assert!(
        result["config_error"]
            .as_str()
            .unwrap()
            .starts_with(".nectr.toml line 1")
    );

    let failed = app
        .deliver_pull_request("acme/failing", 4, SHA3, "opened")
        .await;
    let event = app.finished_event(failed).await;
    assert_eq!(event.status, "failed");
    let statuses = github.statuses("acme/failing", SHA3).await;
    let (state, description) = statuses.last().unwrap();
    assert_eq!(state, "error");
    assert!(description.starts_with("Review failed: "), "{description}");
    assert!(
        !statuses.iter().any(|(s, _)| s == "success"),
        "never success on an error: {statuses:?}"
    );
}

async fn an_installations_defaults_apply_under_the_file_and_usage_is_listed(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA1, "open").await;
    github.serve_diff(REPO, 7, FIRST).await;
    github.accept_reviews(REPO, 7).await;
    github.accept_comments(REPO, 7).await;
    github.accept_statuses(REPO).await;
    let Some((app, alice)) = connected(backend, &github).await else {
        return;
    };
    let settings = format!("/api/v1/repos/{REPO}/settings");
    let put = |body: Value| put_json(&app, &alice, settings.clone(), body);
    let refused = put(json!({"review": {"min_severity": "high", "colour": 1}})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.detail().contains("unknown key `review.colour`"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .detail()
            .contains("`review.min_severity` must be note, warning or critical")
    );
    let stored = put(json!({"review": {"min_severity": "critical"}})).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    let read = app
        .call::<Value>(reqwest::Method::GET, &settings, Some(&alice))
        .await;
    assert_eq!(
        read.body["settings"],
        json!({"review": {"min_severity": "critical"}})
    );

    let secret = github.hook_secret(REPO).await;
    let answer = app
        .deliver_pull_request_signed(&secret, REPO, 7, SHA1, "opened")
        .await;
    let id = answer.body["event_id"].as_i64().unwrap();
    assert_eq!(app.finished_event(id).await.status, "completed");
    let review = &github.posted_reviews(REPO, 7).await[0];
    let lines: Vec<(&str, u64)> = review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].as_str().unwrap(), c["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [("src/config.rs", 2), ("legacy/lib.rs", 2)],
        "only critical findings"
    );

    let usage = app
        .call::<Value>(
            reqwest::Method::GET,
            &format!("/api/v1/repos/{REPO}/usage"),
            Some(&alice),
        )
        .await;
    assert_eq!(usage.status, StatusCode::OK);
    let month = &usage.body["months"][0];
    assert_eq!(
        (&month["reviews"], &month["tokens"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(
        month["month"].as_str().unwrap(),
        chrono::Utc::now().format("%Y-%m").to_string()
    );
}

async fn delivery_filters_admit_what_they_name_and_refuse_to_be_invalid(backend: Backend) {
    let github = FakeGitHub::start().await;
    let Some((app, alice)) = connected(backend, &github).await else {
        return;
    };
    let filters = format!("/api/v1/repos/{REPO}/filters");
    let put = |body: Value| put_json(&app, &alice, filters.clone(), body);
    // FastHook's "main or release branch" filter.
    let main_or_release = json!({"name": "main-or-release",
    "headers": {"x-github-event": "pull_request"},
    "body": {"$or": [
        {"pull_request": {"base": {"ref": "main"}}},
        {"pull_request": {"base": {"ref": {"$starts_with": "release/"}}}}
    ]}});
    let stored = put(json!({"filters": [main_or_release]})).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    let refused =
        put(json!({"filters": [{"name": "x", "body": {"action": {"$regex": "o"}}}]})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .detail()
            .contains("body.action.$regex: unknown operator"),
        "{}",
        refused.body
    );
    let read = app
        .call::<Value>(reqwest::Method::GET, &filters, Some(&alice))
        .await;
    assert_eq!(
        read.body["filters"][0]["name"], "main-or-release",
        "unchanged"
    );

    let secret = github.hook_secret(REPO).await;
    let deliver = |base: &'static str| {
        let (app, secret) = (&app, secret.clone());
        async move {
            let body = json!({
                "action": "opened", "number": 7,
                "pull_request": {"number": 7, "state": "open", "draft": false,
                                 "head": {"sha": SHA1}, "base": {"ref": base}},
                "repository": {"full_name": REPO}, "sender": {"login": "dev", "type": "User"},
            })
            .to_string()
            .into_bytes();
            app.deliver(
                "pull_request",
                &delivery_id(),
                &body,
                Some(&sign(&secret, &body)),
            )
            .await
        }
    };
    let develop = deliver("develop").await;
    assert_eq!(develop.body["status"], "ignored", "{}", develop.body);
    assert_eq!(
        develop.body["reason"],
        "filtered: no filter admits it (main-or-release)"
    );
    let release = deliver("release/2.1").await;
    assert_eq!(release.body["status"], "received", "{}", release.body);
    // Cleared: everything is admitted again.
    assert_eq!(put(json!({"filters": []})).await.status, StatusCode::OK);
    let cleared = deliver("develop").await;
    assert_ne!(cleared.body["status"], "ignored", "{}", cleared.body);
}
