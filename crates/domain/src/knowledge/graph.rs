//! The knowledge graph: pull requests, the developers who wrote them and the files they touched.
//! It answers two questions a reviewer asks of a change: who knows these files (file experts), and
//! which earlier pull requests touched them (related pull requests). Adapters store it in SQL (the
//! default) or in a Cypher graph database; the rules of what counts live here.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::webhook::values::RepoFullName;

/// A pull request as the graph keeps it. Indexing it again replaces what was kept (its files
/// above all), so renames and force-pushes leave no stale links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedPullRequest {
    pub repository: RepoFullName,
    pub number: u64,
    pub title: String,
    /// The author's login.
    pub author: String,
    /// When it was merged, or else reviewed: what "recent" is measured by.
    pub at: DateTime<Utc>,
    pub merged: bool,
    /// The verdict of nectr's review, when it reviewed it.
    pub verdict: Option<String>,
    /// The paths it changed (the new path of a renamed file).
    pub paths: Vec<String>,
}

/// A developer who wrote pull requests on the asked paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileExpert {
    pub login: String,
    /// Distinct pull requests of theirs that touched any of the paths.
    pub pull_requests: u32,
    /// The most recent of them.
    pub last_at: DateTime<Utc>,
}

/// An earlier pull request that touched some of the asked paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedPullRequest {
    pub number: u64,
    pub title: String,
    pub author: String,
    pub at: DateTime<Utc>,
    /// The asked paths it touched, sorted.
    pub shared_paths: Vec<String>,
}

/// Where the graph is kept.
///
/// The answers never hold the asking pull request itself, never its author as their own expert, and
/// nothing of bots (logins ending in `[bot]`: their pull requests are dependency bumps, not
/// knowledge). Experts come ordered by how many of their
/// pull requests touched the paths, then by the most recent; related pull requests by how many paths
/// they share, then by the most recent; ties by login or number.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait KnowledgeGraph: Send + Sync {
    /// Keeps `pull_request`, replacing what was kept of it before.
    ///
    /// # Errors
    /// `Transient` when the store is unavailable.
    async fn index(&self, pull_request: &IndexedPullRequest) -> Result<()>;

    /// At most `limit` developers who wrote pull requests touching `paths`, `exclude_author` left
    /// out (compared without case).
    ///
    /// # Errors
    /// `Transient` when the store is unavailable.
    async fn file_experts(
        &self,
        repository: &RepoFullName,
        paths: &[String],
        exclude_author: Option<String>,
        limit: usize,
    ) -> Result<Vec<FileExpert>>;

    /// At most `limit` pull requests touching `paths`, `exclude_number` left out.
    ///
    /// # Errors
    /// `Transient` when the store is unavailable.
    async fn related_pull_requests(
        &self,
        repository: &RepoFullName,
        paths: &[String],
        exclude_number: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RelatedPullRequest>>;

    /// The paths pull request `number` was indexed with, sorted; `None` when it is not indexed.
    ///
    /// # Errors
    /// `Transient` when the store is unavailable.
    async fn pull_request_paths(
        &self,
        repository: &RepoFullName,
        number: u64,
    ) -> Result<Option<Vec<String>>>;
}

/// No knowledge graph: indexes nothing and knows no one. The explicit choice for embedders and
/// tools that review without one (nectr itself always has its SQL store).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKnowledge;

#[async_trait]
impl KnowledgeGraph for NoKnowledge {
    async fn index(&self, _pull_request: &IndexedPullRequest) -> Result<()> {
        Ok(())
    }

    async fn file_experts(
        &self,
        _repository: &RepoFullName,
        _paths: &[String],
        _exclude_author: Option<String>,
        _limit: usize,
    ) -> Result<Vec<FileExpert>> {
        Ok(Vec::new())
    }

    async fn related_pull_requests(
        &self,
        _repository: &RepoFullName,
        _paths: &[String],
        _exclude_number: Option<u64>,
        _limit: usize,
    ) -> Result<Vec<RelatedPullRequest>> {
        Ok(Vec::new())
    }

