//! The OpenAI-compatible reviewer: chat completions with a JSON-schema response format, falling back
//! to JSON mode for servers that do not take a schema. OpenAI, Ollama, vLLM and llama.cpp's servers
//! all speak it; `OPENAI_BASE_URL` picks the server. 429 and 5xx answers are retried, honouring
//! `retry-after`.
//!
//! What a server supports is learnt, not configured. A schema request the server refuses in any
//! way that is not a rate limit (`400`, `422`, a 5xx whose body names `response_format` or
//! `json_schema`, or any 5xx to a server never seen answering a schema) is tried once in JSON mode
//! before the error counts as transient; once JSON mode works, the reviewer asks for it straight
//! away from then on (it is built per base URL and model). A request past the model's context (the
//! server says "context length", "context window", "too many tokens"...) is `TooLarge`: the review
//! splits it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use domain::review::{ReviewDraft, ReviewError, ReviewRequest, Reviewer, Usage};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::http::{Answer, ModelClient, ServerName};
use crate::prompt::{self, json_in};

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
    /// `OPENAI_CONTEXT_TOKENS`: the model's context window, when the server does not say it
    /// (llama.cpp's server does, at `/props`; it is asked once when this is not set).
    pub context_tokens: Option<u32>,
}

/// Tokens of a request that are not diff: the instructions, the schema in JSON mode, the title,
/// the description and linked issues. Estimated; a request that still does not fit is split.
const PROMPT_TOKENS: usize = 1_024;

#[derive(Debug)]
pub struct OpenAiReviewer {
    config: OpenAiConfig,
    client: ModelClient,
    /// What the server is known to take: [`UNKNOWN`], or the [`Format`] (as `u8`) that worked.
    supports: AtomicU8,
    /// The model's context window: configured, or asked of the server once.
    context: tokio::sync::OnceCell<Option<u32>>,
}

/// Nothing learnt yet: ask with a schema, and take any refusal of it as a reason to try JSON mode.
const UNKNOWN: u8 = 0;

/// How the answer's shape is asked for, from the most precise to the most widely taken; each is
/// tried when the one before is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Format {
    /// `response_format: json_schema`, strict (OpenAI, vLLM, Ollama, llama.cpp's C++ server).
    Schema = 1,
    /// `response_format: json_object` with the schema beside it, which llama.cpp's Python server
    /// turns into a grammar the output must follow (small models answer in shape); the schema is
    /// in the prompt too.
    JsonMode = 2,
    /// `response_format: json_object` alone, for a server that refuses the extra key.
    PlainJson = 3,
}

impl Format {
    const LADDER: [Self; 3] = [Self::Schema, Self::JsonMode, Self::PlainJson];
}

