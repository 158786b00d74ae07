//! Reviews as nectr's reviewers produce them: findings with a place, severity and category, and the
//! verdict that follows from their structure (never from searching the text).

use async_trait::async_trait;

use crate::codehost::ReviewVerdict;
use crate::diff::FileDiff;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Security,
    Correctness,
    Performance,
    Maintainability,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::Correctness => "correctness",
            Self::Performance => "performance",
            Self::Maintainability => "maintainability",
        }
    }
}

/// One thing a reviewer found, on RIGHT-side `line` (to `end_line`) of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub line: u32,
    pub end_line: Option<u32>,
    pub severity: Severity,
    pub category: Category,
    pub title: String,
    pub body: String,
    /// Replacement text for the line(s), rendered as a GitHub ```suggestion block; empty deletes them.
    pub suggestion: Option<String>,
}

/// What a reviewer is asked to review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRequest {
    pub title: String,
    pub files: Vec<FileDiff>,
}

/// What a reviewer answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDraft {
    pub summary: String,
    pub findings: Vec<Finding>,
    /// Files left out, each with why (binary, generated, over budget, ...).
    pub not_covered: Vec<(String, String)>,
}

impl ReviewDraft {
    /// Critical findings request changes; anything else is a comment. `own_pr`: GitHub refuses both
    /// approving and requesting changes on the token owner's own pull request, so that is a comment.
    pub fn verdict(&self, own_pr: bool) -> ReviewVerdict {
        if !own_pr
            && self
                .findings
                .iter()
                .any(|f| f.severity == Severity::Critical)
        {
            ReviewVerdict::RequestChanges
        } else {
            ReviewVerdict::Comment
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// Overload, timeouts, rate limits, malformed model output: worth trying again.
    #[error("reviewer failed, may pass on retry: {0}")]
    Transient(String),
    #[error("reviewer failed: {0}")]
    Permanent(String),
}

/// A reviewer: the built-in rules, or a model behind an API.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Reviewer: Send + Sync {
    /// Its name as recorded on runs (`builtin`, `anthropic`, ...).
    fn name(&self) -> &str;
    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity) -> Finding {
        Finding {
            path: "a.rs".into(),
            line: 1,
            end_line: None,
            severity,
            category: Category::Security,
            title: "t".into(),
            body: "b".into(),
            suggestion: None,
        }
    }

    #[test]
    fn the_verdict_follows_the_findings_structure() {
        let draft = |findings| ReviewDraft {
            summary: "request changes please".into(),
            findings,
            not_covered: vec![],
        };
        assert_eq!(
            draft(vec![]).verdict(false),
            ReviewVerdict::Comment,
            "words in the summary do not matter"
        );
        assert_eq!(
            draft(vec![finding(Severity::Warning)]).verdict(false),
            ReviewVerdict::Comment
        );
        assert_eq!(
            draft(vec![finding(Severity::Critical)]).verdict(false),
            ReviewVerdict::RequestChanges
        );
        assert_eq!(
            draft(vec![finding(Severity::Critical)]).verdict(true),
            ReviewVerdict::Comment,
            "own PR"
        );
    }
}
