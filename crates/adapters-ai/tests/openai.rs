//! Contract tests of the OpenAI-compatible reviewer against a fake chat-completions server speaking
//! OpenAI's wire format (which Ollama, vLLM and llama.cpp's server speak too).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapters_ai::{OpenAiConfig, OpenAiReviewer};
use domain::review::diff::parse;
use domain::review::{
    Category, Focus, LinkedIssue, ReviewError, ReviewRequest, Reviewer, Severity,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DIFF: &str = "diff --git a/src/pay.rs b/src/pay.rs\n--- a/src/pay.rs\n+++ b/src/pay.rs\n@@ -1,2 +1,3 @@\n fn pay(a: u64) {\n+    let total = a * 100 / 3;\n }\n";

fn reviewer(server: &MockServer, key: Option<&str>) -> OpenAiReviewer {
    // The process-wide TLS provider the app installs at start-up.
    let _ = rustls::crypto::ring::default_provider().install_default();
    OpenAiReviewer::new(OpenAiConfig {
        base_url: format!("{}/v1", server.uri()),
        api_key: key.map(|k| k.to_owned().into()),
        model: "gpt-4.1-mini".into(),
        max_tokens: 2048,
        timeout: Duration::from_secs(5),
        context_tokens: None,
    })
    .unwrap()
}

fn request() -> ReviewRequest {
    ReviewRequest::new("Pay in thirds", parse(DIFF))
}

fn review_json() -> Value {
    json!({
        "summary": "Integer division loses cents.",
        "findings": [
            {"path": "src/pay.rs", "line": 2, "end_line": null, "severity": "critical", "category": "correctness",
             "title": "Rounding loses money", "body": "Integer division truncates.",
             "suggestion": "    let total = (a * 100).div_ceil(3);"},
            {"path": "src/pay.rs", "line": 2, "end_line": null, "severity": "info", "category": "maintainability",
             "title": "Name the constant", "body": "100 is cents per unit.", "suggestion": ""}
        ]
    })
}

/// A chat completion whose message content is `content`, as OpenAI answers.
fn completion(content: &str, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_763_800_000, "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null},
                     "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 640, "completion_tokens": 120, "total_tokens": 760}
    })
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_review_is_asked_for_with_a_strict_json_schema_and_parsed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-openai-test"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(&review_json().to_string(), "stop")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let draft = reviewer(&server, Some("sk-openai-test"))
        .review(&request())
        .await
        .unwrap();
    assert_eq!(draft.summary, "Integer division loses cents.");
    assert_eq!(draft.findings.len(), 2);
    let f = &draft.findings[0];
    assert_eq!(
        (f.path.as_str(), f.line, f.severity, f.category),
        ("src/pay.rs", 2, Severity::Critical, Category::Correctness)
    );
    assert_eq!(
        draft.findings[1].suggestion, None,
        "an empty suggestion is no suggestion"
    );
    assert_eq!(
        (draft.usage.input_tokens, draft.usage.output_tokens),
        (640, 120)
    );
    assert_eq!(draft.model.as_deref(), Some("gpt-4.1-mini-2025-04-14"));

    let sent = body_of(&server.received_requests().await.unwrap()[0]);
    assert_eq!(sent["model"], "gpt-4.1-mini");
    assert_eq!(sent["max_tokens"], 2048);
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert_eq!(sent["response_format"]["json_schema"]["strict"], true);
    let schema = &sent["response_format"]["json_schema"]["schema"];
    assert_eq!(
        schema["properties"]["findings"]["items"]["required"]
            .as_array()
            .unwrap()
            .len(),
        8,
        "strict mode: every property is required"
    );
    assert_eq!(sent["messages"][0]["role"], "system");
    let prompt = sent["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("    2 +    let total = a * 100 / 3;"),
        "{prompt}"
    );
}

#[tokio::test]
async fn a_server_without_json_schema_support_is_asked_in_json_mode_from_then_on() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(|r: &Request| body_of(r)["response_format"]["type"] == "json_schema")
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "response_format.type json_schema is not supported", "type": "invalid_request_error"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    // Local models in JSON mode often fence their answer.
    let fenced = format!("```json\n{}\n```", review_json());
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(|r: &Request| body_of(r)["response_format"]["type"] == "json_object")
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(&fenced, "stop")))
        .expect(2)
        .mount(&server)
        .await;
    let reviewer = reviewer(&server, None);
    for _ in 0..2 {
        let draft = reviewer.review(&request()).await.unwrap();
        assert_eq!(draft.findings.len(), 2);
    }
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("authorization")),
        "no key, no Authorization header (Ollama, llama.cpp)"
    );
    let system = body_of(&requests[1])["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        system.contains("follows this JSON schema") && system.contains("\"findings\""),
        "JSON mode carries the schema in the prompt"
    );
}