impl OpenAiReviewer {
    /// Needs a process-wide rustls `CryptoProvider` (the app installs ring's at start-up).
    pub fn new(config: OpenAiConfig) -> Result<Self, ReviewError> {
        let client = ModelClient::new(config.timeout, NAME)?;
        Ok(Self {
            config,
            client,
            supports: AtomicU8::new(UNKNOWN),
            context: tokio::sync::OnceCell::new(),
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
            Format::JsonMode | Format::PlainJson => {
                let schema = prompt::answer_schema_within(self.config.max_tokens);
                (
                    format!(
                        "{}\n\nAnswer with one JSON object, and nothing else, that follows this JSON schema:\n{schema}",
                        prompt::SYSTEM,
                    ),
                    if format == Format::JsonMode {
                        json!({"type": "json_object", "schema": schema})
                    } else {
                        json!({"type": "json_object"})
                    },
                )
            }
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

    /// One exchange with retries. `Ok(None)`: the server refused the response format asked for
    /// (the next one down [`Format::LADDER`] is then tried).
    async fn ask(&self, user: &str, format: Format) -> Result<Option<Value>, ReviewError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let schema_unproven = self.supports.load(Ordering::Relaxed) != Format::Schema as u8;
        // Answers not worth retrying although they are 5xx: a refused schema, and a request past
        // the model's context (it will not fit on a second try either).
        let final_answer = |answer: &Answer| {
            answer.exceeds_context()
                || (format == Format::Schema
                    && answer.status != 429
                    && (schema_unproven || names_the_response_format(answer)))
        };
        let answer = self
            .client
            .post_json_unless(
                &url,
                &self.body(user, format),
                |call| match &self.config.api_key {
                    Some(key) => call.bearer_auth(key.expose_secret()),
                    None => call,
                },
                final_answer,
            )
            .await?;
        if answer.exceeds_context() {
            return Err(ReviewError::TooLarge(format!(
                "the model server answered {}",
                answer.status
            )));
        }
        let refused = match format {
            Format::Schema => matches!(answer.status, 400 | 422) || answer.status >= 500,
            Format::JsonMode => matches!(answer.status, 400 | 422),
            Format::PlainJson => false,
        };
        if refused {
            return Ok(None);
        }
        if !answer.is_success() {
            return Err(ReviewError::Permanent(format!(
                "the model server answered {}: {}",
                answer.status,
                answer.error_message()
            )));
        }
        match answer.body {
            Some(body @ Value::Object(_)) => Ok(Some(body)),
            _ => Err(ReviewError::Transient(
                "the model server's answer is not JSON".into(),
            )),
        }
    }

    /// The context window llama.cpp's server reports at `/props` (beside `/v1`), if it answers
    /// within a few seconds; other servers have no such page.
    async fn reported_context(&self) -> Option<u32> {
        let base = self.config.base_url.trim_end_matches('/');
        let origin = base.strip_suffix("/v1").unwrap_or(base);
        let props = self
            .client
            .get_json(&format!("{origin}/props"), Duration::from_secs(5))
            .await?;
        let n_ctx = props["default_generation_settings"]["n_ctx"]
            .as_u64()
            .or_else(|| props["n_ctx"].as_u64())?;
        tracing::info!(n_ctx, "the model server reports its context window");
        u32::try_from(n_ctx).ok()
    }

    /// The answer to `user`, in the format the server is known to take; a refused format is
    /// followed by the next one down the ladder, once, and what works is remembered.
    async fn answer(&self, user: &str) -> Result<Value, ReviewError> {
        let known = self.supports.load(Ordering::Relaxed);
        for format in Format::LADDER {
            if (format as u8) < known {
                continue;
            }
            let Some(answer) = self.ask(user, format).await? else {
                continue;
            };
            let before = self.supports.swap(format as u8, Ordering::Relaxed);
            if format != Format::Schema && before != format as u8 {
                tracing::warn!(
                    model = %self.config.model,
                    format = ?format,
                    "the model server does not take a JSON-schema response format; asking for JSON mode from now on"
                );
            }
            return Ok(answer);
        }
        Err(refused())
    }
}

fn refused() -> ReviewError {
    ReviewError::Permanent("the model server refused the request".into())
}

/// Whether an error names the response format: the server could not take the schema.
fn names_the_response_format(answer: &Answer) -> bool {
    let text = answer.error_text();
    ["response_format", "json_schema", "response format"]
        .iter()
        .any(|w| text.contains(w))
}

#[async_trait]
impl Reviewer for OpenAiReviewer {
    fn name(&self) -> &str {
        "openai"
    }

    async fn context_tokens(&self) -> Option<usize> {
        let window = *self
            .context
            .get_or_init(|| async {
                match self.config.context_tokens {
                    Some(configured) => Some(configured),
                    None => self.reported_context().await,
                }
            })
            .await;
        // What is left for the diff once the answer and the rest of the prompt have their room.
        let left = (window? as usize)
            .saturating_sub(self.config.max_tokens as usize)
            .saturating_sub(PROMPT_TOKENS);
        Some(left.max(256))
    }

    async fn write(
        &self,
        instruction: &str,
        request: &ReviewRequest,
    ) -> Result<Option<String>, ReviewError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "messages": [
                {"role": "system", "content": prompt::WRITER},
                {"role": "user", "content": prompt::writer_message(instruction, request)},
            ],
        });
        let answer = self
            .client
            .post_json(&url, &body, |call| match &self.config.api_key {
                Some(key) => call.bearer_auth(key.expose_secret()),
                None => call,
            })
            .await?;
        let answer = answer.checked("the model server")?;
        let text = answer
            .body
            .as_ref()
            .and_then(|b| b["choices"][0]["message"]["content"].as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ReviewError::Transient("the model's answer holds no text".into()))?;
        Ok(Some(text.to_owned()))
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError> {
        let user = prompt::user_message(request);
        let answer = self.answer(&user).await?;
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
            // Cut off before `max_tokens`: the context window ran out, not the answer's budget
            // (llama.cpp's servers take such a prompt and stop when the context is full).
            if usage.output_tokens < u64::from(self.config.max_tokens) {
                return Err(ReviewError::TooLarge(
                    "the model's context ran out before its answer did".into(),
                ));
            }
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
