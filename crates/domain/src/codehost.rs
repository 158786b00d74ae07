//! The code host (GitHub) as nectr sees it: the values its calls return, the outcomes its failures map
//! to, and the ports the GitHub adapter implements.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::values::{HeadSha, RepoFullName, WebhookSecret};

/// An OAuth or personal access token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for the `Authorization` header and for encrypted storage. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// How a call to the code host failed, by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeHostError {
    /// 404: the repository, pull request, file or hook does not exist (or the token cannot see it).
    #[error("not found: {0}")]
    NotFound(String),
    /// 401: the token is missing, expired or revoked.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403 without a rate limit: the token may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 422: GitHub refused the request's content, with its message.
    #[error("validation failed: {0}")]
    Validation(String),
    /// The primary or secondary rate limit: nothing should be tried before `retry_at`.
    #[error("rate limited until {retry_at}")]
    RateLimited { retry_at: DateTime<Utc> },
    /// Timeouts, connection failures and 5xx: worth retrying later.
    #[error("transient failure: {0}")]
    Transient(String),
    /// Anything else that will not pass by retrying (an unexpected answer, a malformed body).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl CodeHostError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Transient(_))
    }
}

pub type CodeHostResult<T> = Result<T, CodeHostError>;

/// Where a pull request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRequestState {
    Open,
    Closed,
    Merged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: PullRequestState,
    pub draft: bool,
    pub author: String,
    pub head_sha: HeadSha,
    pub head_ref: String,
    pub base_sha: String,
    pub base_ref: String,
    pub html_url: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub changed_files: u64,
    pub additions: u64,
    pub deletions: u64,
}

/// One file of a pull request or comparison. `patch` is absent for binary and very large files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub filename: String,
    /// `added`, `removed`, `modified`, `renamed`, `copied`, `changed` or `unchanged`.
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    pub changes: u64,
    pub patch: Option<String>,
    pub previous_filename: Option<String>,
}

/// A file's bytes at a ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    pub path: String,
    pub sha: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// `ahead`, `behind`, `diverged` or `identical`.
    pub status: String,
    pub ahead_by: u64,
    pub behind_by: u64,
    pub total_commits: u64,
    pub files: Vec<ChangedFile>,
}

/// Which side of the diff a comment is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffSide {
    Left,
    Right,
}

impl DiffSide {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "LEFT",
            Self::Right => "RIGHT",
        }
    }
}

/// An inline comment of a review: on `line` (and from `start_line` for a range) of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineComment {
    pub path: String,
    pub line: u32,
    pub side: DiffSide,
    pub start_line: Option<u32>,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewVerdict {
    Comment,
    RequestChanges,
    Approve,
    /// Not submitted: visible to its author only, and deletable.
    Pending,
}

impl ReviewVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Comment => "COMMENT",
            Self::RequestChanges => "REQUEST_CHANGES",
            Self::Approve => "APPROVE",
            Self::Pending => "PENDING",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub commit_id: HeadSha,
    pub body: String,
    pub event: ReviewVerdict,
    pub comments: Vec<InlineComment>,
}

/// A review or comment as it stands on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub id: u64,
    pub html_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub id: u64,
    pub author: String,
    pub body: String,
    pub state: String,
    pub commit_id: Option<String>,
    pub html_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewComment {
    pub id: u64,
    pub author: String,
    pub path: String,
    pub line: Option<u32>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    pub html_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub full_name: String,
    pub private: bool,
    pub default_branch: Option<String>,
    pub html_url: String,
    /// Whether the token may administer it (create webhooks).
    pub admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contributor {
    pub login: String,
    pub contributions: u64,
}

/// A webhook on a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub id: u64,
    pub url: Option<String>,
    pub events: Vec<String>,
    pub active: bool,
}

/// A webhook nectr created, with the secret it generated for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedHook {
    pub id: u64,
    pub secret: WebhookSecret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

/// What an OAuth code was exchanged for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthGrant {
    pub token: AccessToken,
    pub scopes: Vec<String>,
}

/// Reading and writing pull requests, reviews, issues and repositories. Every call runs with `token`
/// (the connecting user's) when given, else with the configured fallback (`GITHUB_PAT`); with neither,
/// unauthenticated. Errors are [`CodeHostError`]s.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CodeHost: Send + Sync {
    async fn pull_request(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<PullRequest>;
    /// Drops anything cached about the pull request, so the next [`CodeHost::pull_request`] asks
    /// the code host itself.
    fn forget_pull_request(&self, _repo: &RepoFullName, _number: u64) {}
    /// The unified diff of the pull request.
    async fn pull_request_diff(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<String>;
    /// Every changed file, all pages (GitHub lists up to 3,000).
    async fn pull_request_files(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Vec<ChangedFile>>;
    /// A file's bytes at `git_ref`; large files come through the raw media type.
    async fn file_content(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        path: &str,
        git_ref: &str,
    ) -> CodeHostResult<FileContent>;
    async fn compare(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        base: &str,
        head: &str,
    ) -> CodeHostResult<Comparison>;
    async fn post_review(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        review: &NewReview,
    ) -> CodeHostResult<Posted>;
    /// Deletes a review that was never submitted ([`ReviewVerdict::Pending`]).
    async fn delete_pending_review(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        review_id: u64,
    ) -> CodeHostResult<()>;
    async fn post_issue_comment(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        body: &str,
    ) -> CodeHostResult<Posted>;
    /// The login the token (or the fallback) belongs to, when the code host tells; `None` for a
    /// token that may not ask (an app installation token) or when there is no token at all.
    async fn token_owner(&self, token: Option<AccessToken>) -> CodeHostResult<Option<String>>;
    /// Every review of the pull request, all pages.
    async fn reviews(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Vec<Review>>;
    /// Every inline review comment of the pull request, all pages.
    async fn review_comments(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Vec<ReviewComment>>;
    async fn issue(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Issue>;
    /// Open issues of the repository, pull requests left out, all pages.
    async fn issues(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
    ) -> CodeHostResult<Vec<Issue>>;
    /// Bytes of code per language.
    async fn languages(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
    ) -> CodeHostResult<Vec<(String, u64)>>;
    async fn contributors(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
    ) -> CodeHostResult<Vec<Contributor>>;
    /// The token owner's repositories, all pages.
    async fn user_repositories(
        &self,
        token: Option<AccessToken>,
    ) -> CodeHostResult<Vec<Repository>>;
}

/// Installing and removing nectr's webhook on a repository.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookManager: Send + Sync {
    /// Creates a webhook for `pull_request` and `issues` deliveries to `url`, with a fresh secret.
    async fn install_hook(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        url: &str,
    ) -> CodeHostResult<CreatedHook>;
    /// Deletes a webhook. One that is already gone is not an error.
    async fn uninstall_hook(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        hook_id: u64,
    ) -> CodeHostResult<()>;
    /// Gives the webhook a fresh secret and returns it.
    async fn rotate_hook_secret(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        hook_id: u64,
    ) -> CodeHostResult<WebhookSecret>;
    async fn hooks(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
    ) -> CodeHostResult<Vec<Hook>>;
}

/// GitHub's OAuth web flow, server side.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OAuthClient: Send + Sync {
    /// Exchanges the code GitHub redirected back with for an access token.
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: Option<String>,
    ) -> CodeHostResult<OAuthGrant>;
    /// The user the token belongs to.
    async fn user(&self, token: &AccessToken) -> CodeHostResult<GitHubUser>;
}
