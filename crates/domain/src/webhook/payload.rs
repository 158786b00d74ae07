//! What nectr reads of a delivery's JSON body, as domain values, and the port that reads it: GitHub's
//! wire shapes live in the GitHub adapter, which converts them into these at the edge.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::webhook::values::RepoFullName;

/// The fields of a webhook payload nectr reads. Every one is optional here, so that any JSON object
/// is a payload; the event rules decide what a kind of event requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryPayload {
    pub action: Option<String>,
    /// `repository.full_name`, as sent (it may be malformed).
    pub repository: Option<String>,
    pub sender: Option<PayloadSender>,
    pub pull_request: Option<PayloadPullRequest>,
    /// `comment` of an `issue_comment`.
    pub comment: Option<PayloadComment>,
    /// `issue` of an `issue_comment` (a pull request's conversation is its issue).
    pub issue: Option<PayloadIssue>,
    /// `hook_id` and `zen` of a `ping`.
    pub hook_id: Option<i64>,
    pub zen: Option<String>,
}

/// `sender`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadSender {
    pub login: Option<String>,
    /// `type`: `User`, `Bot`, `Organization`.
    pub kind: Option<String>,
}

/// `pull_request`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadPullRequest {
    pub number: Option<u64>,
    /// `open` or `closed`.
    pub state: Option<String>,
    pub draft: Option<bool>,
    /// `head.sha`.
    pub head_sha: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    /// `merged`, or whether `merged_at` is set.
    pub merged: Option<bool>,
}

/// `comment`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadComment {
    pub id: Option<u64>,
    pub body: Option<String>,
    /// `user.login`.
    pub author: Option<String>,
    /// `author_association`: `OWNER`, `MEMBER`, `COLLABORATOR`, `CONTRIBUTOR`, `NONE`, ...
    pub author_association: Option<String>,
}

/// `issue`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadIssue {
    pub number: Option<u64>,
    /// Whether `issue.pull_request` is present: the issue is a pull request's conversation.
    pub is_pull_request: bool,
}

impl DeliveryPayload {
    /// `repository.full_name`, if present and well formed: it picks the secret the signature is
    /// checked with.
    pub fn repository(&self) -> Option<RepoFullName> {
        RepoFullName::parse(self.repository.as_deref()?).ok()
    }
}

/// Reads a delivery's raw body.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait PayloadReader: Send + Sync {
    /// The payload of `body`.
    ///
    /// # Errors
    /// `Invalid` for bytes that are not a JSON object of the expected shape; the message says where.
    fn read(&self, body: &[u8]) -> Result<DeliveryPayload>;
}
