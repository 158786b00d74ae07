//! The accounts capability's values: users, installations (a connected repository), and the views the
//! management API reads (events, runs, reviews, deliveries), as the domain names them — never a
//! storage row.

use chrono::{DateTime, Utc};

use crate::webhook::values::RepoFullName;

/// A user who signed in with GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub github_id: i64,
    pub login: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

/// A repository connected to nectr: its webhook, whose deliveries are signed with its own secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub id: i64,
    /// Who connected it: GitHub calls about it run with their token.
    pub user_id: i64,
    pub repository: RepoFullName,
    /// The webhook's id on GitHub, when recorded.
    pub webhook_id: Option<u64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// Until when the secret before the last rotation is still accepted, when it is.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

/// One of a user's GitHub repositories, and whether nectr reviews it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryListing {
    pub full_name: String,
    pub private: bool,
    pub html_url: String,
    /// Whether the user may administer it (connect it).
    pub admin: bool,
    pub connected: bool,
    pub connected_by_you: bool,
}

/// The repositories a management read is limited to: the caller's connected ones (their keys,
/// `owner/name` in lower case). Rows of other repositories are never read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub repo_keys: Vec<String>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.repo_keys.is_empty()
    }
}

/// Which page, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u64,
    pub per_page: u64,
}

/// Items of one page and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Paged<T> {
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            total: 0,
        }
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub status: Option<String>,
    pub repository: Option<String>,
    pub event_type: Option<String>,
}

/// An accepted event and where its work stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub id: i64,
    pub delivery_id: String,
    /// `X-GitHub-Event`.
    pub event: String,
    pub action: Option<String>,
    pub event_type: String,
    pub repository: Option<String>,
    pub pr_number: Option<i64>,
    pub head_sha: Option<String>,
    pub sender: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// One attempt at an event's work.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub attempt: i32,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: String,
    pub error: Option<String>,
    /// The run's figures (JSON), `Null` when it has none.
    pub result: serde_json::Value,
}

/// A posted review: the run that posted it and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewView {
    pub run: RunView,
    pub event: EventView,
}

/// One request to the webhook endpoint, as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    pub id: i64,
    pub delivery_id: Option<String>,
    pub event: Option<String>,
    pub action: Option<String>,
    pub repository: Option<String>,
    pub outcome: String,
    pub status_code: i32,
    pub cause: Option<String>,
    pub detail: Option<String>,
    pub event_id: Option<i64>,
    pub body_size: i64,
    pub body_sha256: Option<String>,
    pub received_at: DateTime<Utc>,
    /// The headers (sensitive values redacted), as a JSON object of lower-cased names.
    pub headers: String,
}

/// What asking for a retry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    Queued,
    /// Only failed and skipped events are retried; this one is in another status.
    NotRetryable(String),
    /// A review of the same commit is already pending or running.
    AlreadyQueued,
}
