//! Linear's webhooks end to end, on SQLite and PostgreSQL: a signed, fresh Issue delivery refreshes
//! the cached ticket reviews are given (so the next review does not ask Linear), the same delivery
//! again is a duplicate, other resources are recorded and ignored, and every forged, stale,
//! oversized or malformed request gets its own 4xx and a row in the delivery log marked `linear`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_db::entities::linear_issues;
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{
    Backend, CORPUS_SECRET, StatusCode, TestApp, corpus_dir, delivery_id, on_both_backends,
};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(
    a_signed_issue_delivery_refreshes_the_ticket_the_next_review_is_given,
    forged_stale_and_malformed_linear_requests_are_refused_and_logged,
);

const SECRET: &str = "lin_wh_nectr_test_secret";
const REPO: &str = "acme/backend";
const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn signature(body: &[u8]) -> String {
    domain::webhook::linear::linear_signature(
        &domain::webhook::values::WebhookSecret::parse(SECRET).unwrap(),
        body,
    )
}

/// The corpus's captured Issue `create` (2021, team KOR, issue 11) with `action`, a title and a
/// `webhookTimestamp` of `at_ms`, as Linear sends it today.
fn issue_delivery(action: &str, title: &str, at_ms: i64) -> Vec<u8> {
    let raw = std::fs::read(corpus_dir().join("linear/korosuke613.createIssue.json")).unwrap();
    let mut payload: Value = serde_json::from_slice(&raw).unwrap();
    payload["action"] = json!(action);
    payload["data"]["title"] = json!(title);
    payload["data"]["description"] = json!("Sent by Linear's webhook.");
    payload["webhookTimestamp"] = json!(at_ms);
    payload["webhookId"] = json!("6d1f2a3b-0000-4000-8000-000000000001");
    payload["organizationId"] = json!("0e6c5a3d-0000-4000-8000-000000000002");
    payload.to_string().into_bytes()
}

/// A refused request: what it is, its headers and body, the status and the logged cause.
type Case = (&'static str, Headers, Vec<u8>, u16, &'static str);
type Headers = Vec<(&'static str, String)>;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn post(app: &TestApp, headers: &[(&str, String)], body: Vec<u8>) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(format!("{}/api/v1/webhooks/linear", app.address))
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Linear's headers for `body`: JSON, a delivery id, the resource type and the signature.
fn linear_headers(delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json; charset=utf-8".to_owned()),
        ("Linear-Delivery", delivery.to_owned()),
        ("Linear-Event", "Issue".to_owned()),
        ("Linear-Signature", signature(body)),
        ("User-Agent", "Linear-Webhook".to_owned()),
    ]
}

async fn a_signed_issue_delivery_refreshes_the_ticket_the_next_review_is_given(backend: Backend) {
    let github = FakeGitHub::start().await;
    let mut pr = FakeGitHub::pull_request_json(REPO, 7, SHA, "open");
    pr["title"] = json!("KOR-11: send the webhook");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pr))
        .mount(&github.server)
        .await;
    github
        .serve_diff(REPO, 7, "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1 +1,2 @@\n fn a() {}\n+fn b() {}\n")
        .await;
    github.accept_reviews(REPO, 7).await;
    // Linear's API answers 500: the ticket can only come from the webhook's cache.
    let linear_api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&linear_api)
        .await;
    let api_url = format!("{}/graphql", linear_api.uri());
    let github_url = github.url();
    let vars = [
        ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
        ("GITHUB_API_URL", github_url.as_str()),
        ("LINEAR_WEBHOOK_SECRET", SECRET),
        ("LINEAR_API_KEY", "lin_api_testkey"),
        ("LINEAR_API_URL", api_url.as_str()),
        ("LINEAR_TEAM_KEYS", "KOR"),
    ];
    let Some(app) = TestApp::spawn_with(backend, &vars).await else {
        return;
    };

    let body = issue_delivery("create", "webhook test", now_ms());
    let delivery = delivery_id();
    let (status, answer) = post(&app, &linear_headers(&delivery, &body), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "received");
    assert_eq!(answer["event_type"], "create_linear_issue");
    let (status, again) = post(&app, &linear_headers(&delivery, &body), body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["status"], "duplicate_skipped", "{again}");

    // An update a second later replaces it.
    let body = issue_delivery("update", "Send the webhook, signed", now_ms());
    let (_, answer) = post(&app, &linear_headers(&delivery_id(), &body), body).await;
    assert_eq!(answer["status"], "received", "{answer}");
    let cached = linear_issues::Entity::find_by_id("KOR-11")
        .one(app.db.connection())
        .await
        .unwrap()
        .expect("the ticket is cached");
    assert_eq!(
        (
            cached.title.as_str(),
            cached.state.as_deref(),
            cached.url.as_deref()
        ),
        (
            "Send the webhook, signed",
            Some("Backlog"),
            Some("https://linear.app/korosuke613/issue/KOR-11/webhook-test")
        )
    );

    // A comment on an issue is recorded and ignored.
    let raw = std::fs::read(corpus_dir().join("linear/korosuke613.createComment.json")).unwrap();
    let mut comment: Value = serde_json::from_slice(&raw).unwrap();
    comment["webhookTimestamp"] = json!(now_ms());
    let comment = comment.to_string().into_bytes();
    let mut headers = linear_headers(&delivery_id(), &comment);
    headers[2].1 = "Comment".to_owned();
    let (status, answer) = post(&app, &headers, comment).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert_eq!(answer["event_type"], "create_linear_comment");

    let events = app.events().await;
    let kinds: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e.provider.as_str(),
                e.event_type.as_str(),
                e.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("linear", "create_linear_issue", "completed"),
            ("linear", "update_linear_issue", "completed"),
            ("linear", "create_linear_comment", "ignored"),
        ]
    );
    let log = app.deliveries().await;
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|d| d.provider == "linear"));
    assert!(
        log.iter()
            .all(|d| d.headers.contains("\"linear-signature\":\"[REDACTED]\"")),
        "the signature is never stored"
    );

    // The review of a pull request naming KOR-11 is given the cached ticket though Linear's API
    // is down.
    let id = app.deliver_pull_request(REPO, 7, SHA, "opened").await;
    let event = app.finished_event(id).await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);
    let review = &github.posted_reviews(REPO, 7).await[0];
    let summary = review["body"].as_str().unwrap();
    assert!(
        summary.contains("Ticket: [KOR-11](https://linear.app/korosuke613/issue/KOR-11/webhook-test) Send the webhook, signed (Backlog)"),
        "{summary}"
    );
    assert!(linear_api.received_requests().await.unwrap().is_empty());
}

