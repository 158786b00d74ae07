//! The Anthropic reviewer: the Messages API with structured output through a forced tool call.
//! 429, 529 (overloaded) and 5xx answers are retried, honouring `retry-after`.

use std::time::Duration;

use async_trait::async_trait;
use domain::review::{ReviewDraft, ReviewError, ReviewRequest, Reviewer, Usage};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::http::{ModelClient, ServerName};
use crate::prompt;

const TOOL: &str = "submit_review";

const NAME: ServerName = ServerName {
    unreachable: "Anthropic unreachable",
    answered: "Anthropic answered",
};

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
    client: ModelClient,
}

impl AnthropicReviewer {
    /// Needs a process-wide rustls `CryptoProvider` (the app installs ring's at start-up).
    pub fn new(config: AnthropicConfig) -> Result<Self, ReviewError> {
        let client = ModelClient::new(config.timeout, NAME)?;
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

#[async_trait]
impl Reviewer for AnthropicReviewer {
    fn name(&self) -> &str {
        "anthropic"
    }

    async fn write(
        &self,
        instruction: &str,
        request: &ReviewRequest,
    ) -> Result<Option<String>, ReviewError> {
        let url = format!("{}/v1/messages", self.config.base_url.trim_end_matches('/'));
        let body = json!({
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "system": prompt::WRITER,
            "messages": [{"role": "user", "content": prompt::writer_message(instruction, request)}],
        });
        let answer = self
            .client
            .post_json(&url, &body, |call| {
                call.header("x-api-key", self.config.api_key.expose_secret())
                    .header("anthropic-version", "2023-06-01")
            })
            .await?;
        let answer = answer.checked("Anthropic")?;
        let text: String = answer
            .body
            .as_ref()
            .and_then(|b| b["content"].as_array())
            .map(|blocks| {
                blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Err(ReviewError::Transient(
                "Anthropic's answer holds no text".into(),
            ));
        }
        Ok(Some(text.trim().to_owned()))
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError> {
        let user = prompt::user_message(request);
        let url = format!("{}/v1/messages", self.config.base_url.trim_end_matches('/'));
        let answer = self
            .client
            .post_json(&url, &self.body(&user), |call| {
                call.header("x-api-key", self.config.api_key.expose_secret())
                    .header("anthropic-version", "2023-06-01")
            })
            .await?;
        let answer = answer.checked("Anthropic")?;
        let answer = answer
            .body
            .filter(Value::is_object)
            .ok_or_else(|| ReviewError::Transient("Anthropic's answer is not JSON".into()))?;
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
        prompt::parse_answer(input, request, model, usage)
    }
}
