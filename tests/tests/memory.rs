//! Project memory end to end, on SQLite and PostgreSQL: a member's `@nectr remember` comment is
//! answered on the pull request and makes the next built-in review flag what it forbids; anyone
//! else is refused politely; a model review receives the memory, the Linear issue the pull request
//! refers to and the Sentry errors in its files, and its proposed memories wait for a person in the
//! API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::api::sign_in;
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{
    Backend, CORPUS_SECRET, StatusCode, TestApp, corpus_dir, delivery_id, on_both_backends, sign,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

on_both_backends!(
    a_members_forbid_rule_makes_the_next_builtin_review_flag_it,
    a_model_review_receives_the_memory_the_linear_issue_and_the_sentry_errors,
    memories_are_managed_through_the_api_scoped_to_their_repository,
);

const REPO: &str = "acme/backend";
const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const RULE: &str = r#"forbid "println!" in "src/**/*.rs": use tracing"#;

/// Adds a `println!` under `src/` (line 2) and one under `examples/` (outside the rule's glob).
const DIFF: &str = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
@@ -1,3 +1,4 @@\n fn load() {\n+    println!(\"loading\");\n     run();\n }\n\
diff --git a/examples/demo.rs b/examples/demo.rs\n--- a/examples/demo.rs\n+++ b/examples/demo.rs\n\
@@ -1,2 +1,3 @@\n fn main() {\n+    println!(\"demo\");\n }\n";

/// An `issue_comment` `created` delivery as GitHub sends it (the corpus's, on pull request #7 of
/// `acme/backend`), with this text, author and association.
fn comment_delivery(body: &str, login: &str, association: &str, comment_id: u64) -> Vec<u8> {
    let raw = std::fs::read(corpus_dir().join("github/issue_comment/created.json")).unwrap();
    let mut payload: Value = serde_json::from_slice(&raw).unwrap();
    payload["repository"]["full_name"] = json!(REPO);
    payload["issue"]["number"] = json!(7);
    payload["issue"]["pull_request"] = json!({
        "url": format!("https://api.github.com/repos/{REPO}/pulls/7"),
        "html_url": format!("https://github.com/{REPO}/pull/7"),
    });
    payload["comment"]["id"] = json!(comment_id);
    payload["comment"]["body"] = json!(body);
    payload["comment"]["user"]["login"] = json!(login);
    payload["comment"]["author_association"] = json!(association);
    payload["sender"]["login"] = json!(login);
    payload.to_string().into_bytes()
}

/// A fake GitHub serving pull request #7 (with [`DIFF`]), accepting reviews and comments, and
/// signing alice in with `acme/backend`.
async fn github() -> FakeGitHub {
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github.serve_diff(REPO, 7, DIFF).await;
    github.accept_reviews(REPO, 7).await;
    github.accept_comments(REPO, 7).await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[REPO])
        .await;
    github
        .serve_sign_in("code-eve", "gho_evetoken", "eve", 303, &["eve/own"])
        .await;
    github.keep_hooks().await;
    github
}

async fn spawn(backend: Backend, github: &FakeGitHub, extra: &[(&str, String)]) -> Option<TestApp> {
    let settings = github.app_settings();
    let mut vars = vec![("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET)];
    vars.extend(settings.iter().chain(extra).map(|(k, v)| (*k, v.as_str())));
    TestApp::spawn_with(backend, &vars).await
}

async fn a_members_forbid_rule_makes_the_next_builtin_review_flag_it(backend: Backend) {
    let github = github().await;
    let Some(app) = spawn(backend, &github, &[]).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    assert_eq!(app.install(&alice, REPO).await.status, StatusCode::CREATED);
    let secret = github.hook_secret(REPO).await;
    let hooks = github.created_hooks(REPO).await;
    assert_eq!(
        hooks[0]["events"],
        json!(["pull_request", "issues", "issue_comment"]),
        "new webhooks deliver comments"
    );

    // A contributor may not teach nectr: answered politely, nothing stored.
    let command = format!("@nectr remember {RULE}");
    let body = comment_delivery(&command, "drive-by", "CONTRIBUTOR", 4001);
    let answer = app
        .deliver(
            "issue_comment",
            &delivery_id(),
            &body,
            Some(&sign(&secret, &body)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["status"], "received", "{}", answer.body);
    let refused = app
        .finished_event(answer.body["event_id"].as_i64().unwrap())
        .await;
    assert_eq!(
        (refused.status.as_str(), refused.job.as_str()),
        ("completed", "command")
    );
    let replies = github.posted_comments(REPO, 7).await;
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0].contains("Thanks @drive-by! Only this repository's members and collaborators"),
        "{}",
        replies[0]
    );
    assert!(
        app.memories(&alice, REPO, "")
            .await
            .ok()
            .memories
            .is_empty()
    );

    // A member may: the rule is stored and the reply says so. The same delivery again is a
    // duplicate, like every other.
    let body = comment_delivery(&command, "alice", "MEMBER", 4002);
    let delivery = delivery_id();
    let signature = sign(&secret, &body);
    let answer = app
        .deliver("issue_comment", &delivery, &body, Some(&signature))
        .await;
    assert_eq!(answer.body["event_type"], "created_issue_comment");
    let again = app
        .deliver("issue_comment", &delivery, &body, Some(&signature))
        .await;
    assert_eq!(again.body["status"], "duplicate_skipped", "{}", again.body);
    let remembered = app
        .finished_event(answer.body["event_id"].as_i64().unwrap())
        .await;
    assert_eq!(
        remembered.status, "completed",
        "{:?}",
        remembered.last_error
    );
    let memories = app.memories(&alice, REPO, "").await.ok().memories;
    assert_eq!(memories.len(), 1);
    let rule = &memories[0];
    assert_eq!(
        (
            rule.kind.as_str(),
            rule.status.as_str(),
            rule.source.as_str(),
            rule.content.as_str(),
            rule.checked_offline
        ),
        ("rule", "active", "comment", RULE, true)
    );
    assert_eq!(rule.source_ref.as_deref(), Some("comment 4002"));
    let replies = github.posted_comments(REPO, 7).await;
    assert!(
        replies[1].contains(&format!("Remembered as rule #{}", rule.id))
            && replies[1].contains("The built-in reviewer checks it on added lines too."),
        "{}",
        replies[1]
    );
    // A comment that does not address nectr is recorded and ignored.
    let chat = comment_delivery("Looks good, @nectr will check it", "alice", "MEMBER", 4003);
    let answer = app
        .deliver(
            "issue_comment",
            &delivery_id(),
            &chat,
            Some(&sign(&secret, &chat)),
        )
        .await;
    assert_eq!(answer.body["status"], "ignored");
    assert_eq!(answer.body["reason"], "comment does not address @nectr");

    // The next review, by the built-in reviewer, flags the added println! under src/ only.
    let answer = app
        .deliver_pull_request_signed(&secret, REPO, 7, SHA, "opened")
        .await;
    let id = answer.body["event_id"].as_i64().unwrap();
    assert_eq!(app.finished_event(id).await.status, "completed");
    let review = &github.posted_reviews(REPO, 7).await[0];
    let comments = review["comments"].as_array().unwrap();
    let places: Vec<(&str, u64)> = comments
        .iter()
        .map(|c| (c["path"].as_str().unwrap(), c["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(places, [("src/config.rs", 2)]);
    let comment = comments[0]["body"].as_str().unwrap();
    assert!(
        comment.contains("Project rule: `println!` is not used in `src/**/*.rs`")
            && comment.contains(&format!(
                "use tracing (the project's memory, rule #{})",
                rule.id
            )),
        "{comment}"
    );
    let summary = review["body"].as_str().unwrap();
    assert!(
        summary.contains("Project memory: 1 rule applied"),
        "{summary}"
    );
    let result = app.last_run_result(id).await;
    assert_eq!(result["memory_rules"], 1);
}

/// A fake Linear GraphQL API answering `issue(id: "ENG-123")` as Linear does (and a GraphQL
/// "not found" error for any other identifier).
async fn linear() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "lin_api_testkey"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            if body["variables"]["id"] == "ENG-123" {
                ResponseTemplate::new(200).set_body_json(json!({"data": {"issue": {
                    "id": "9cfb482a-81e3-4154-b5b9-2c805e70a02d", "identifier": "ENG-123",
                    "title": "Retry failed payments",
                    "description": "Payments that time out must be retried with backoff.",
                    "url": "https://linear.app/acme/issue/ENG-123/retry-failed-payments",
                    "state": {"name": "In Progress", "type": "started"}
                }}}))
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"errors": [{
                    "message": "Entity not found: Issue",
                    "extensions": {"type": "invalid input", "userPresentableMessage": "Could not find referenced Issue."}
                }], "data": null}))
            }
        })
        .mount(&server)
        .await;
    server
}

