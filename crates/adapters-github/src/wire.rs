//! GitHub's JSON shapes, only the fields nectr reads, converted into domain values at the edge.

use chrono::{DateTime, Utc};
use domain::accounts::github::{GitHubUser, Repository};
use domain::codehost::CodeHostError;
use domain::review::codehost::{
    ChangedFile, Comparison, Issue, IssueComment, Posted, PullRequest, PullRequestState, Review,
};
use domain::webhook::values::HeadSha;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub login: String,
    #[serde(default)]
    pub id: u64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

impl From<User> for GitHubUser {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            login: u.login,
            name: u.name,
            email: u.email,
            avatar_url: u.avatar_url,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Ref {
    pub sha: String,
    #[serde(rename = "ref")]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Label {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Pull {
    #[serde(default)]
    pub labels: Vec<Label>,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub merged: bool,
    pub merged_at: Option<DateTime<Utc>>,
    pub user: Option<User>,
    pub head: Ref,
    pub base: Ref,
    pub html_url: String,
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub changed_files: u64,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
}

impl TryFrom<Pull> for PullRequest {
    type Error = CodeHostError;

    fn try_from(p: Pull) -> Result<Self, Self::Error> {
        let state = match p.state.as_str() {
            _ if p.merged || p.merged_at.is_some() => PullRequestState::Merged,
            "open" => PullRequestState::Open,
            _ => PullRequestState::Closed,
        };
        let head_sha = HeadSha::parse(&p.head.sha)
            .map_err(|e| CodeHostError::Permanent(format!("pull request {}: {e}", p.number)))?;
        Ok(Self {
            number: p.number,
            title: p.title,
            body: p.body,
            state,
            draft: p.draft,
            author: p.user.map(|u| u.login).unwrap_or_default(),
            head_sha,
            head_ref: p.head.name,
            base_sha: p.base.sha,
            base_ref: p.base.name,
            html_url: p.html_url,
            updated_at: p.updated_at,
            changed_files: p.changed_files,
            additions: p.additions,
            deletions: p.deletions,
            labels: p.labels.into_iter().map(|l| l.name).collect(),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct File {
    pub filename: String,
    pub status: String,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
    #[serde(default)]
    pub changes: u64,
    pub patch: Option<String>,
    pub previous_filename: Option<String>,
}

impl From<File> for ChangedFile {
    fn from(f: File) -> Self {
        Self {
            filename: f.filename,
            status: f.status,
            additions: f.additions,
            deletions: f.deletions,
            changes: f.changes,
            patch: f.patch,
            previous_filename: f.previous_filename,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Compare {
    pub status: String,
    #[serde(default)]
    pub ahead_by: u64,
    #[serde(default)]
    pub behind_by: u64,
    #[serde(default)]
    pub total_commits: u64,
    #[serde(default)]
    pub files: Vec<File>,
}

impl From<Compare> for Comparison {
    fn from(c: Compare) -> Self {
        Self {
            status: c.status,
            ahead_by: c.ahead_by,
            behind_by: c.behind_by,
            total_commits: c.total_commits,
            files: c.files.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Content {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    pub sha: String,
    #[serde(default)]
    pub size: u64,
    pub content: Option<String>,
    pub encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Created {
    pub id: u64,
    #[serde(default)]
    pub html_url: String,
}

impl From<Created> for Posted {
    fn from(c: Created) -> Self {
        Self {
            id: c.id,
            html_url: c.html_url,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireReview {
    pub id: u64,
    pub user: Option<User>,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    pub commit_id: Option<String>,
    #[serde(default)]
    pub html_url: String,
}

impl From<WireReview> for Review {
    fn from(r: WireReview) -> Self {
        Self {
            id: r.id,
            author: r.user.map(|u| u.login).unwrap_or_default(),
            body: r.body.unwrap_or_default(),
            state: r.state,
            commit_id: r.commit_id,
            html_url: r.html_url,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireIssue {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    pub html_url: String,
}

impl From<WireIssue> for Issue {
    fn from(i: WireIssue) -> Self {
        Self {
            number: i.number,
            title: i.title,
            body: i.body,
            state: i.state,
            html_url: i.html_url,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Permissions {
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Repo {
    pub full_name: String,
    #[serde(default)]
    pub private: bool,
    pub default_branch: Option<String>,
    pub html_url: String,
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

impl From<Repo> for Repository {
    fn from(r: Repo) -> Self {
        Self {
            full_name: r.full_name,
            private: r.private,
            default_branch: r.default_branch,
            html_url: r.html_url,
            admin: r.permissions.unwrap_or_default().admin,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireComment {
    pub id: u64,
    pub user: Option<User>,
    #[serde(default)]
    pub body: Option<String>,
}

impl From<WireComment> for IssueComment {
    fn from(c: WireComment) -> Self {
        Self {
            id: c.id,
            author: c.user.map(|u| u.login).unwrap_or_default(),
            body: c.body.unwrap_or_default(),
        }
    }
}