#[tokio::test]
async fn rate_limits_and_overload_are_retried_and_a_bad_key_is_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(
                    json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(&review_json().to_string(), "stop")),
        )
        .mount(&server)
        .await;
    let draft = reviewer(&server, Some("k"))
        .review(&request())
        .await
        .unwrap();
    assert_eq!(draft.findings.len(), 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    assert!(matches!(
        reviewer(&server, Some("k")).review(&request()).await,
        Err(ReviewError::Transient(_))
    ));
    // A server never seen answering a schema may be refusing the schema with its 500 (llama.cpp's
    // Python server does): JSON mode is tried once, with its own retries, before giving up.
    let formats: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["response_format"]["type"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        formats,
        ["json_schema", "json_object", "json_object", "json_object"]
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": "Incorrect API key provided: sk-wrong***", "type": "invalid_request_error", "code": "invalid_api_key"}
        })))
        .mount(&server)
        .await;
    assert_eq!(
        reviewer(&server, Some("sk-wrong-key"))
            .review(&request())
            .await
            .unwrap_err(),
        ReviewError::Permanent(
            "the model server answered 401: Incorrect API key provided: sk-wrong***".into()
        )
    );
}

#[tokio::test]
async fn malformed_truncated_or_refused_output_is_transient_and_its_text_is_not_repeated() {
    for answer in [
        completion("SECRET-MODEL-TEXT: looks fine to me", "stop"),
        completion(
            "{\"summary\": \"SECRET-MODEL-TEXT\", \"findings\": \"none\"}",
            "stop",
        ),
        // Cut off at the answer's budget (the reviewer's 2,048 tokens).
        {
            let mut cut = completion("{\"summary\": \"SECRET-MODEL-TEXT", "length");
            cut["usage"]["completion_tokens"] = json!(2048);
            cut
        },
        json!({"choices": [{"message": {"role": "assistant", "content": null, "refusal": "SECRET-MODEL-TEXT"}, "finish_reason": "stop"}]}),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&server)
            .await;
        let err = reviewer(&server, Some("k"))
            .review(&request())
            .await
            .unwrap_err();
        assert!(matches!(err, ReviewError::Transient(_)), "{err:?}");
        assert!(!err.to_string().contains("SECRET-MODEL-TEXT"), "{err}");
    }
}

#[tokio::test]
async fn context_and_focus_reach_the_prompt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(&review_json().to_string(), "stop")),
        )
        .mount(&server)
        .await;
    let mut request = request();
    request.description = Some("Splits payments.".into());
    request.instructions = Some("Money is always in cents.".into());
    request.linked_issues = vec![LinkedIssue {
        number: 12,
        title: "Payments are off by a cent".into(),
        body: "Seen on invoices.".into(),
    }];
    request.focus = Some(Focus::Security);
    request.incremental_since = Some("abc123".into());
    reviewer(&server, Some("k")).review(&request).await.unwrap();
    let sent = body_of(&server.received_requests().await.unwrap()[0]);
    let prompt = sent["messages"][1]["content"].as_str().unwrap();
    for expected in [
        "Splits payments.",
        "<instructions>\nMoney is always in cents.\n</instructions>",
        "issue #12: Payments are off by a cent",
        "Seen on invoices.",
        "Review for security only",
        "Only the commits since abc123 are shown",
    ] {
        assert!(
            prompt.contains(expected),
            "{expected} missing from {prompt}"
        );
    }
}

fn formats_asked(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            body_of(r)["response_format"]["type"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_500_naming_the_response_format_switches_to_json_mode_once_and_for_good() {
    // llama.cpp's Python server reports a schema it cannot take as a validation error with 500.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(wiremock::matchers::body_partial_json(
            json!({"response_format": {"type": "json_schema"}}),
        ))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"message": "1 validation error for CreateChatCompletionRequest\nresponse_format\n  Input tag 'json_schema' found using 'type' does not match any of the expected tags", "type": "internal_server_error"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(&review_json().to_string(), "stop")),
        )
        .mount(&server)
        .await;
    let reviewer = reviewer(&server, None);
    for _ in 0..3 {
        let draft = reviewer.review(&request()).await.unwrap();
        assert_eq!(draft.findings.len(), 2);
    }
    // One refused schema request, then JSON mode straight away: nothing retried, nothing asked twice.
    assert_eq!(
        formats_asked(&server.received_requests().await.unwrap()),
        ["json_schema", "json_object", "json_object", "json_object"]
    );
}

#[tokio::test]
async fn once_a_schema_worked_a_5xx_is_the_servers_trouble_and_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(&review_json().to_string(), "stop")),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(502).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    let reviewer = reviewer(&server, None);
    reviewer.review(&request()).await.unwrap();
    assert!(matches!(
        reviewer.review(&request()).await,
        Err(ReviewError::Transient(_))
    ));
    assert_eq!(
        formats_asked(&server.received_requests().await.unwrap()),
        ["json_schema"; 4],
        "the schema is kept: one success, then three tries"
    );
}

