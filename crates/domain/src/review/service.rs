//! The review use case a queued event runs, in named stages over typed values:
//!
//! 1. [prepare](super::prepare): the token calls run with, the pull request still open at the
//!    event's head, and nectr's earlier reviews on it (one for this very event means a retry after
//!    posting: post nothing);
//! 2. [gather](super::gather): the changed files, the scope (the commits since the last reviewed
//!    commit, or everything), the token-budgeted plan, linked issues and the repository's
//!    instructions;
//! 3. review the plan's chunks ([`review_in_chunks`]) and leave out findings posted before;
//! 4. [post](super::post) one review (comments GitHub refuses move into the body);
//! 5. record the run's figures.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde_json::json;

use crate::codehost::CodeHostError;
use crate::queue::outcome::job_result_of;
use crate::queue::{Job, JobHandler, JobResult};
use crate::review::budget::{Budget, Plan};
use crate::review::codehost::CodeHost;
use crate::review::gather::{Gathered, ReviewScope};
use crate::review::post::Posting;
use crate::review::prepare::History;
use crate::review::render::fingerprint;
use crate::review::{RepositoryTokens, ReviewDraft, ReviewError, ReviewRequest, Reviewer};

/// Reviews a job's pull request and posts the review.
#[derive(Clone)]
pub struct ReviewPullRequest {
    pub(super) code_host: Arc<dyn CodeHost>,
    pub(super) reviewer: Arc<dyn Reviewer>,
    pub(super) tokens: Arc<dyn RepositoryTokens>,
    pub(super) budget: Budget,
}

impl std::fmt::Debug for ReviewPullRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewPullRequest")
            .field("reviewer", &self.reviewer.name())
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// Why a run stops early: a finished job result.
pub(super) type Stop = Box<JobResult>;

pub(super) fn stop(e: CodeHostError) -> Stop {
    Box::new(job_result_of(e))
}

/// Stage 3's answer: the merged draft, without findings posted before.
struct Reviewed {
    draft: ReviewDraft,
    /// Findings left out because an earlier review posted them.
    repeated: usize,
    review_ms: u64,
}

impl ReviewPullRequest {
    /// Calls about a repository run with the token `tokens` gives for it (the connecting user's), else
    /// with the code host's configured fallback.
    pub fn new(
        code_host: Arc<dyn CodeHost>,
        reviewer: Arc<dyn Reviewer>,
        tokens: Arc<dyn RepositoryTokens>,
        budget: Budget,
    ) -> Self {
        Self {
            code_host,
            reviewer,
            tokens,
            budget,
        }
    }

    async fn run(&self, job: &Job) -> Result<JobResult, Stop> {
        let started = Instant::now();
        let target = self.prepare(job).await?;
        let history = self.history(&target, job.event_id).await?;
        let gathered = self.gather(&target, &history).await?;
        let reviewed = self.review(&gathered, &history).await?;
        let posting = self
            .post(&target, &history, &gathered, &reviewed.draft, job.event_id)
            .await
            .map_err(stop)?;
        Ok(self.record(&gathered, &reviewed, &posting, started))
    }

    /// Stage 3: every chunk of the plan reviewed, the scope said in the summary, and what an
    /// earlier review posted left out.
    async fn review(&self, gathered: &Gathered, history: &History) -> Result<Reviewed, Stop> {
        let reviewing = Instant::now();
        let mut draft =
            match review_in_chunks(self.reviewer.as_ref(), &gathered.request, &gathered.plan).await
            {
                Ok(draft) => draft,
                Err(ReviewError::Transient(error)) => {
                    return Err(Box::new(JobResult::Transient {
                        error,
                        retry_at: None,
                    }));
                }
                Err(ReviewError::Permanent(error)) => {
                    return Err(Box::new(JobResult::Permanent { error }));
                }
            };
        let review_ms = reviewing.elapsed().as_millis() as u64;
        if let Some(note) = gathered.scope.note() {
            draft.summary = format!("{note}\n\n{}", draft.summary);
        }
        let found = draft.findings.len();
        draft
            .findings
            .retain(|f| !history.posted_before.contains(&fingerprint(f)));
        Ok(Reviewed {
            repeated: found - draft.findings.len(),
            draft,
            review_ms,
        })
    }

    /// Stage 5: the run's figures, kept on the run.
    fn record(
        &self,
        gathered: &Gathered,
        reviewed: &Reviewed,
        posting: &Posting,
        started: Instant,
    ) -> JobResult {
        let (draft, request) = (&reviewed.draft, &gathered.request);
        JobResult::Completed {
            result: json!({
                "review_id": posting.posted.id,
                "review_url": posting.posted.html_url,
                "reviewer": self.reviewer.name(),
                "model": draft.model,
                "verdict": posting.review.event.as_str(),
                "own_pr": posting.own_pr,
                "scope": match &gathered.scope { ReviewScope::Since { .. } => "incremental", ReviewScope::Full { .. } => "full" },
                "since": request.incremental_since,
                "files_reviewed": gathered.plan.files(),
                "requests": gathered.plan.chunks.len(),
                "findings": draft.findings.len(),
                "inline_comments": posting.review.comments.len(),
                "moved_to_body": posting.moved,
                "repeated_findings_left_out": reviewed.repeated,
                "not_covered": draft.not_covered.len(),
                "linked_issues": request.linked_issues.len(),
                "instructions": request.instructions.is_some(),
                "input_tokens": draft.usage.input_tokens,
                "output_tokens": draft.usage.output_tokens,
                "review_ms": reviewed.review_ms,
                "duration_ms": started.elapsed().as_millis() as u64,
            }),
        }
    }
}

/// Reviews every request of the plan, in order, and merges the answers. The plan has classified the
/// files already: what it left out is named in the draft's `not_covered`, first.
pub async fn review_in_chunks(
    reviewer: &dyn Reviewer,
    template: &ReviewRequest,
    plan: &Plan,
) -> Result<ReviewDraft, ReviewError> {
    let count = plan.chunks.len();
    let mut parts = Vec::with_capacity(count);
    for (i, chunk) in plan.chunks.iter().enumerate() {
        let mut request = template.clone();
        request.files = chunk.clone();
        let draft = reviewer.review(&request).await?;
        parts.push((format!("Part {} of {count}", i + 1), draft));
    }
    let mut draft = if parts.is_empty() {
        ReviewDraft {
            summary: "Nothing in this change is for a reviewer to read.".to_owned(),
            ..ReviewDraft::default()
        }
    } else {
        ReviewDraft::merge(parts)
    };
    if count > 1 {
        draft.summary = format!(
            "This pull request was reviewed in {count} parts.\n\n{}",
            draft.summary
        );
    }
    // The plan's reasons come first; a reviewer's own are not repeated.
    let mut not_covered = plan.not_covered.clone();
    for (path, why) in draft.not_covered {
        if !not_covered.iter().any(|(p, _)| *p == path) {
            not_covered.push((path, why));
        }
    }
    draft.not_covered = not_covered;
    Ok(draft)
}

/// A commit's first 12 characters, as reviews show it.
pub(super) fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[async_trait]
impl JobHandler for ReviewPullRequest {
    async fn handle(&self, job: &Job) -> JobResult {
        match self.run(job).await {
            Ok(result) => result,
            Err(stopped) => *stopped,
        }
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
