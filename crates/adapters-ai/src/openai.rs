//! The OpenAI-compatible reviewer: chat completions with a JSON-schema response format, falling back
//! to JSON mode for servers that do not take a schema. OpenAI, Ollama, vLLM and llama.cpp's server all
//! speak it; `OPENAI_BASE_URL` picks the server. 429 and 5xx answers are retried, honouring
//! `retry-after`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use domain::review::{ReviewDraft, ReviewError, ReviewRequest, Reviewer, Usage};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::anthropic::retry_after;
use crate::prompt;

/// Attempts per review before the queue takes over the retrying.
const ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_BASE_URL`, up to and including `/v1` (default `https://api.openai.com/v1`; Ollama:
    /// `http://localhost:11434/v1`).
    pub base_url: String,
    /// `OPENAI_API_KEY`; local servers need none.
    pub api_key: Option<SecretString>,
    /// `OPENAI_MODEL`.
    pub model: String,
    /// `OPENAI_MAX_TOKENS`.
    pub max_tokens: u32,
    pub timeout: Duration,
}

#[derive(Debug)]
pub struct OpenAiReviewer {
    config: OpenAiConfig,
    client: reqwest::Client,
    /// Set once the server refused a JSON-schema response format: ask for JSON mode from then on.
    json_mode: AtomicBool,
}

/// How the answer's shape is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Schema,
    JsonMode,
}

impl OpenAiReviewer {
    pub fn new(config: OpenAiConfig) -> Result<Self, ReviewError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ReviewError::Permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            config,
            client,
            json_mode: AtomicBool::new(false),
        })
    }

    fn body(&self, user: &str, format: Format) -> Value {
        let (system, response_format) = match format {
            Format::Schema => (
                prompt::SYSTEM.to_owned(),
                json!({
                    "type": "json_schema",
                    "json_schema": {"name": "review", "strict": true, "schema": prompt::answer_schema()},
                }),
            ),
            Format::JsonMode => (
                format!(
                    "{}\n\nAnswer with one JSON object, and nothing else, that follows this JSON schema:\n{}",
                    prompt::SYSTEM,
                    prompt::answer_schema()
                ),
                json!({"type": "json_object"}),
            ),
        };
        json!({
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "response_format": response_format,
        })
    }

    /// One exchange with retries. `Ok(None)`: the server refused the schema response format.
    async fn ask(&self, user: &str, format: Format) -> Result<Option<Value>, ReviewError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let body = self.body(user, format);
        let mut last_error = String::new();
        for attempt in 1..=ATTEMPTS {
            let mut call = self.client.post(&url).json(&body);
            if let Some(key) = &self.config.api_key {
                call = call.bearer_auth(key.expose_secret());
            }
            let response = match call.send().await {
                Ok(response) => response,
                Err(e) => {
                    last_error = format!("the model server is unreachable: {}", e.without_url());
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            if status == 429 || status >= 500 {
                let wait = retry_after(response.headers())
                    .unwrap_or(Duration::from_millis(500 * u64::from(attempt)));
                last_error = format!("the model server answered {status}");
                tracing::warn!(
                    status,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "model server busy; retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            if (status == 400 || status == 422) && format == Format::Schema {
                tracing::warn!(
                    status,
                    "the model server refused a JSON-schema response format; using JSON mode"
                );
                return Ok(None);
            }
            if !response.status().is_success() {
                // OpenAI's error body names the problem and never echoes the key.
                let detail: Value = response.json().await.unwrap_or_default();
                let message = detail["error"]["message"]
                    .as_str()
                    .or(detail["error"].as_str())
                    .unwrap_or("no message");
                return Err(ReviewError::Permanent(format!(
                    "the model server answered {status}: {message}"
                )));
            }
            return response.json().await.map(Some).map_err(|_| {
                ReviewError::Transient("the model server's answer is not JSON".into())
            });
        }
        Err(ReviewError::Transient(last_error))
    }
}

/// The JSON object in a message's content; local models in JSON mode sometimes fence it.
fn json_in(content: &str) -> Option<Value> {
    let start = content.find('{')?;
    let end = content.rfind('}')?;
    serde_json::from_str(content.get(start..=end)?).ok()
}

#[async_trait]
impl Reviewer for OpenAiReviewer {
    fn name(&self) -> &str {
        "openai"
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError> {
        let user = prompt::user_message(request);
        let answer = if self.json_mode.load(Ordering::Relaxed) {
            self.ask(&user, Format::JsonMode).await?
        } else {
            match self.ask(&user, Format::Schema).await? {
                Some(answer) => Some(answer),
                None => {
                    self.json_mode.store(true, Ordering::Relaxed);
                    self.ask(&user, Format::JsonMode).await?
                }
            }
        };
        let Some(answer) = answer else {
            return Err(ReviewError::Permanent(
                "the model server refused the request".into(),
            ));
        };
        let usage = Usage {
            input_tokens: answer["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
            output_tokens: answer["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        };
        let model = answer["model"].as_str().unwrap_or(&self.config.model);
        tracing::info!(
            model,
            input_tokens = usage.input_tokens,
            output_tokens = usage.output_tokens,
            "model review received"
        );
        let choice = &answer["choices"][0];
        if choice["finish_reason"] == "length" {
            return Err(ReviewError::Transient(
                "the model's answer was cut off at the token limit".into(),
            ));
        }
        if choice["message"]["refusal"].is_string() {
            return Err(ReviewError::Transient(
                "the model declined to answer".into(),
            ));
        }
        let parsed = choice["message"]["content"]
            .as_str()
            .and_then(json_in)
            .ok_or_else(|| {
                ReviewError::Transient("the model's answer holds no JSON object".into())
            })?;
        prompt::parse_answer(parsed, request, model, usage)
    }
}
