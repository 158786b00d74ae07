//! `TicketSource` on Linear's GraphQL API: `issue(id:)` by identifier (`ENG-123`), each call
//! time-limited. A personal API key is sent as `Authorization: <key>`, an OAuth token
//! (`lin_oauth_…`) as `Bearer`. A missing issue is a GraphQL error in a 200 answer, read as "no
//! such ticket". The key never reaches a log or an error.

use std::time::Duration;

use async_trait::async_trait;
use domain::tickets::{Ticket, TicketSource};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

/// Linear's API, unless configured otherwise.
pub const DEFAULT_LINEAR_API_URL: &str = "https://api.linear.app/graphql";

const ISSUE_QUERY: &str = "query NectrIssue($id: String!) { issue(id: $id) { id identifier \
title description url state { name type } } }";

/// How to reach Linear.
#[derive(Debug, Clone)]
pub struct LinearConfig {
    /// The GraphQL endpoint.
    pub api_url: String,
    pub api_key: SecretString,
    /// Each call's time limit.
    pub timeout: Duration,
}

/// Linear issues as review context.
#[derive(Debug, Clone)]
pub struct LinearTickets {
    client: reqwest::Client,
    config: LinearConfig,
}

#[derive(Deserialize)]
struct WireIssue {
    id: Option<String>,
    identifier: String,
    title: String,
    description: Option<String>,
    url: Option<String>,
    state: Option<WireState>,
}

#[derive(Deserialize)]
struct WireState {
    name: Option<String>,
}

impl From<WireIssue> for Ticket {
    fn from(w: WireIssue) -> Self {
        Ticket {
            identifier: w.identifier,
            id: w.id,
            title: w.title,
            state: w.state.and_then(|s| s.name),
            description: w.description,
            url: w.url,
        }
    }
}

impl LinearTickets {
    /// Needs a process-wide rustls `CryptoProvider` (the app installs ring's at start-up).
    ///
    /// # Errors
    /// `Permanent` when the HTTP client cannot be built.
    pub fn new(config: LinearConfig) -> domain::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| domain::Error::Permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client, config })
    }

    fn authorization(&self) -> String {
        let key = self.config.api_key.expose_secret();
        if key.starts_with("lin_oauth_") {
            format!("Bearer {key}")
        } else {
            key.to_owned()
        }
    }
}

/// What GraphQL errors in an answer mean: `None` for "no such issue", else the failure.
fn errors_mean(body: &Value) -> Option<domain::Error> {
    let errors = body["errors"].as_array()?;
    let mut failure = None;
    for e in errors {
        let message = e["message"].as_str().unwrap_or("").to_ascii_lowercase();
        let extensions = &e["extensions"];
        let code = extensions["code"].as_str().unwrap_or("");
        let kind = extensions["type"].as_str().unwrap_or("");
        if message.contains("not found") || kind == "invalid input" {
            return None;
        }
        failure = Some(
            if code == "AUTHENTICATION_ERROR" || kind == "authentication error" {
                domain::Error::Permanent("Linear refused the API key (LINEAR_API_KEY)".into())
            } else if code == "RATELIMITED" || kind == "ratelimited" {
                domain::Error::Transient("Linear's rate limit".into())
            } else {
                domain::Error::Transient(format!(
                    "Linear answered with an error: {}",
                    message.chars().take(200).collect::<String>()
                ))
            },
        );
    }
    failure
}

#[async_trait]
impl TicketSource for LinearTickets {
    async fn ticket(&self, identifier: &str) -> domain::Result<Option<Ticket>> {
        let body = json!({"query": ISSUE_QUERY, "variables": {"id": identifier}});
        let response = self
            .client
            .post(&self.config.api_url)
            .header("authorization", self.authorization())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                domain::Error::Transient(format!("Linear unreachable: {}", e.without_url()))
            })?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if let Some(issue) = answer["data"]["issue"].as_object() {
            let issue: WireIssue =
                serde_json::from_value(Value::Object(issue.clone())).map_err(|e| {
                    domain::Error::Transient(format!("Linear's issue did not read: {e}"))
                })?;
            return Ok(Some(issue.into()));
        }
        if let Some(failure) = errors_mean(&answer) {
            return Err(failure);
        }
        match status {
            200..=299 | 404 => Ok(None),
            401 | 403 => Err(domain::Error::Permanent(
                "Linear refused the API key (LINEAR_API_KEY)".into(),
            )),
            400..=499 if status != 429 => Ok(None),
            _ => Err(domain::Error::Transient(format!(
                "Linear answered {status}"
            ))),
        }
    }
}
