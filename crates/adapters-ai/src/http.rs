//! The model clients' one transport: a JSON POST retried on connection failures, 429 and 5xx (529,
//! Anthropic's "overloaded", among them), honouring `retry-after` up to a bound, then handed back as
//! the first answer that is not worth retrying. Used by the Anthropic and OpenAI-compatible reviewers.

use std::time::Duration;

use domain::review::ReviewError;
use serde_json::Value;

/// Attempts per review before the queue takes over the retrying.
const ATTEMPTS: u32 = 3;
/// The longest `retry-after` honoured within one review.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// How errors name the server: `Anthropic`, `the model server`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerName {
    /// "Anthropic unreachable", "the model server is unreachable".
    pub unreachable: &'static str,
    /// "Anthropic answered", "the model server answered".
    pub answered: &'static str,
}

/// A model server's answer that is not worth retrying: its status and its body, when it is JSON.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Option<Value>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `error.message` (or `error`, or `detail`) of an error body, which names the problem and
    /// never echoes a key.
    pub fn error_message(&self) -> &str {
        let Some(body) = self.body.as_ref() else {
            return "no message";
        };
        let error = &body["error"];
        error["message"]
            .as_str()
            .or(error.as_str())
            .or(body["detail"].as_str())
            .unwrap_or("no message")
    }

    /// Whether the server says the request is past the model's context window (the words of
    /// Anthropic, OpenAI, vLLM, llama.cpp's servers and Ollama).
    pub fn exceeds_context(&self) -> bool {
        if self.is_success() {
            return false;
        }
        let text = self.error_text();
        [
            "context length",
            "context_length",
            "context window",
            "context size",
            "maximum context",
            "too many tokens",
            "exceed context",
            "exceeds the context",
            "prompt is too long",
        ]
        .iter()
        .any(|w| text.contains(w))
    }

    /// The answer if it is a success; else `TooLarge` for a request past the model's context and
    /// `Permanent` for any other refusal, naming `who` answered (`Anthropic`, `the model server`).
    pub fn checked(self, who: &str) -> Result<Self, ReviewError> {
        if self.exceeds_context() {
            return Err(ReviewError::TooLarge(format!(
                "{who} answered {}",
                self.status
            )));
        }
        if !self.is_success() {
            return Err(ReviewError::Permanent(format!(
                "{who} answered {}: {}",
                self.status,
                self.error_message()
            )));
        }
        Ok(self)
    }

    /// The whole error body in lower case, to look for words in.
    pub fn error_text(&self) -> String {
        match &self.body {
            Some(Value::String(text)) => text.to_ascii_lowercase(),
            Some(body) => body.to_string().to_ascii_lowercase(),
            None => String::new(),
        }
    }
}

/// A reqwest client for one model server.
#[derive(Debug, Clone)]
pub(crate) struct ModelClient {
    client: reqwest::Client,
    name: ServerName,
}

impl ModelClient {
    /// Needs a process-wide rustls `CryptoProvider` (the app installs ring's at start-up).
    pub fn new(timeout: Duration, name: ServerName) -> Result<Self, ReviewError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ReviewError::Permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client, name })
    }

    /// Posts `body` to `url`, with `headers` added by `authorize`, until an answer is not worth
    /// retrying. After the last attempt the failure is transient: the queue retries later.
    pub async fn post_json(
        &self,
        url: &str,
        body: &Value,
        authorize: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Answer, ReviewError> {
        self.post_json_unless(url, body, authorize, |_| false).await
    }

    /// The same, but a 429 or 5xx answer that `final_answer` picks (it sees the status and the
    /// body) is handed back at once instead of being retried: a server that reports a request it
    /// cannot take as a server error.
    pub async fn post_json_unless(
        &self,
        url: &str,
        body: &Value,
        authorize: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
        final_answer: impl Fn(&Answer) -> bool,
    ) -> Result<Answer, ReviewError> {
        let mut last_error = String::new();
        for attempt in 1..=ATTEMPTS {
            let backoff = Duration::from_millis(500 * u64::from(attempt));
            let response = match authorize(self.client.post(url).json(body)).send().await {
                Ok(response) => response,
                Err(e) => {
                    last_error = format!("{}: {}", self.name.unreachable, e.without_url());
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            if status == 429 || status >= 500 {
                let wait = retry_after(response.headers()).unwrap_or(backoff);
                let answer = Answer {
                    status,
                    body: read_body(response).await,
                };
                if final_answer(&answer) {
                    return Ok(answer);
                }
                last_error = format!("{} {status}", self.name.answered);
                tracing::warn!(
                    status,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "model server busy; retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok(Answer {
                status,
                body: read_body(response).await,
            });
        }
        Err(ReviewError::Transient(last_error))
    }
}

impl ModelClient {
    /// `GET url`'s JSON body within `timeout`; `None` for any failure (an optional page).
    pub async fn get_json(&self, url: &str, timeout: Duration) -> Option<Value> {
        let response = self.client.get(url).timeout(timeout).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }
}

/// A body as JSON; one that is not (llama.cpp's Python server answers some errors as text) as a
/// JSON string, so its words can still be read.
async fn read_body(response: reqwest::Response) -> Option<Value> {
    let text = response.text().await.ok()?;
    Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(secs.max(0.0)).min(MAX_WAIT))
}