async fn forged_stale_and_malformed_linear_requests_are_refused_and_logged(backend: Backend) {
    let vars = [
        ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
        ("LINEAR_WEBHOOK_SECRET", SECRET),
    ];
    let Some(app) = TestApp::spawn_with(backend, &vars).await else {
        return;
    };
    let fresh = issue_delivery("create", "t", now_ms());
    let headers = |body: &[u8]| linear_headers(&delivery_id(), body);
    let without = |body: &[u8], name: &str| -> Headers {
        headers(body)
            .into_iter()
            .filter(|(n, _)| *n != name)
            .collect()
    };
    let with = |body: &[u8], name: &str, value: String| -> Headers {
        headers(body)
            .into_iter()
            .map(|(n, v)| {
                if n == name {
                    (n, value.clone())
                } else {
                    (n, v)
                }
            })
            .collect()
    };
    let stale = issue_delivery("create", "t", now_ms() - 120_000);
    let future = issue_delivery("create", "t", now_ms() + 120_000);
    let no_timestamp = br#"{"action":"create","type":"Issue","data":{}}"#.to_vec();
    let big = vec![b' '; 1024 * 1024 + 1];
    let cases: Vec<Case> = vec![
        (
            "no signature",
            without(&fresh, "Linear-Signature"),
            fresh.clone(),
            403,
            "signature_missing",
        ),
        (
            "wrong signature",
            with(&fresh, "Linear-Signature", "0".repeat(64)),
            fresh.clone(),
            403,
            "signature_mismatch",
        ),
        (
            "uppercase hex",
            with(
                &fresh,
                "Linear-Signature",
                signature(&fresh).to_ascii_uppercase(),
            ),
            fresh.clone(),
            403,
            "signature_malformed",
        ),
        (
            "sha256= prefix",
            with(
                &fresh,
                "Linear-Signature",
                format!("sha256={}", signature(&fresh)),
            ),
            fresh.clone(),
            403,
            "signature_wrong_prefix",
        ),
        (
            "two minutes old",
            headers(&stale),
            stale.clone(),
            403,
            "timestamp_outside_window",
        ),
        (
            "two minutes ahead",
            headers(&future),
            future.clone(),
            403,
            "timestamp_outside_window",
        ),
        (
            "no timestamp",
            headers(&no_timestamp),
            no_timestamp.clone(),
            400,
            "invalid_payload",
        ),
        (
            "no delivery id",
            without(&fresh, "Linear-Delivery"),
            fresh.clone(),
            400,
            "missing_delivery_id",
        ),
        (
            "not JSON",
            with(&fresh, "Content-Type", "text/plain".into()),
            fresh.clone(),
            415,
            "unsupported_media_type",
        ),
        (
            "over 1 MiB",
            headers(&big),
            big.clone(),
            413,
            "payload_too_large",
        ),
    ];
    for (case, headers, body, status, cause) in &cases {
        let (got, answer) = post(&app, headers, body.clone()).await;
        assert_eq!(got.as_u16(), *status, "{case}: {answer}");
        assert!(
            answer["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{case}: {answer}"
        );
        let log = app.deliveries().await;
        let last = log.last().unwrap();
        assert_eq!(
            (
                last.provider.as_str(),
                last.cause.as_deref(),
                last.status_code
            ),
            ("linear", Some(*cause), i32::from(*status)),
            "{case}"
        );
    }
    assert!(
        app.events().await.is_empty(),
        "nothing refused was recorded as an event"
    );
    let get = app
        .client
        .get(format!("{}/api/v1/webhooks/linear", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.deliveries().await.last().unwrap().provider, "linear");

    // Without LINEAR_WEBHOOK_SECRET nothing is accepted.
    let Some(unset) =
        TestApp::spawn_with(backend, &[("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET)]).await
    else {
        return;
    };
    let (status, _) = post(&unset, &headers(&fresh), fresh.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        unset.deliveries().await[0].cause.as_deref(),
        Some("no_secret_configured")
    );
}