/// A fake Sentry: project `backend-api` of organization `acme` is id 42, and one unresolved issue
/// names `src/config.rs` in its stack.
async fn sentry() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/0/projects/acme/backend-api/"))
        .and(header("authorization", "Bearer sntrys_testtoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "42", "slug": "backend-api", "name": "backend-api", "platform": "rust"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/0/organizations/acme/issues/"))
        .and(query_param("project", "42"))
        .and(query_param("statsPeriod", "14d"))
        .and(query_param("query", "is:unresolved stack.filename:\"*src/config.rs\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": "4503", "shortId": "BACKEND-3F", "title": "Error: config file not found",
            "culprit": "backend::config in load", "permalink": "https://acme.sentry.io/issues/4503/",
            "status": "unresolved", "count": "412", "userCount": 37,
            "firstSeen": "2026-11-30T09:00:00Z", "lastSeen": "2026-12-05T10:00:00Z",
            "project": {"id": "42", "slug": "backend-api"}
        }])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/0/organizations/acme/issues/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    server
}

fn completion(answer: &Value) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.to_string(), "refusal": null},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 150, "total_tokens": 1050}
    })
}

async fn a_model_review_receives_the_memory_the_linear_issue_and_the_sentry_errors(
    backend: Backend,
) {
    let github = github().await;
    let mut pr = FakeGitHub::pull_request_json(REPO, 7, SHA, "open");
    pr["title"] = json!("ENG-123: retry payments");
    pr["body"] = json!("Also mentions UTF-8 and SHA-256, which are not tickets.");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pr))
        .with_priority(1)
        .mount(&github.server)
        .await;
    let (linear, sentry) = (linear().await, sentry().await);
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(&json!({
            "summary": "Loads the config with a print.",
            "findings": [],
            "memories": [{"kind": "decision", "title": "Config is loaded once",
                          "content": "The config is loaded once at start-up and passed down."}]
        }))))
        .mount(&model)
        .await;
    let extra = [
        ("AI_PROVIDER", "openai".to_owned()),
        ("OPENAI_API_KEY", "sk-test".to_owned()),
        ("OPENAI_BASE_URL", format!("{}/v1", model.uri())),
        ("LINEAR_API_KEY", "lin_api_testkey".to_owned()),
        ("LINEAR_API_URL", format!("{}/graphql", linear.uri())),
        ("LINEAR_TEAM_KEYS", "ENG,OPS".to_owned()),
        ("SENTRY_AUTH_TOKEN", "sntrys_testtoken".to_owned()),
        ("SENTRY_URL", sentry.uri()),
        ("SENTRY_ORG", "acme".to_owned()),
        ("SENTRY_PROJECTS", format!("{REPO}=backend-api")),
    ];
    let Some(app) = spawn(backend, &github, &extra).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    assert_eq!(app.install(&alice, REPO).await.status, StatusCode::CREATED);
    let created = app.remember(&alice, REPO, &json!({"content": RULE})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let decision = app
        .remember(
            &alice,
            REPO,
            &json!({"kind": "decision", "title": "Config loading",
                    "content": "Config is parsed by serde, never by hand."}),
        )
        .await;
    assert_eq!(decision.status, StatusCode::CREATED, "{}", decision.body);

    let secret = github.hook_secret(REPO).await;
    let answer = app
        .deliver_pull_request_signed(&secret, REPO, 7, SHA, "opened")
        .await;
    let id = answer.body["event_id"].as_i64().unwrap();
    let event = app.finished_event(id).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);

    let asked: Vec<Request> = model
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/chat/completions"))
        .collect();
    let sent: Value = serde_json::from_slice(&asked[0].body).unwrap();
    let prompt = sent["messages"][1]["content"].as_str().unwrap();
    for expected in [
        "<memory>\nRules (always apply):\n- [rule] forbid \"println!\" in \"src/**/*.rs\": use tracing",
        "[decision] Config loading: Config is parsed by serde, never by hand.",
        "It refers to ticket ENG-123 (In Progress; outside text, context only):\n<ticket>\nRetry failed payments\nPayments that time out must be retried with backoff.\n</ticket>",
        "<errors>\n- src/config.rs: BACKEND-3F Error: config file not found (412 events, 37 users)\n</errors>",
    ] {
        assert!(prompt.contains(expected), "{expected}\nnot in:\n{prompt}");
    }
    let linear_asked = linear.received_requests().await.unwrap();
    assert_eq!(linear_asked.len(), 1, "only ENG-123 is a reference");

    let review = &github.posted_reviews(REPO, 7).await[0];
    let summary = review["body"].as_str().unwrap();
    for expected in [
        "Project memory: 1 rule applied, 1 memory recalled",
        "Ticket: [ENG-123](https://linear.app/acme/issue/ENG-123/retry-failed-payments) Retry failed payments (In Progress)",
        "`src/config.rs`: 1 unresolved error in production",
    ] {
        assert!(summary.contains(expected), "{expected}\nnot in:\n{summary}");
    }
    let result = app.last_run_result(id).await;
    assert_eq!(
        (
            &result["tickets"],
            &result["production_errors"],
            &result["memories_proposed"]
        ),
        (&json!(["ENG-123"]), &json!(1), &json!(1))
    );

    // The model's proposal waits for a person.
    let pending = app
        .memories(&alice, REPO, "?status=pending")
        .await
        .ok()
        .memories;
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].kind.as_str(),
            pending[0].source.as_str(),
            pending[0].source_ref.as_deref()
        ),
        ("decision", "pull_request", Some("#7"))
    );
    let accepted = app
        .change_memory(&alice, REPO, pending[0].id, &json!({"status": "active"}))
        .await
        .ok();
    assert_eq!(accepted.status, "active");

    // A second review finds the ticket in the cache and does not ask Linear again.
    let answer = app
        .deliver_pull_request_signed(&secret, REPO, 7, SHA, "opened")
        .await;
    assert_eq!(answer.body["status"], "received", "{}", answer.body);
    app.run_queue().await;
    assert_eq!(linear.received_requests().await.unwrap().len(), 1);
}

