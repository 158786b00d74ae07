//! The knowledge graph end to end, on SQLite and PostgreSQL: each reviewed pull request is indexed,
//! the next one on the same files is reviewed with its suggested reviewers and related pull requests
//! named in the body, and the API answers the same to the user who connected the repository (and
//! 404 to anyone else).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::api::sign_in;
use nectr_tests::arcadedb::ArcadeDb;
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{
    Backend, CORPUS_SECRET, StatusCode, TestApp, delivery_id, on_both_backends, sign,
};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

on_both_backends!(
    a_second_pull_request_on_the_same_files_is_reviewed_with_the_first_as_context,
    a_merged_pull_request_is_indexed_from_its_delivery_and_named_by_the_next_review,
    connecting_a_repository_backfills_its_merged_pull_requests,
);

const REPO: &str = "acme/backend";
const FIRST: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SECOND: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

const DIFF: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,3 +1,4 @@\n fn load() {\n+    let v = parse();\n     run();\n }\n";

async fn a_second_pull_request_on_the_same_files_is_reviewed_with_the_first_as_context(
    backend: Backend,
) {
    scenario(backend, &[]).await;
}

/// The same with the graph in ArcadeDB over Bolt (`GRAPH_URL`) instead of nectr's own database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_with_the_graph_in_arcadedb_over_bolt() {
    let Some(arcadedb) = ArcadeDb::start() else {
        return;
    };
    scenario(Backend::Sqlite, &arcadedb.settings()).await;
}

async fn scenario(backend: Backend, graph: &[(&'static str, String)]) {
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
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[REPO])
        .await;
    github
        .serve_sign_in("code-eve", "gho_evetoken", "eve", 303, &["eve/own"])
        .await;
    github.keep_hooks().await;
    let settings = github.app_settings();
    let mut vars = vec![("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET)];
    vars.extend(settings.iter().chain(graph).map(|(k, v)| (*k, v.as_str())));
    let Some(app) = TestApp::spawn_with(backend, &vars).await else {
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

    // The API, to the user who connected the repository.
    let alice = sign_in(&app, "code-alice").await;
    assert_eq!(app.install(&alice, REPO).await.status, StatusCode::CREATED);
    let experts = app
        .experts(&alice, REPO, "path=src/config.rs&path=src/other.rs")
        .await
        .ok();
    let found: Vec<(&str, u32)> = experts
        .experts
        .iter()
        .map(|e| (e.login.as_str(), e.pull_requests))
        .collect();
    assert_eq!(
        found,
        [("octo-bob", 1), ("Codertocat", 1)],
        "ties: the most recent first"
    );
    let related = app.related(&alice, REPO, 8).await.ok();
    assert_eq!(related.paths, ["src/config.rs"]);
    let numbers: Vec<(u64, &str)> = related
        .related
        .iter()
        .map(|r| (r.number, r.title.as_str()))
        .collect();
    assert_eq!(numbers, [(7, first_title.as_str())]);
    let unknown = app.related(&alice, REPO, 99).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.detail().contains("not in the knowledge graph yet"));
    let no_path = app.experts(&alice, REPO, "").await;
    assert_eq!(no_path.status, StatusCode::BAD_REQUEST, "{}", no_path.body);

    // Anyone else: 404, never the data.
    let eve = sign_in(&app, "code-eve").await;
    assert_eq!(
        app.experts(&eve, REPO, "path=src/config.rs").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.related(&eve, REPO, 8).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn a_merged_pull_request_is_indexed_from_its_delivery_and_named_by_the_next_review(
    backend: Backend,
) {
    let github = FakeGitHub::start().await;
    // #7 was merged (nectr never reviewed it); #8 by octo-bob changes the same file.
    github.serve_pull_request(REPO, 7, FIRST, "merged").await;
    let mut second = FakeGitHub::pull_request_json(REPO, 8, SECOND, "open");
    second["user"]["login"] = json!("octo-bob");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/8")))
        .and(header("accept", "application/vnd.github+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .mount(&github.server)
        .await;
    for number in [7, 8] {
        github.serve_diff(REPO, number, DIFF).await;
    }
    github.accept_reviews(REPO, 8).await;
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

    // GitHub's `closed` delivery of a merged pull request: queued as an index job.
    let merged = json!({
        "action": "closed", "number": 7,
        "pull_request": {"number": 7, "state": "closed", "draft": false, "merged": true,
                         "merged_at": "2026-12-01T10:00:00Z", "head": {"sha": FIRST},
                         "updated_at": "2026-12-01T10:00:00Z"},
        "repository": {"full_name": REPO}, "sender": {"login": "Codertocat", "type": "User"},
    })
    .to_string()
    .into_bytes();
    let answer = app
        .deliver(
            "pull_request",
            &delivery_id(),
            &merged,
            Some(&sign(CORPUS_SECRET, &merged)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["status"], "received", "{}", answer.body);
    assert_eq!(answer.body["event_type"], "closed_pull_request");
    let indexed = answer.body["event_id"].as_i64().unwrap();
    assert_eq!(app.finished_event(indexed).await.status, "completed");
    assert_eq!(
        app.last_run_result(indexed).await,
        json!({"indexed": 7, "paths": 1})
    );
    assert!(
        github.posted_reviews(REPO, 7).await.is_empty(),
        "a merge is indexed, not reviewed"
    );

    let review = app.deliver_pull_request(REPO, 8, SECOND, "opened").await;
    assert_eq!(app.finished_event(review).await.status, "completed");
    let body = github.posted_reviews(REPO, 8).await[0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        body.contains("Suggested reviewers: @Codertocat (1 PR on these files)"),
        "{body}"
    );
    assert!(body.contains("Related: #7 "), "{body}");
}

async fn connecting_a_repository_backfills_its_merged_pull_requests(backend: Backend) {
    let github = FakeGitHub::start().await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[REPO])
        .await;
    github.keep_hooks().await;
    // Its history: #5 merged by carol, #4 closed without merging.
    let mut merged = FakeGitHub::pull_request_json(REPO, 5, FIRST, "merged");
    merged["user"]["login"] = json!("carol");
    let closed = FakeGitHub::pull_request_json(REPO, 4, SECOND, "closed");
    for (page, pulls) in [("1", json!([merged, closed])), ("2", json!([]))] {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/pulls")))
            .and(query_param("state", "closed"))
            .and(query_param("page", page))
            .respond_with(ResponseTemplate::new(200).set_body_json(pulls))
            .mount(&github.server)
            .await;
    }
    github.serve_diff(REPO, 5, DIFF).await;
    let settings = github.app_settings();
    let vars: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(app) = TestApp::spawn_with(backend, &vars).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    assert_eq!(app.install(&alice, REPO).await.status, StatusCode::CREATED);
    // The backfill runs after the answer: the graph knows carol within moments.
    let started = std::time::Instant::now();
    let experts = loop {
        let experts = app.experts(&alice, REPO, "path=src/config.rs").await.ok();
        if !experts.experts.is_empty() {
            break experts;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "not backfilled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let found: Vec<(&str, u32)> = experts
        .experts
        .iter()
        .map(|e| (e.login.as_str(), e.pull_requests))
        .collect();
    assert_eq!(found, [("carol", 1)], "the merged one only");
    // Connected with alice's token: GitHub was read with it.
    let listed = github
        .requests("GET", &format!("/repos/{REPO}/pulls"))
        .await;
    assert!(listed.iter().all(|r| {
        r.headers
            .get("authorization")
            .is_some_and(|v| v.to_str().unwrap_or("").contains("gho_alicetoken"))
    }));
}
