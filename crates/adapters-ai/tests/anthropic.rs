//! Contract tests of the Anthropic reviewer against a fake Messages API speaking its wire format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapters_ai::{AnthropicConfig, AnthropicReviewer};
use domain::review::diff::parse;
use domain::review::{Category, ReviewError, ReviewRequest, Reviewer, Severity};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DIFF: &str = "diff --git a/src/pay.rs b/src/pay.rs\n--- a/src/pay.rs\n+++ b/src/pay.rs\n@@ -1,2 +1,3 @@\n fn pay(a: u64) {\n+    let total = a * 100 / 3;\n }\n";

fn reviewer(server: &MockServer) -> AnthropicReviewer {
    // The process-wide TLS provider the app installs at start-up.
    let _ = rustls::crypto::ring::default_provider().install_default();
    AnthropicReviewer::new(AnthropicConfig {
        base_url: server.uri(),
        api_key: "sk-ant-test-key".to_owned().into(),
        model: "claude-sonnet-4-6".into(),
        max_tokens: 4096,
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn request() -> ReviewRequest {
    ReviewRequest::new("Pay in thirds", parse(DIFF))
}

fn tool_answer(input: Value) -> Value {
    json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
        "content": [
            {"type": "text", "text": "Reviewing."},
            {"type": "tool_use", "id": "toolu_01", "name": "submit_review", "input": input}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 812, "output_tokens": 140}
    })
}

fn good_input() -> Value {
    json!({
        "summary": "Integer division loses cents.",
        "findings": [
            {"path": "src/pay.rs", "line": 2, "severity": "critical", "category": "correctness",
             "title": "Rounding loses money", "body": "Integer division truncates.", "suggestion": "    let total = (a * 100).div_ceil(3);"},
            {"path": "src/elsewhere.rs", "line": 9, "severity": "info", "category": "style",
             "title": "Not in this PR", "body": "Dropped."}
        ]
    })
}

#[tokio::test]
async fn a_review_is_asked_for_with_a_forced_tool_call_and_parsed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-test-key"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tool_answer(good_input())))
        .expect(1)
        .mount(&server)
        .await;
    let draft = reviewer(&server).review(&request()).await.unwrap();
    assert_eq!(draft.summary, "Integer division loses cents.");
    assert_eq!(
        draft.findings.len(),
        1,
        "findings on files outside the PR are dropped"
    );
    let f = &draft.findings[0];
    assert_eq!(
        (f.path.as_str(), f.line, f.severity, f.category),
        ("src/pay.rs", 2, Severity::Critical, Category::Correctness)
    );
    assert_eq!(
        f.suggestion.as_deref(),
        Some("    let total = (a * 100).div_ceil(3);")
    );

    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4-6");
    assert_eq!(sent["max_tokens"], 4096);
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "tool", "name": "submit_review"})
    );
    assert_eq!(
        sent["tools"][0]["input_schema"]["required"],
        json!(["summary", "findings", "memories"])
    );
    let prompt = sent["messages"][0]["content"].as_str().unwrap();
    assert!(
        prompt.contains("File: src/pay.rs")
            && prompt.contains("    2 +    let total = a * 100 / 3;"),
        "{prompt}"
    );
}

#[tokio::test]
async fn overload_and_rate_limits_are_retried_honouring_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(529)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tool_answer(good_input())))
        .mount(&server)
        .await;
    let draft = reviewer(&server).review(&request()).await.unwrap();
    assert_eq!(draft.findings.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn persistent_overload_is_transient_and_a_bad_key_is_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    assert!(matches!(
        reviewer(&server).review(&request()).await,
        Err(ReviewError::Transient(_))
    ));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        ))
        .mount(&server)
        .await;
    assert_eq!(
        reviewer(&server).review(&request()).await.unwrap_err(),
        ReviewError::Permanent("Anthropic answered 401: invalid x-api-key".into())
    );
}

#[tokio::test]
async fn malformed_output_is_transient_and_its_text_is_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": [{"type": "text", "text": "SECRET-MODEL-TEXT here is my review in prose"}],
            "usage": {"input_tokens": 1, "output_tokens": 1}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tool_answer(
            json!({"summary": "SECRET-MODEL-TEXT", "findings": "none"}),
        )))
        .mount(&server)
        .await;
    let reviewer = reviewer(&server);
    for _ in 0..2 {
        let err = reviewer.review(&request()).await.unwrap_err();
        assert!(matches!(err, ReviewError::Transient(_)), "{err:?}");
        assert!(!err.to_string().contains("SECRET-MODEL-TEXT"), "{err}");
    }
}
