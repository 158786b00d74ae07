//! Reviews as nectr's reviewers produce them: findings with a place, severity and category, and the
//! verdict that follows from their structure (never from searching the text).

use async_trait::async_trait;

use crate::memory::{ForbidRule, ProposedMemory};
use crate::review::codehost::ReviewVerdict;
use crate::review::diff::FileDiff;
use crate::tickets::{FileErrors, Ticket};

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

/// What one of the parallel review agents looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Focus {
    Security,
    CorrectnessAndPerformance,
    Maintainability,
}

impl Focus {
    pub const ALL: [Focus; 3] = [
        Self::Security,
        Self::CorrectnessAndPerformance,
        Self::Maintainability,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::CorrectnessAndPerformance => "correctness and performance",
            Self::Maintainability => "maintainability",
        }
    }

    /// The categories this agent reports.
    pub fn covers(self, category: Category) -> bool {
        match self {
            Self::Security => category == Category::Security,
            Self::CorrectnessAndPerformance => {
                matches!(category, Category::Correctness | Category::Performance)
            }
            Self::Maintainability => category == Category::Maintainability,
        }
    }
}

/// An issue the pull request says it fixes, given to the reviewer as context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIssue {
    pub number: u64,
    pub title: String,
    pub body: String,
}

/// What a reviewer is asked to review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewRequest {
    pub title: String,
    /// The pull request's description.
    pub description: Option<String>,
    pub files: Vec<FileDiff>,
    /// Issues the description links with `fixes|closes|resolves #N`.
    pub linked_issues: Vec<LinkedIssue>,
    /// The repository's own review instructions (from its base branch).
    pub instructions: Option<String>,
    /// Set for one of the parallel agents: report only findings of this focus.
    pub focus: Option<Focus>,
    /// Set when only the commits since an earlier review are shown.
    pub incremental_since: Option<String>,
    /// What the knowledge graph says of the changed files: who knows them, which earlier pull
    /// requests touched them.
    pub knowledge: Option<String>,
    /// The project memory recalled for this pull request (rules first), as the model reads it.
    pub memory: Option<String>,
    /// The repository's active `forbid` rules, which the built-in reviewer checks on added lines.
    pub rules: Vec<ForbidRule>,
    /// The built-in reviewer's rules the repository turned off (`[review] rules_off`), by id.
    pub rules_off: Vec<String>,
    /// The tickets (Linear issues) the pull request refers to. Outside text: untrusted.
    pub tickets: Vec<Ticket>,
    /// Unresolved production errors (Sentry) in the changed files. Outside text: untrusted.
    pub errors: Vec<FileErrors>,
    /// The reviewed files' whole content at the head commit, by path, for a reviewer that reads
    /// whole files ([`Reviewer::reads_sources`]). A file missing here could not be read (too large,
    /// not text, or the code host did not give it): its lines are reviewed alone.
    pub sources: Sources,
}

/// Files' content by path (shared by every chunk of a review, never copied).
pub type Sources = std::sync::Arc<std::collections::BTreeMap<String, String>>;

/// A file larger than this is not read whole for a reviewer.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

impl ReviewRequest {
    pub fn new(title: impl Into<String>, files: Vec<FileDiff>) -> Self {
        Self {
            title: title.into(),
            files,
            ..Self::default()
        }
    }
}

/// Tokens a model read and wrote for a review.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// What a reviewer answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewDraft {
    pub summary: String,
    pub findings: Vec<Finding>,
    /// Files left out, each with why (binary, generated, over budget, ...).
    pub not_covered: Vec<(String, String)>,
    /// The model that answered (`None` for the built-in reviewer).
    pub model: Option<String>,
    /// Tokens used; zero for the built-in reviewer.
    pub usage: Usage,
    /// Findings the model gave that were not valid (a line the diff does not show, an unknown
    /// severity, a missing field) and were dropped, never posted.
    pub dropped_findings: u32,
    /// Requests that were too large for the model's context and were reviewed in smaller parts.
    pub context_splits: u32,
    /// Memories the model proposes keeping (patterns, decisions, the author's habits).
    pub memories: Vec<ProposedMemory>,
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

