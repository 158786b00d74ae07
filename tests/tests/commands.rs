//! Comment commands end to end, on SQLite and PostgreSQL: a member's `@nectr review` re-reviews
//! (anyone else's is refused), `pause` and `resume` stop and restart automatic reviews, `describe`
//! writes a walkthrough into the description and `ask` answers with a model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{
    Backend, CORPUS_SECRET, StatusCode, TestApp, corpus_dir, delivery_id, on_both_backends, sign,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(
    a_members_review_command_re_reviews_and_pause_stops_automatic_reviews,
    describe_writes_a_walkthrough_and_ask_answers_with_a_model,
);

const REPO: &str = "acme/backend";
const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";
const SHA3: &str = "3333333333333333333333333333333333333333";

/// A leaked key (critical), an `unwrap()` and a TODO in `src/config.rs`; a leaked key in
/// `legacy/lib.rs`.
const FIRST: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,2 +1,5 @@\n fn load() {\n+    let key = \"AKIA2OGYBAH6STMMNXNN\";\n+    let v = parse().unwrap();\n+    // TODO: cache it\n }\n\
diff --git a/legacy/lib.rs b/legacy/lib.rs\n--- a/legacy/lib.rs\n+++ b/legacy/lib.rs\n\
@@ -1 +1,2 @@\n fn v() {}\n+const K: &str = \"AKIA2OGYBAH6STMMNXNN\";\n";

/// Only a TODO (a note, below `min_severity`).
const CLEAN: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,2 +1,3 @@\n fn load() {\n+    // TODO: cache it\n }\n";

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

/// An `issue_comment` `created` on pull request #7 (the corpus's, edited), signed with the
/// global secret; the answer's event id.
async fn comment(app: &TestApp, body: &str, login: &str, association: &str, id: u64) -> i64 {
    let raw = std::fs::read(corpus_dir().join("github/issue_comment/created.json")).unwrap();
    let mut payload: Value = serde_json::from_slice(&raw).unwrap();
    payload["repository"]["full_name"] = json!(REPO);
    payload["issue"]["number"] = json!(7);
    payload["issue"]["pull_request"] =
        json!({"url": format!("https://api.github.com/repos/{REPO}/pulls/7")});
    payload["comment"]["id"] = json!(id);
    payload["comment"]["body"] = json!(body);
    payload["comment"]["user"]["login"] = json!(login);
    payload["comment"]["author_association"] = json!(association);
    payload["sender"]["login"] = json!(login);
    let bytes = payload.to_string().into_bytes();
    let answer = app
        .deliver(
            "issue_comment",
            &delivery_id(),
            &bytes,
            Some(&sign(CORPUS_SECRET, &bytes)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["status"], "received", "{}", answer.body);
    answer.body["event_id"].as_i64().unwrap()
}

async fn a_members_review_command_re_reviews_and_pause_stops_automatic_reviews(backend: Backend) {
    let github = FakeGitHub::start().await;
    let moving = github.serve_moving_pull_request(REPO, 7, SHA1, CLEAN).await;
    github.accept_reviews(REPO, 7).await;
    github.accept_comments(REPO, 7).await;
    github.accept_statuses(REPO).await;
    let Some(app) = spawn(backend, &github, &[]).await else {
        return;
    };
    let first = app.deliver_pull_request(REPO, 7, SHA1, "opened").await;
    assert_eq!(app.finished_event(first).await.status, "completed");
    assert_eq!(github.posted_reviews(REPO, 7).await.len(), 1);

    // A member asks again for the same head: reviewed again, whole. A 👀 first.
    let asked = comment(&app, "@nectr review", "alice", "MEMBER", 5001).await;
    assert_eq!(app.finished_event(asked).await.status, "completed");
    assert_eq!(github.posted_reviews(REPO, 7).await.len(), 2);
    let reactions = github
        .requests(
            "POST",
            &format!("/repos/{REPO}/issues/comments/5001/reactions"),
        )
        .await;
    let reaction: Value = serde_json::from_slice(&reactions[0].body).unwrap();
    assert_eq!(reaction["content"], "eyes");
    let replies = github.posted_comments(REPO, 7).await;
    assert!(
        replies
            .iter()
            .any(|r| r.contains("Reviewed: ") && r.contains("[the review](")),
        "{replies:?}"
    );
    let result = app.last_run_result(asked).await;
    assert_eq!(
        (&result["command"], &result["outcome"]),
        (&json!("review"), &json!("completed"))
    );

    // Anyone else is refused; nothing is reviewed, no 👀.
    let refused = comment(&app, "/nectr review", "drive-by", "NONE", 5002).await;
    assert_eq!(app.finished_event(refused).await.status, "completed");
    assert_eq!(github.posted_reviews(REPO, 7).await.len(), 2);
    assert!(
        github
            .requests(
                "POST",
                &format!("/repos/{REPO}/issues/comments/5002/reactions")
            )
            .await
            .is_empty()
    );

    // Paused: a push is not reviewed, and its status says why. Resumed: the next one is.
    let paused = comment(&app, "@nectr pause", "alice", "MEMBER", 5003).await;
    assert_eq!(app.finished_event(paused).await.status, "completed");
    moving.push(SHA2, CLEAN);
    let push = app.deliver_pull_request(REPO, 7, SHA2, "synchronize").await;
    let event = app.finished_event(push).await;
    assert_eq!(event.status, "skipped");
    assert!(
        event
            .reason
            .as_deref()
            .unwrap()
            .contains("paused (by @alice; @nectr resume)"),
        "{:?}",
        event.reason
    );
    let statuses = github.statuses(REPO, SHA2).await;
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].0, "error");
    let resumed = comment(&app, "@nectr resume", "alice", "MEMBER", 5004).await;
    assert_eq!(app.finished_event(resumed).await.status, "completed");
    moving.push(SHA3, CLEAN);
    let push = app.deliver_pull_request(REPO, 7, SHA3, "synchronize").await;
    assert_eq!(app.finished_event(push).await.status, "completed");
    assert_eq!(github.posted_reviews(REPO, 7).await.len(), 3);
    let replies = github.posted_comments(REPO, 7).await;
    assert!(
        replies
            .iter()
            .any(|r| r.contains("Automatic reviews of this pull request are paused"))
    );
    assert!(
        replies
            .iter()
            .any(|r| r.contains("Automatic reviews of this pull request are back on"))
    );
}

async fn describe_writes_a_walkthrough_and_ask_answers_with_a_model(backend: Backend) {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA1, "open").await;
    github.serve_diff(REPO, 7, FIRST).await;
    github.accept_comments(REPO, 7).await;
    Mock::given(method("PATCH"))
        .and(path(format!("/repos/{REPO}/pulls/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"number": 7})))
        .mount(&github.server)
        .await;
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-2", "object": "chat.completion", "model": "gpt-4.1-mini",
            "choices": [{"index": 0, "message": {"role": "assistant",
                "content": "Read the key from the environment, as `Config::from_env` does."},
                "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520}
        })))
        .mount(&model)
        .await;

    // The built-in reviewer: a structured walkthrough, and no answers without a model.
    let Some(builtin) = spawn(backend, &github, &[]).await else {
        return;
    };
    let described = comment(&builtin, "@nectr describe", "alice", "MEMBER", 6001).await;
    assert_eq!(builtin.finished_event(described).await.status, "completed");
    let patches = github
        .requests("PATCH", &format!("/repos/{REPO}/pulls/7"))
        .await;
    let sent: Value = serde_json::from_slice(&patches[0].body).unwrap();
    let description = sent["body"].as_str().unwrap();
    assert!(
        description.contains("<!-- nectr:walkthrough:start -->"),
        "{description}"
    );
    assert!(
        description.contains("**`src`** (+3 −0)\n- `src/config.rs`: modified, +3 −0"),
        "{description}"
    );
    assert!(description.contains("**`legacy`**"), "{description}");
    let asked = comment(
        &builtin,
        "@nectr ask where should the key come from?",
        "alice",
        "MEMBER",
        6002,
    )
    .await;
    assert_eq!(builtin.finished_event(asked).await.status, "completed");
    let replies = github.posted_comments(REPO, 7).await;
    assert!(
        replies
            .iter()
            .any(|r| r.contains("Answering questions needs a model")),
        "{replies:?}"
    );

    // A model answers, and is given the question and the diff.
    let extra = [
        ("AI_PROVIDER", "openai".to_owned()),
        ("OPENAI_API_KEY", "sk-test".to_owned()),
        ("OPENAI_BASE_URL", format!("{}/v1", model.uri())),
    ];
    let Some(with_model) = spawn(backend, &github, &extra).await else {
        return;
    };
    let asked = comment(
        &with_model,
        "/nectr ask where should the key come from?",
        "alice",
        "MEMBER",
        6003,
    )
    .await;
    assert_eq!(with_model.finished_event(asked).await.status, "completed");
    let replies = github.posted_comments(REPO, 7).await;
    assert!(
        replies
            .last()
            .unwrap()
            .ends_with("Read the key from the environment, as `Config::from_env` does."),
        "{replies:?}"
    );
    let sent: Value =
        serde_json::from_slice(&model.received_requests().await.unwrap()[0].body).unwrap();
    let prompt = sent["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("<question>\nwhere should the key come from?\n</question>"),
        "{prompt}"
    );
    assert!(prompt.contains("File: src/config.rs"), "{prompt}");
    assert!(sent.get("response_format").is_none(), "prose, not JSON");
}
