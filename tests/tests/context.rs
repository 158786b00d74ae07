//! Contract tests of the outside context against fake Linear GraphQL and Sentry servers that answer
//! with their real response shapes: what is asked, how answers and failures read, and that a slow
//! or failing source never fails a review (it is named in the run's figures instead).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use adapters_ai::{LinearConfig, LinearTickets, SentryConfig, SentryErrors};
use domain::tickets::{ErrorTracker, TicketSource};
use domain::webhook::values::RepoFullName;
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{Backend, CORPUS_SECRET, TestApp};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn linear(server: &MockServer, key: &str) -> LinearTickets {
    app_server::install_crypto_provider();
    LinearTickets::new(LinearConfig {
        api_url: format!("{}/graphql", server.uri()),
        api_key: key.to_owned().into(),
        timeout: Duration::from_millis(300),
    })
    .unwrap()
}

fn sentry(server: &MockServer) -> SentryErrors {
    app_server::install_crypto_provider();
    SentryErrors::new(SentryConfig {
        url: server.uri(),
        auth_token: "sntrys_token".to_owned().into(),
        org: "acme".into(),
        projects: HashMap::from([("acme/backend".to_owned(), "backend-api".to_owned())]),
        timeout: Duration::from_millis(300),
    })
    .unwrap()
}

fn repo() -> RepoFullName {
    RepoFullName::parse("Acme/Backend").unwrap()
}

#[tokio::test]
async fn linear_is_asked_for_the_issue_by_identifier_with_the_key_as_linear_wants_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "lin_api_personal"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({"variables": {"id": "ENG-7"}})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"issue": {
                "id": "2b3c", "identifier": "ENG-7", "title": "Login fails", "description": null,
                "url": "https://linear.app/acme/issue/ENG-7/login-fails",
                "state": {"name": "Todo", "type": "unstarted"}
            }}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let ticket = linear(&server, "lin_api_personal")
        .ticket("ENG-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            ticket.title.as_str(),
            ticket.state.as_deref(),
            ticket.description
        ),
        ("Login fails", Some("Todo"), None)
    );
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert!(sent["query"].as_str().unwrap().contains("issue(id: $id)"));

    // An OAuth token goes as a bearer token.
    let oauth = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer lin_oauth_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"issue": null}})))
        .expect(1)
        .mount(&oauth)
        .await;
    assert_eq!(
        linear(&oauth, "lin_oauth_token")
            .ticket("ENG-8")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn linear_s_answers_and_failures_read_as_what_they_mean() {
    let cases = [
        // A missing issue is a GraphQL error in a 200.
        (
            ResponseTemplate::new(200).set_body_json(json!({"errors": [{"message": "Entity not found: Issue",
                "extensions": {"type": "invalid input", "userPresentableMessage": "Could not find referenced Issue."}}], "data": null})),
            "none",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"errors": [{"message": "Authentication required, not authenticated",
                "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR"}}]})),
            "permanent",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"errors": [{"message": "Rate limit exceeded",
                "extensions": {"code": "RATELIMITED"}}]})),
            "transient",
        ),
        (ResponseTemplate::new(401), "permanent"),
        (ResponseTemplate::new(503), "transient"),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"issue": null}}))
                .set_delay(Duration::from_secs(2)),
            "transient",
        ),
    ];
    for (answer, means) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let got = linear(&server, "lin_api_key").ticket("ENG-1").await;
        let read = match &got {
            Ok(None) => "none",
            Ok(Some(_)) => "some",
            Err(domain::Error::Permanent(_)) => "permanent",
            Err(_) => "transient",
        };
        assert_eq!(read, means, "{got:?}");
        if let Err(e) = got {
            assert!(
                !e.to_string().contains("lin_api_key"),
                "the key never shows: {e}"
            );
        }
    }
}

