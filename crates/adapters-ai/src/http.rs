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

    /// The `error.message` (or `error`) of an error body, which names the problem and never echoes a
    /// key.
    pub fn error_message(&self) -> &str {
        let error = self.body.as_ref().map(|b| &b["error"]);
        error
            .and_then(|e| e["message"].as_str().or(e.as_str()))
            .unwrap_or("no message")
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
            let body = response.json().await.ok();
            return Ok(Answer { status, body });
        }
        Err(ReviewError::Transient(last_error))
    }
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
