//! The index job: a `closed` + merged delivery queues it, and it keeps that pull request in the
//! knowledge graph with every path it changed, so the reviews after it know who wrote what.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use crate::knowledge::{IndexedPullRequest, KnowledgeGraph};
use crate::queue::{Job, JobHandler, JobResult, job_result_of};
use crate::review::RepositoryTokens;
use crate::review::codehost::{ChangedFile, CodeHost, PullRequest, PullRequestState};
use crate::webhook::values::RepoFullName;

/// Indexes a merged pull request, read from the code host with the repository's token.
#[derive(Clone)]
pub struct IndexMergedPullRequest {
    code_host: Arc<dyn CodeHost>,
    tokens: Arc<dyn RepositoryTokens>,
    graph: Arc<dyn KnowledgeGraph>,
}

impl std::fmt::Debug for IndexMergedPullRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexMergedPullRequest")
    }
}

impl IndexMergedPullRequest {
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
}

/// What the graph keeps of a merged pull request read from the code host, with its changed files.
pub(crate) fn merged(
    repo: &RepoFullName,
    pr: PullRequest,
    files: Vec<ChangedFile>,
) -> IndexedPullRequest {
    IndexedPullRequest {
        repository: repo.clone(),
        number: pr.number,
        title: pr.title,
        author: pr.author,
        at: pr.updated_at.unwrap_or_else(chrono::Utc::now),
        merged: true,
        verdict: None,
        paths: files.into_iter().map(|f| f.filename).collect(),
    }
}

#[async_trait]
impl JobHandler for IndexMergedPullRequest {
    async fn handle(&self, job: &Job) -> JobResult {
        let repo = &job.repository;
        let number = job.pr_number;
        let token = match self.tokens.token_for(repo).await {
            Ok(token) => token,
            Err(e) => {
                return JobResult::Transient {
                    error: format!("the repository's token: {e}"),
                    retry_at: None,
                };
            }
        };
        let pr = match self
            .code_host
            .pull_request(token.clone(), repo, number)
            .await
        {
            Ok(pr) => pr,
            Err(e) => return job_result_of(e),
        };
        if pr.state != PullRequestState::Merged {
            return JobResult::Skipped {
                reason: "the pull request is not merged".into(),
            };
        }
        let files = match self.code_host.pull_request_files(token, repo, number).await {
            Ok(files) => files,
            Err(e) => return job_result_of(e),
        };
        let indexed = merged(repo, pr, files);
        match self.graph.index(&indexed).await {
            Ok(()) => JobResult::Completed {
                result: json!({"indexed": number, "paths": indexed.paths.len()}),
            },
            Err(e) => JobResult::Transient {
                error: format!("the knowledge graph: {e}"),
                retry_at: None,
            },
        }
    }
}