    async fn pull_request_paths(
        &self,
        _repository: &RepoFullName,
        _number: u64,
    ) -> Result<Option<Vec<String>>> {
        Ok(None)
    }
}

/// Whether a login is a bot's: GitHub Apps' accounts end in `[bot]`.
pub fn is_bot(login: &str) -> bool {
    login.to_ascii_lowercase().ends_with("[bot]")
}

/// What the graph tells a review: suggested reviewers and related pull requests, or that it could
/// not be asked in time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewContext {
    pub experts: Vec<FileExpert>,
    pub related: Vec<RelatedPullRequest>,
    /// The graph failed or did not answer within its time limit: the review goes on without it.
    pub unavailable: bool,
}

impl ReviewContext {
    /// The review body's "Context" lines; empty when there is nothing to say.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if self.unavailable {
            text.push_str("_Context: the knowledge graph was unavailable for this review._\n");
            return text;
        }
        if !self.experts.is_empty() {
            let names: Vec<String> = self
                .experts
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    if i == 0 {
                        format!(
                            "@{} ({} PR{} on these files)",
                            e.login,
                            e.pull_requests,
                            if e.pull_requests == 1 { "" } else { "s" }
                        )
                    } else {
                        format!("@{} ({})", e.login, e.pull_requests)
                    }
                })
                .collect();
            text.push_str(&format!("Suggested reviewers: {}\n", names.join(", ")));
        }
        if !self.related.is_empty() {
            let prs: Vec<String> = self
                .related
                .iter()
                .map(|r| {
                    format!(
                        "#{} {} ({})",
                        r.number,
                        r.title.replace(['\n', '\r'], " "),
                        r.shared_paths.join(", ")
                    )
                })
                .collect();
            text.push_str(&format!("Related: {}\n", prs.join("; ")));
        }
        text
    }

    /// The same for a model's prompt: who knows the files and what was changed there before.
    pub fn prompt(&self) -> Option<String> {
        if self.experts.is_empty() && self.related.is_empty() {
            return None;
        }
        let mut text = String::new();
        for e in &self.experts {
            text.push_str(&format!(
                "- @{} wrote {} earlier pull request(s) on these files\n",
                e.login, e.pull_requests
            ));
        }
        for r in &self.related {
            text.push_str(&format!(
                "- #{} \"{}\" by @{} changed {}\n",
                r.number,
                r.title.replace(['\n', '\r'], " "),
                r.author,
                r.shared_paths.join(", ")
            ));
        }
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-12-01T10:00:00Z".parse().unwrap_or_default()
    }

    #[test]
    fn bots_are_known_by_their_login() {
        assert!(is_bot("dependabot[bot]"));
        assert!(is_bot("Renovate[BOT]"));
        assert!(!is_bot("bot-builder"));
    }

    #[test]
    fn the_context_names_experts_and_related_pull_requests() {
        let context = ReviewContext {
            experts: vec![
                FileExpert {
                    login: "alice".into(),
                    pull_requests: 7,
                    last_at: at(),
                },
                FileExpert {
                    login: "bob".into(),
                    pull_requests: 3,
                    last_at: at(),
                },
            ],
            related: vec![RelatedPullRequest {
                number: 12,
                title: "Add cache".into(),
                author: "alice".into(),
                at: at(),
                shared_paths: vec!["src/cache.rs".into()],
            }],
            unavailable: false,
        };
        assert_eq!(
            context.render(),
            "Suggested reviewers: @alice (7 PRs on these files), @bob (3)\n\
             Related: #12 Add cache (src/cache.rs)\n"
        );
        assert!(
            context
                .prompt()
                .unwrap()
                .contains("#12 \"Add cache\" by @alice")
        );
        assert_eq!(ReviewContext::default().render(), "");
        assert!(ReviewContext::default().prompt().is_none());
        let down = ReviewContext {
            unavailable: true,
            ..ReviewContext::default()
        };
        assert!(down.render().contains("unavailable"));
    }
}
