//! Backfill: a repository's past merged pull requests indexed into the knowledge graph, newest first,
//! up to a limit. Resumable: a pull request already in the graph is not asked about again, so a run
//! stopped by a rate limit (or anything else) goes on where it stopped when run again.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::codehost::CodeHostError;
use crate::knowledge::KnowledgeGraph;
use crate::knowledge::index::merged;
use crate::review::RepositoryTokens;
use crate::review::codehost::{CodeHost, PullRequestState};
use crate::webhook::values::RepoFullName;

/// Pages of closed pull requests looked through at most (100 a page).
const MAX_PAGES: u32 = 100;

/// What a backfill did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Merged pull requests looked at (at most the limit).
    pub merged: usize,
    /// Of them, indexed by this run.
    pub indexed: usize,
    /// Of them, already in the graph (an earlier run, a review, a merge delivery).
    pub already_indexed: usize,
}

/// Why a backfill stopped before its end, and what it had done by then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({} indexed before stopping; run it again to go on)", .report.indexed)]
pub struct BackfillStopped {
    pub reason: String,
    /// When the code host's rate limit lets it go on.
    pub retry_at: Option<DateTime<Utc>>,
    pub report: BackfillReport,
}

/// Indexes past merged pull requests, read from the code host with the repository's token.
#[derive(Clone)]
pub struct Backfill {
    code_host: Arc<dyn CodeHost>,
    tokens: Arc<dyn RepositoryTokens>,
    graph: Arc<dyn KnowledgeGraph>,
}

impl std::fmt::Debug for Backfill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Backfill")
    }
}

impl Backfill {
    pub fn new(
        code_host: Arc<dyn CodeHost>,
        tokens: Arc<dyn RepositoryTokens>,
        graph: Arc<dyn KnowledgeGraph>,
    ) -> Self {
        Self {
            code_host,
            tokens,
            graph,
        }
    }

    /// The `limit` most recently updated merged pull requests of `repo`, each indexed with every
    /// file it changed unless the graph has it already.
    ///
    /// # Errors
    /// [`BackfillStopped`] when the code host or the graph fails (a rate limit says until when);
    /// what was indexed stays indexed.
    pub async fn run(
        &self,
        repo: &RepoFullName,
        limit: usize,
    ) -> Result<BackfillReport, BackfillStopped> {
        let mut report = BackfillReport::default();
        let stopped = |reason: String, retry_at, report| BackfillStopped {
            reason,
            retry_at,
            report,
        };
        let from_host = |e: CodeHostError, report| match e {
            CodeHostError::RateLimited { retry_at } => stopped(
                format!("the code host's rate limit is spent until {retry_at}"),
                Some(retry_at),
                report,
            ),
            other => stopped(format!("the code host: {other}"), None, report),
        };
        let token = self
            .tokens
            .token_for(repo)
            .await
            .map_err(|e| stopped(format!("the repository's token: {e}"), None, report))?;
        for page in 1..=MAX_PAGES {
            if report.merged >= limit {
                break;
            }
            let closed = self
                .code_host
                .closed_pull_requests(token.clone(), repo, page)
                .await
                .map_err(|e| from_host(e, report))?;
            if closed.is_empty() {
                break;
            }
            for pr in closed
                .into_iter()
                .filter(|pr| pr.state == PullRequestState::Merged)
            {
                if report.merged >= limit {
                    break;
                }
                report.merged += 1;
                let known = self
                    .graph
                    .pull_request_paths(repo, pr.number)
                    .await
                    .map_err(|e| stopped(format!("the knowledge graph: {e}"), None, report))?;
                if known.is_some() {
                    report.already_indexed += 1;
                    continue;
                }
                let files = self
                    .code_host
                    .pull_request_files(token.clone(), repo, pr.number)
                    .await
                    .map_err(|e| from_host(e, report))?;
                let indexed = merged(repo, pr, files);
                self.graph
                    .index(&indexed)
                    .await
                    .map_err(|e| stopped(format!("the knowledge graph: {e}"), None, report))?;
                report.indexed += 1;
            }
        }
        Ok(report)
    }
}
