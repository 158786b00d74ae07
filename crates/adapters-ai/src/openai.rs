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

use crate::http::{ModelClient, ServerName};
use crate::prompt;

const NAME: ServerName = ServerName {
    unreachable: "the model server is unreachable",
    answered: "the model server answered",
};

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
    client: ModelClient,
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
    /// Needs a process-wide rustls `CryptoProvider` (the app installs ring's at start-up).
    pub fn new(config: OpenAiConfig) -> Result<Self, ReviewError> {
        let client = ModelClient::new(config.timeout, NAME)?;
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
        let answer = self
            .client
            .post_json(&url, &self.body(user, format), |call| {
                match &self.config.api_key {
                    Some(key) => call.bearer_auth(key.expose_secret()),
                    None => call,
                }
            })
            .await?;
        if (answer.status == 400 || answer.status == 422) && format == Format::Schema {
            tracing::warn!(
                status = answer.status,
                "the model server refused a JSON-schema response format; using JSON mode"
            );
            return Ok(None);
        }
        if !answer.is_success() {
            return Err(ReviewError::Permanent(format!(
                "the model server answered {}: {}",
                answer.status,
                answer.error_message()
            )));
        }
        answer
            .body
            .map(Some)
            .ok_or_else(|| ReviewError::Transient("the model server's answer is not JSON".into()))
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