impl ReviewDraft {
    /// One draft from several (the requests of a chunked review, or the parallel agents), each part
    /// with a label for the summary. Findings on the same line of the same file are reported once
    /// (the most severe); files not covered are named once.
    pub fn merge(parts: Vec<(String, ReviewDraft)>) -> ReviewDraft {
        let mut merged = ReviewDraft::default();
        let single = parts.len() == 1;
        for (label, part) in parts {
            if single {
                merged.summary = part.summary;
            } else {
                if !merged.summary.is_empty() {
                    merged.summary.push('\n');
                }
                merged
                    .summary
                    .push_str(&format!("- **{label}**: {}", part.summary.trim()));
            }
            for finding in part.findings {
                let same_place = merged.findings.iter_mut().find(|f| {
                    f.path == finding.path
                        && f.line <= finding.end_line.unwrap_or(finding.line)
                        && finding.line <= f.end_line.unwrap_or(f.line)
                });
                match same_place {
                    Some(existing) if finding.severity > existing.severity => *existing = finding,
                    Some(_) => {}
                    None => merged.findings.push(finding),
                }
            }
            for (path, why) in part.not_covered {
                if !merged.not_covered.iter().any(|(p, _)| *p == path) {
                    merged.not_covered.push((path, why));
                }
            }
            if merged.model.is_none() {
                merged.model = part.model;
            }
            merged.usage += part.usage;
            merged.dropped_findings += part.dropped_findings;
            merged.context_splits += part.context_splits;
            for memory in part.memories {
                if !merged.memories.contains(&memory) {
                    merged.memories.push(memory);
                }
            }
        }
        merged
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// Overload, timeouts, rate limits, malformed model output: worth trying again.
    #[error("reviewer failed, may pass on retry: {0}")]
    Transient(String),
    #[error("reviewer failed: {0}")]
    Permanent(String),
    /// The request does not fit the model's context window: the same files in smaller requests
    /// may (the review is split, not failed).
    #[error("the request exceeds the model's context: {0}")]
    TooLarge(String),
}

/// A reviewer: the built-in rules, or a model behind an API.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Reviewer: Send + Sync {
    /// Its name as recorded on runs (`builtin`, `anthropic`, ...).
    fn name(&self) -> &str;
    /// Reviews the request's files. They are classified already: the plan
    /// ([`crate::review::budget::plan`]) left out lock, vendored, generated, binary and minified
    /// files and named them, so a reviewer reads every file it is given.
    ///
    /// # Errors
    /// `Transient` for what may pass on retry (rate limits, timeouts, 5xx, a malformed or truncated
    /// answer); `TooLarge` for a request past the model's context (smaller ones may pass);
    /// `Permanent` for what will not (a refused key, a request the model cannot take).
    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError>;

    /// How many tokens of diff one request may carry, when the model's context window is known
    /// (configured, or reported by the server); the plan then packs requests to fit it. `None`:
    /// unknown, the configured budget applies (and a request the model refuses as too large is
    /// split anyway).
    async fn context_tokens(&self) -> Option<usize> {
        None
    }

    /// Whether it reads the reviewed files whole ([`ReviewRequest::sources`]); they are fetched
    /// only for a reviewer that does.
    fn reads_sources(&self) -> bool {
        false
    }

    /// A model's prose, in Markdown, for `instruction` about the pull request in `request`
    /// (`@nectr ask`, `@nectr describe`); `None` for a reviewer without a model.
    ///
    /// # Errors
    /// As [`Reviewer::review`].
    async fn write(
        &self,
        _instruction: &str,
        _request: &ReviewRequest,
    ) -> Result<Option<String>, ReviewError> {
        Ok(None)
    }
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
    fn merging_keeps_the_most_severe_finding_per_line_and_adds_up_usage() {
        let mut info = finding(Severity::Info);
        info.title = "style".into();
        let mut ranged = finding(Severity::Critical);
        ranged.line = 1;
        ranged.end_line = Some(3);
        let mut elsewhere = finding(Severity::Warning);
        elsewhere.line = 9;
        let part = |findings, tokens| ReviewDraft {
            summary: "ok".into(),
            findings,
            not_covered: vec![("x.lock".into(), "lock file".into())],
            model: Some("m".into()),
            usage: Usage {
                input_tokens: tokens,
                output_tokens: 1,
            },
            ..ReviewDraft::default()
        };
        let merged = ReviewDraft::merge(vec![
            ("Security".into(), part(vec![info, elsewhere.clone()], 10)),
            ("Maintainability".into(), part(vec![ranged.clone()], 5)),
        ]);
        assert_eq!(merged.findings, [ranged, elsewhere]);
        assert_eq!(
            merged.summary,
            "- **Security**: ok\n- **Maintainability**: ok"
        );
        assert_eq!(merged.not_covered.len(), 1);
        assert_eq!(
            (merged.usage.input_tokens, merged.usage.output_tokens),
            (15, 2)
        );
        assert_eq!(merged.model.as_deref(), Some("m"));
    }

    #[test]
    fn the_verdict_follows_the_findings_structure() {
        let draft = |findings| ReviewDraft {
            summary: "request changes please".into(),
            findings,
            ..ReviewDraft::default()
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
