//! The Anthropic reviewer: the Messages API with structured output through a forced tool call.
//! 429, 529 (overloaded) and 5xx answers are retried, honouring `retry-after`.

use std::time::Duration;

use async_trait::async_trait;
use domain::review::{ReviewDraft, ReviewError, ReviewRequest, Reviewer, Usage};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::prompt;

const TOOL: &str = "submit_review";
/// Attempts per review before the queue takes over the retrying.
const ATTEMPTS: u32 = 3;
/// The longest `retry-after` honoured within one review.
const MAX_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`).
    pub base_url: String,
    pub api_key: SecretString,
    /// `ANTHROPIC_MODEL`.
    pub model: String,
    /// `ANTHROPIC_MAX_TOKENS`.
    pub max_tokens: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct AnthropicReviewer {
    config: AnthropicConfig,
    client: reqwest::Client,
}

impl AnthropicReviewer {
    pub fn new(config: AnthropicConfig) -> Result<Self, ReviewError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ReviewError::Permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { config, client })
    }

    fn body(&self, user: &str) -> Value {
        json!({
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "system": prompt::SYSTEM,
            "messages": [{"role": "user", "content": user}],
            "tools": [{
                "name": TOOL,
                "description": "Submit the review of the pull request.",
                "input_schema": prompt::answer_schema(),
            }],
            "tool_choice": {"type": "tool", "name": TOOL},
        })
    }
}

pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(secs.max(0.0)).min(MAX_WAIT))
}

#[async_trait]
impl Reviewer for AnthropicReviewer {
    fn name(&self) -> &str {
        "anthropic"
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError> {
        let user = prompt::user_message(request);
        let url = format!("{}/v1/messages", self.config.base_url.trim_end_matches('/'));
        let body = self.body(&user);
        let mut last_error = String::new();
        for attempt in 1..=ATTEMPTS {
            let response = self
                .client
                .post(&url)
                .header("x-api-key", self.config.api_key.expose_secret())
                .header("anthropic-version", "2023-06-01")
                .json(&body)
                .send()
                .await;
            let response = match response {
                Ok(response) => response,
                Err(e) => {
                    last_error = format!("Anthropic unreachable: {}", e.without_url());
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            if status == 429 || status == 529 || status >= 500 {
                let wait = retry_after(response.headers())
                    .unwrap_or(Duration::from_millis(500 * u64::from(attempt)));
                last_error = format!("Anthropic answered {status}");
                tracing::warn!(
                    status,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "Anthropic busy; retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            if !response.status().is_success() {
                // The error body names the problem (e.g. invalid x-api-key) and never echoes the key.
                let detail: Value = response.json().await.unwrap_or_default();
                let message = detail["error"]["message"].as_str().unwrap_or("no message");
                return Err(ReviewError::Permanent(format!(
                    "Anthropic answered {status}: {message}"
                )));
            }
            let answer: Value = response
                .json()
                .await
                .map_err(|_| ReviewError::Transient("Anthropic's answer is not JSON".into()))?;
            let usage = Usage {
                input_tokens: answer["usage"]["input_tokens"].as_u64().unwrap_or(0),
                output_tokens: answer["usage"]["output_tokens"].as_u64().unwrap_or(0),
            };
            let model = answer["model"].as_str().unwrap_or(&self.config.model);
            tracing::info!(
                model,
                input_tokens = usage.input_tokens,
                output_tokens = usage.output_tokens,
                "Anthropic review received"
            );
            let input = answer["content"]
                .as_array()
                .and_then(|blocks| {
                    blocks
                        .iter()
                        .find(|b| b["type"] == "tool_use" && b["name"] == TOOL)
                })
                .map(|b| b["input"].clone())
                .ok_or_else(|| {
                    ReviewError::Transient("Anthropic's answer has no review tool call".into())
                })?;
            return prompt::parse_answer(input, request, model, usage);
        }
        Err(ReviewError::Transient(last_error))
    }
}
