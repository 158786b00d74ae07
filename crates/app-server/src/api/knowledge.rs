//! The knowledge graph's API: `/api/v1/repos/{owner}/{repo}/experts` and
//! `/api/v1/repos/{owner}/{repo}/pulls/{number}/related`.

use chrono::{DateTime, Utc};
use domain::knowledge::{FileExpert, RelatedPullRequest};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Paths one question may name, at most.
pub const MAX_PATHS: usize = 200;
/// Answers one question may ask for, at most.
pub const MAX_LIMIT: usize = 50;

/// `?path=P&path=Q&limit=N` (a path may repeat, which serde's query reader does not take).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnowledgeQuery {
    pub paths: Vec<String>,
    pub limit: usize,
}

impl KnowledgeQuery {
    /// Reads a query string; unknown keys are refused, so a typo is not silently ignored.
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let mut parsed = Self {
            paths: Vec::new(),
            limit: 10,
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "path" if !value.trim().is_empty() => parsed.paths.push(value.trim().to_owned()),
                "path" => return Err(ApiError::BadRequest("path must not be empty".into())),
                "limit" => {
                    parsed.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "limit must be between 1 and {MAX_LIMIT}, got {value}"
                            ))
                        })?;
                }
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown query parameter '{other}' (path, limit)"
                    )));
                }
            }
        }
        if parsed.paths.len() > MAX_PATHS {
            return Err(ApiError::BadRequest(format!(
                "at most {MAX_PATHS} paths, got {}",
                parsed.paths.len()
            )));
        }
        Ok(parsed)
    }
}

/// One suggested reviewer.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExpertBody {
    pub login: String,
    /// Their pull requests that touched the paths.
    pub pull_requests: u32,
    pub last_at: DateTime<Utc>,
}

impl From<FileExpert> for ExpertBody {
    fn from(e: FileExpert) -> Self {
        Self {
            login: e.login,
            pull_requests: e.pull_requests,
            last_at: e.last_at,
        }
    }
}

/// `GET /api/v1/repos/{owner}/{repo}/experts`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExpertsBody {
    pub repository: String,
    pub paths: Vec<String>,
    pub experts: Vec<ExpertBody>,
}

/// One related pull request.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RelatedBody {
    pub number: u64,
    pub title: String,
    pub author: String,
    pub at: DateTime<Utc>,
    pub shared_paths: Vec<String>,
}

impl From<RelatedPullRequest> for RelatedBody {
    fn from(r: RelatedPullRequest) -> Self {
        Self {
            number: r.number,
            title: r.title,
            author: r.author,
            at: r.at,
            shared_paths: r.shared_paths,
        }
    }
}

/// `GET /api/v1/repos/{owner}/{repo}/pulls/{number}/related`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RelatedPullsBody {
    pub repository: String,
    pub number: u64,
    /// The paths the pull request was indexed with.
    pub paths: Vec<String>,
    pub related: Vec<RelatedBody>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_repeat_and_everything_else_is_checked() {
        let q = KnowledgeQuery::parse("path=src%2Fa.rs&path=src/b.rs&limit=3").unwrap();
        assert_eq!(
            (q.paths.as_slice(), q.limit),
            (&["src/a.rs".to_owned(), "src/b.rs".to_owned()][..], 3)
        );
        assert_eq!(KnowledgeQuery::parse("").unwrap().limit, 10);
        for bad in [
            "limit=0",
            "limit=51",
            "limit=x",
            "path=",
            "paths=a",
            "limit=18446744073709551616",
        ] {
            assert!(KnowledgeQuery::parse(bad).is_err(), "{bad}");
        }
        let many = (0..=MAX_PATHS)
            .map(|i| format!("path=f{i}"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(KnowledgeQuery::parse(&many).is_err());
    }
}
