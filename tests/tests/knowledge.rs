//! The knowledge graph end to end, on SQLite and PostgreSQL: each reviewed pull request is indexed,
//! and the next one on the same files is reviewed with its suggested reviewers and related pull
//! requests named in the body.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{Backend, CORPUS_SECRET, TestApp, on_both_backends};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

on_both_backends!(a_second_pull_request_on_the_same_files_is_reviewed_with_the_first_as_context);

const REPO: &str = "acme/backend";
const FIRST: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SECOND: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

const DIFF: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,3 +1,4 @@\n fn load() {\n+    let v = parse();\n     run();\n }\n";

async fn a_second_pull_request_on_the_same_files_is_reviewed_with_the_first_as_context(
    backend: Backend,
) {
    let github = FakeGitHub::start().await;
    // #7 by Codertocat (the corpus's author), then #8 by octo-bob, both changing src/config.rs.
    github.serve_pull_request(REPO, 7, FIRST, "open").await;
    let first_title = FakeGitHub::pull_request_json(REPO, 7, FIRST, "open")["title"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut second = FakeGitHub::pull_request_json(REPO, 8, SECOND, "open");
    second["user"]["login"] = json!("octo-bob");
    second["title"] = json!("Tune the loader");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/8")))
        .and(header("accept", "application/vnd.github+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .mount(&github.server)
        .await;
    for number in [7, 8] {
        github.serve_diff(REPO, number, DIFF).await;
        github.accept_reviews(REPO, number).await;
    }
    let url = github.url();
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
            ("GITHUB_API_URL", url.as_str()),
        ],
    )
    .await
    else {
        return;
    };

    let first = app.deliver_pull_request(REPO, 7, FIRST, "opened").await;
    assert_eq!(app.finished_event(first).await.status, "completed");
    let body = github.posted_reviews(REPO, 7).await[0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !body.contains("Suggested reviewers"),
        "nothing known yet: {body}"
    );

    let second = app.deliver_pull_request(REPO, 8, SECOND, "opened").await;
    assert_eq!(app.finished_event(second).await.status, "completed");
    let body = github.posted_reviews(REPO, 8).await[0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        body.contains(&format!(
            "**Context**\n\nSuggested reviewers: @Codertocat (1 PR on these files)\n\
             Related: #7 {first_title} (src/config.rs)"
        )),
        "{body}"
    );
    let figures = app.last_run_result(second).await;
    assert_eq!(
        (
            &figures["experts"],
            &figures["related_pull_requests"],
            &figures["graph_unavailable"]
        ),
        (&json!(1), &json!(1), &json!(false))
    );
}