#[tokio::test]
async fn a_request_past_the_context_window_is_too_large_not_failed() {
    for (status, message) in [
        (
            400,
            "This model's maximum context length is 8192 tokens. However, your messages resulted in 9100 tokens.",
        ),
        (400, "Requested tokens (2400) exceed context window of 2048"),
        (
            500,
            "the request exceeds the available context size, try increasing it",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"error": {"message": message, "code": status}})),
            )
            .mount(&server)
            .await;
        let answer = reviewer(&server, None).review(&request()).await;
        assert!(
            matches!(answer, Err(ReviewError::TooLarge(_))),
            "{message}: {answer:?}"
        );
    }
}

#[tokio::test]
async fn a_small_models_invalid_findings_are_dropped_and_counted_the_valid_kept() {
    let answer = json!({
        "summary": "Looks risky.",
        "findings": [
            {"path": "src/pay.rs", "line": 2, "end_line": 9, "severity": "warning", "category": "correctness",
             "title": "Rounding", "body": "Truncates.", "suggestion": null},
            {"path": "src/pay.rs", "line": 40, "end_line": null, "severity": "warning", "category": "correctness",
             "title": "Not in the diff", "body": "x", "suggestion": null},
            {"path": "src/other.rs", "line": 2, "end_line": null, "severity": "warning", "category": "correctness",
             "title": "Not a file of the request", "body": "x", "suggestion": null},
            {"path": "src/pay.rs", "line": 2, "end_line": null, "severity": "high", "category": "correctness",
             "title": "Unknown severity", "body": "x", "suggestion": null},
            {"path": "src/pay.rs", "line": 1, "severity": "info", "category": "style", "title": "Unknown category"},
            {"path": "src/pay.rs", "line": "two", "severity": "info", "category": "correctness", "title": "t", "body": "b"},
            "not even an object"
        ]
    });
    // Words around the object, and a stray brace after it, as small models write.
    let content = format!("Sure! Here is the review:\n```json\n{answer}\n```\nHope that helps {{:");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(&content, "stop")))
        .mount(&server)
        .await;
    let draft = reviewer(&server, None).review(&request()).await.unwrap();
    assert_eq!(draft.summary, "Looks risky.");
    assert_eq!(draft.findings.len(), 1);
    let kept = &draft.findings[0];
    assert_eq!(
        (kept.line, kept.end_line, kept.severity),
        (2, None, Severity::Warning)
    );
    assert_eq!(draft.dropped_findings, 6);
}

#[tokio::test]
async fn the_context_window_comes_from_the_setting_else_from_llama_cpps_props_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/props"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"default_generation_settings": {"n_ctx": 8192}, "total_slots": 1}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let asked = reviewer(&server, None);
    // 8,192 less the answer's 2,048 and 1,024 for the rest of the prompt; asked once.
    assert_eq!(asked.context_tokens().await, Some(5_120));
    assert_eq!(asked.context_tokens().await, Some(5_120));

    let configured = OpenAiReviewer::new(OpenAiConfig {
        base_url: format!("{}/v1", server.uri()),
        api_key: None,
        model: "m".into(),
        max_tokens: 1_024,
        timeout: Duration::from_secs(5),
        context_tokens: Some(4_096),
    })
    .unwrap();
    assert_eq!(configured.context_tokens().await, Some(2_048));

    let silent = MockServer::start().await; // no /props: OpenAI, Ollama, vLLM
    assert_eq!(reviewer(&silent, None).context_tokens().await, None);
}

#[tokio::test]
async fn a_server_refusing_the_schema_beside_json_mode_gets_plain_json_mode() {
    let server = MockServer::start().await;
    let refuse = |body: Value| {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(wiremock::matchers::body_partial_json(body))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                json!({"error": {"message": "extra fields not permitted", "type": "invalid_request_error"}}),
            ))
    };
    refuse(json!({"response_format": {"type": "json_schema"}}))
        .mount(&server)
        .await;
    refuse(json!({"response_format": {"schema": {"type": "object"}}}))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(&review_json().to_string(), "stop")),
        )
        .mount(&server)
        .await;
    let reviewer = reviewer(&server, None);
    for _ in 0..2 {
        assert_eq!(reviewer.review(&request()).await.unwrap().findings.len(), 2);
    }
    let asked: Vec<(String, bool)> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let format = &body_of(r)["response_format"];
            (
                format["type"].as_str().unwrap_or("").to_owned(),
                format.get("schema").is_some(),
            )
        })
        .collect();
    let expected = [
        ("json_schema", false),
        ("json_object", true),
        ("json_object", false),
        ("json_object", false),
    ];
    assert_eq!(
        asked,
        expected.map(|(t, s)| (t.to_owned(), s)),
        "down the ladder once, then straight to what worked"
    );
}

#[tokio::test]
async fn an_answer_cut_off_by_the_context_before_its_budget_is_too_large() {
    // llama.cpp's servers take a prompt that leaves less room than `max_tokens` and stop when the
    // context is full: `length` with fewer tokens than asked for.
    let server = MockServer::start().await;
    let mut cut = completion("{\"summary\": \"half", "length");
    cut["usage"]["completion_tokens"] = json!(117);
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cut))
        .mount(&server)
        .await;
    assert!(matches!(
        reviewer(&server, None).review(&request()).await,
        Err(ReviewError::TooLarge(_))
    ));
}
