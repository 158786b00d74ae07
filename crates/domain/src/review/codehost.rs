//! The code host as the review use case sees it: pull requests, their changed files, comparisons,
//! reviews and linked issues, and the [`CodeHost`] port the GitHub adapter implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::codehost::{AccessToken, CodeHostResult};
use crate::webhook::values::{HeadSha, RepoFullName};

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
    /// The labels' names.
    pub labels: Vec<String>,
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
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    pub html_url: String,
}

/// A commit status's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    Pending,
    Success,
    Failure,
    Error,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
        }
    }
}

/// A commit status to set (`POST /repos/{o}/{r}/statuses/{sha}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    pub state: StatusState,
    /// `nectr/review`.
    pub context: String,
    /// At most 140 characters (GitHub's limit; longer is cut).
    pub description: String,
    pub target_url: Option<String>,
}

/// A comment in a pull request's conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueComment {
    pub id: u64,
    pub author: String,
    pub body: String,
}

/// Reading pull requests, their files and issues, and posting reviews. Every call runs with `token`
/// (the connecting user's) when given, else with the configured fallback (`GITHUB_PAT`); with neither,
/// unauthenticated.
///
/// # Errors
/// Every method fails with a [`CodeHostError`](crate::codehost::CodeHostError): `NotFound` for a missing repository, pull request, file
/// or review (or one the token cannot see), `Unauthorized`, `Forbidden`, `Validation` with GitHub's
/// message (a 422, e.g. a comment on a line outside the diff), `RateLimited` with the reset time, and
/// `Transient` for timeouts, connection failures and 5xx. Deleting a pending review that is already gone
/// is `NotFound`.
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
    /// Page `page` (from 1; 100 a page) of the repository's closed pull requests, most recently
    /// updated first, merged or not; an empty page past the last.
    async fn closed_pull_requests(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        page: u32,
    ) -> CodeHostResult<Vec<PullRequest>>;
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
    async fn issue(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Issue>;
    /// Sets a commit status on `sha`.
    async fn set_status(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        sha: &str,
        status: &CommitStatus,
    ) -> CodeHostResult<()>;
    /// Every comment in the conversation of issue or pull request `number`, all pages, oldest
    /// first.
    async fn issue_comments(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Vec<IssueComment>>;
    /// Replaces pull request `number`'s description.
    async fn update_pull_request_body(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        body: &str,
    ) -> CodeHostResult<()>;
    /// Replaces the body of comment `comment_id`.
    async fn update_comment(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        comment_id: u64,
        body: &str,
    ) -> CodeHostResult<()>;
    /// Adds a reaction (`eyes`, `+1`, ...) to comment `comment_id`.
    async fn react(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        comment_id: u64,
        content: &str,
    ) -> CodeHostResult<()>;
    /// Posts `body` as a comment in the conversation of issue or pull request `number`; returns
    /// the comment's id.
    async fn comment(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        body: &str,
    ) -> CodeHostResult<u64>;
}