#[tokio::test]
async fn sentry_is_asked_per_file_in_the_repository_s_project_looked_up_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/0/projects/acme/backend-api/"))
        .and(header("authorization", "Bearer sntrys_token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "42", "slug": "backend-api"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/0/organizations/acme/issues/"))
        .and(query_param("project", "42"))
        .and(query_param("statsPeriod", "14d"))
        .and(query_param("limit", "3"))
        .and(query_param("query", "is:unresolved stack.filename:\"*src/pay.rs\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "1", "shortId": "BACKEND-1", "title": "ZeroDivisionError", "culprit": "pay in charge",
             "permalink": "https://acme.sentry.io/issues/1/", "count": "412", "userCount": 37,
             "lastSeen": "2026-12-05T10:00:00Z", "status": "unresolved"},
            {"id": "2", "shortId": "BACKEND-2", "title": "Timeout", "culprit": null, "permalink": null,
             "count": 3, "userCount": 0, "lastSeen": "2026-12-04T10:00:00.123456Z", "status": "unresolved"}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/0/organizations/acme/issues/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let tracker = sentry(&server);
    let paths = vec!["src/pay.rs".to_owned(), "README.md".to_owned()];
    for _ in 0..2 {
        let found = tracker.unresolved_errors(&repo(), &paths).await.unwrap();
        assert_eq!(found.len(), 1, "files without errors are left out");
        assert_eq!(found[0].path, "src/pay.rs");
        let counts: Vec<(&str, u64, u64)> = found[0]
            .errors
            .iter()
            .map(|e| (e.short_id.as_str(), e.count, e.user_count))
            .collect();
        assert_eq!(counts, [("BACKEND-1", 412, 37), ("BACKEND-2", 3, 0)]);
    }
    // A repository without a project is not asked about.
    let other = RepoFullName::parse("acme/web").unwrap();
    assert!(
        tracker
            .unresolved_errors(&other, &paths)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn sentry_failures_are_permanent_or_transient_and_never_show_the_token() {
    for (answer, permanent) in [
        (
            ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid token"})),
            true,
        ),
        (
            ResponseTemplate::new(404)
                .set_body_json(json!({"detail": "The requested resource does not exist"})),
            true,
        ),
        (ResponseTemplate::new(429), false),
        (ResponseTemplate::new(502), false),
        (
            ResponseTemplate::new(200).set_delay(Duration::from_secs(2)),
            false,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let e = sentry(&server)
            .unresolved_errors(&repo(), &["a.rs".to_owned()])
            .await
            .unwrap_err();
        assert_eq!(matches!(e, domain::Error::Permanent(_)), permanent, "{e}");
        assert!(!e.to_string().contains("sntrys_token"));
    }
}

/// Linear answering 500 and Sentry too slow: the review is posted all the same, and its figures
/// name both sources as unavailable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_slow_source_never_fails_a_review() {
    const REPO: &str = "acme/backend";
    const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let github = FakeGitHub::start().await;
    let mut pr = FakeGitHub::pull_request_json(REPO, 7, SHA, "open");
    pr["title"] = json!("ENG-5 tidy");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pr))
        .mount(&github.server)
        .await;
    github
        .serve_diff(REPO, 7, "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1 +1,2 @@\n fn a() {}\n+fn b() {}\n")
        .await;
    github.accept_reviews(REPO, 7).await;
    let down = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&down)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&down)
        .await;
    let (github_url, down_url) = (github.url(), down.uri());
    let linear_url = format!("{down_url}/graphql");
    let vars = [
        ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
        ("GITHUB_API_URL", github_url.as_str()),
        ("LINEAR_API_KEY", "lin_api_key"),
        ("LINEAR_API_URL", linear_url.as_str()),
        ("LINEAR_TEAM_KEYS", "ENG"),
        ("SENTRY_AUTH_TOKEN", "sntrys_token"),
        ("SENTRY_URL", down_url.as_str()),
        ("SENTRY_ORG", "acme"),
        ("SENTRY_PROJECTS", "acme/backend=backend-api"),
        ("CONTEXT_TIMEOUT_MS", "300"),
    ];
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, &vars).await else {
        return;
    };
    let id = app.deliver_pull_request(REPO, 7, SHA, "opened").await;
    let event = app.finished_event(id).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);
    assert_eq!(github.posted_reviews(REPO, 7).await.len(), 1);
    let result = app.last_run_result(id).await;
    assert_eq!(result["sources_unavailable"], json!(["tickets", "errors"]));
}