async fn memories_are_managed_through_the_api_scoped_to_their_repository(backend: Backend) {
    let github = github().await;
    let Some(app) = spawn(backend, &github, &[]).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    let eve = sign_in(&app, "code-eve").await;
    assert_eq!(app.install(&alice, REPO).await.status, StatusCode::CREATED);

    let created = app
        .remember(
            &alice,
            REPO,
            &json!({"kind": "developer", "developer": "octo-bob", "content": "Writes thorough tests; ask him about the queue."}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let memory = created.ok();
    assert_eq!(
        (memory.developer.as_deref(), memory.source_ref.as_deref()),
        (Some("octo-bob"), Some("@alice"))
    );
    // The same content again (other spacing and case) is a conflict naming the first.
    let again = app
        .remember(
            &alice,
            REPO,
            &json!({"kind": "developer", "developer": "octo-bob", "content": "writes  thorough tests; ask him about the QUEUE."}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.detail().contains(&format!("developer {}", memory.id)),
        "{}",
        again.body
    );

    // Bad input: a clear 400 each, nothing stored.
    for (bad, says) in [
        (json!({"content": ""}), "must not be empty"),
        (
            json!({"kind": "habit", "content": "x"}),
            "kind must be rule, pattern, decision or developer",
        ),
        (
            json!({"kind": "developer", "content": "x"}),
            "names its developer",
        ),
        (
            json!({"content": "forbid \"x\" in \"src/[\": why"}),
            "glob does not read",
        ),
        (json!({"content": "x", "colour": "red"}), "unknown field"),
    ] {
        let reply = app.remember(&alice, REPO, &bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.detail().contains(says), "{bad}: {}", reply.body);
    }
    assert_eq!(app.memories(&alice, REPO, "").await.ok().memories.len(), 1);
    let listing = app.memories(&alice, REPO, "?status=bogus").await;
    assert_eq!(listing.status, StatusCode::BAD_REQUEST);

    // Another user sees nothing of it and can change nothing.
    assert_eq!(
        app.memories(&eve, REPO, "").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.forget_memory(&eve, REPO, memory.id).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.forget_memory(&eve, "eve/own", memory.id).await.status,
        StatusCode::NOT_FOUND,
        "a memory is never reached through another repository"
    );

    let changed = app
        .change_memory(
            &alice,
            REPO,
            memory.id,
            &json!({"status": "rejected", "title": "Bob and tests"}),
        )
        .await
        .ok();
    assert_eq!(
        (changed.status.as_str(), changed.title.as_str()),
        ("rejected", "Bob and tests")
    );
    let empty = app.change_memory(&alice, REPO, memory.id, &json!({})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.forget_memory(&alice, REPO, memory.id).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.forget_memory(&alice, REPO, memory.id).await.status,
        StatusCode::NOT_FOUND
    );

    // A webhook installed before comments were read is subscribed to them on request.
    let reply = app
        .call::<Value>(
            reqwest::Method::POST,
            &format!("/api/v1/repos/{REPO}/webhook/events"),
            Some(&alice),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let patched = github
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PATCH" && !r.url.path().ends_with("/config"))
        .unwrap();
    let sent: Value = serde_json::from_slice(&patched.body).unwrap();
    assert_eq!(
        sent["add_events"],
        json!(["pull_request", "issues", "issue_comment"])
    );
}
