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
use crate::knowledge::{IndexedPullRequest, KnowledgeGraph};
use crate::queue::outcome::job_result_of;
use crate::queue::{Job, JobHandler, JobResult};
use crate::review::budget::{Budget, Plan};
use crate::review::codehost::CodeHost;
use crate::review::codehost::{ReviewVerdict, StatusState};
use crate::review::config::Skip;
use crate::review::controls::ReviewControls;
use crate::review::diff::FileDiff;
use crate::review::gather::{Gathered, ReviewScope};
use crate::review::model::Severity;
use crate::review::post::Posting;
use crate::review::prepare::{History, Target};
use crate::review::render::fingerprint;
use crate::review::sources::ReviewSources;
use crate::review::status::summary_comment;
use crate::review::{RepositoryTokens, ReviewDraft, ReviewError, ReviewRequest, Reviewer};

/// Reviews a job's pull request and posts the review.
#[derive(Clone)]
pub struct ReviewPullRequest {
    pub(super) code_host: Arc<dyn CodeHost>,
    pub(super) reviewer: Arc<dyn Reviewer>,
    pub(super) tokens: Arc<dyn RepositoryTokens>,
    pub(super) budget: Budget,
    /// Who knows the changed files and what touched them before; each reviewed pull request is
    /// indexed into it.
    pub(super) graph: Arc<dyn KnowledgeGraph>,
    /// Project memory, tickets and production errors (none by default).
    pub(super) sources: ReviewSources,
    /// `.nectr.toml`, commit statuses, the summary comment, budgets (all off by default).
    pub(super) controls: ReviewControls,
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
    /// with the code host's configured fallback. `graph` gives each review its context and keeps each
    /// reviewed pull request (`NoKnowledge` for none); a graph that fails or is slow never fails a
    /// review (the caller bounds its time).
    pub fn new(
        code_host: Arc<dyn CodeHost>,
        reviewer: Arc<dyn Reviewer>,
        tokens: Arc<dyn RepositoryTokens>,
        budget: Budget,
        graph: Arc<dyn KnowledgeGraph>,
    ) -> Self {
        Self {
            code_host,
            reviewer,
            tokens,
            budget,
            graph,
            sources: ReviewSources::default(),
            controls: ReviewControls::default(),
        }
    }

    /// The same, applying the team's controls: `.nectr.toml`, the commit status, one summary
    /// comment, budgets.
    #[must_use]
    pub fn with_controls(mut self, controls: ReviewControls) -> Self {
        self.controls = controls;
        self
    }

    /// The same, given the project memory, tickets and production errors as context (each
    /// optional; one that fails never fails a review).
    #[must_use]
    pub fn with_sources(mut self, sources: ReviewSources) -> Self {
        self.sources = sources;
        self
    }

    pub(super) async fn run(&self, job: &Job, forced: bool) -> Result<JobResult, Stop> {
        let started = Instant::now();
        let target = self.prepare(job).await?;
        let loaded = self.load_config(&target).await?;
        // Asked for by a member: the skip rules and a pause do not apply (the budget does).
        let skip = match (loaded.applies && !forced)
            .then(|| loaded.config.skip(&target.pr, job.action.as_deref()))
            .flatten()
        {
            Some(skip) => Some(skip),
            None if !forced => self.paused_by(&target).await.map(|by| {
                Skip::Rule(format!(
                    "automatic reviews of this pull request are paused (by @{by}; @nectr resume)"
                ))
            }),
            None => None,
        };
        if let Some(skip) = skip {
            // An action the repository does not review is no review asked for: no status.
            if let Skip::Rule(reason) = &skip {
                let description = format!("Skipped: {reason}");
                self.set_status(&target, job.event_id, StatusState::Error, &description)
                    .await;
            }
            return Ok(JobResult::Skipped {
                reason: skip.reason().to_owned(),
            });
        }
        if let Some(reason) = self.budget_spent(&target, &loaded.config).await {
            let description = "Skipped: the monthly budget ([budget] in .nectr.toml) is exhausted";
            self.set_status(&target, job.event_id, StatusState::Error, description)
                .await;
            return Ok(JobResult::Skipped { reason });
        }
        let history = self.history(&target, job.event_id, forced).await?;
        self.set_status(
            &target,
            job.event_id,
            StatusState::Pending,
            "nectr is reviewing this commit",
        )
        .await;
        let gathered = self.gather(&target, &history, &loaded.config).await?;
        let mut reviewed = self.review(&gathered, &history).await?;
        let left_out = loaded.config.keep_findings(&mut reviewed.draft.findings);
        let notes = loaded.notes();
        if !notes.is_empty() {
            let list: Vec<String> = notes.iter().map(|n| format!("- {n}")).collect();
            reviewed.draft.summary = format!(
                "{}\n\n**Configuration** (`.nectr.toml`)\n\n{}",
                reviewed.draft.summary,
                list.join("\n")
            );
        }
        let posting = self
            .post(&target, &history, &gathered, &reviewed.draft, job.event_id)
            .await
            .map_err(stop)?;
        let (state, description) = match posting.review.event {
            ReviewVerdict::RequestChanges => (
                StatusState::Failure,
                "nectr requests changes: critical findings".to_owned(),
            ),
            _ => (
                StatusState::Success,
                format!(
                    "nectr reviewed: {} finding(s)",
                    reviewed.draft.findings.len()
                ),
            ),
        };
        self.set_status(&target, job.event_id, state, &description)
            .await;
        self.index(&target, &gathered, &posting).await;
        let proposed = self.sources.keep_proposals(&target, &reviewed.draft).await;
        let draft = &reviewed.draft;
        let cost = self
            .record_usage(&target.repo, draft.model.as_deref(), draft.usage)
            .await;
        let summary = summary_comment(&gathered, draft, &posting, cost);
        if let Err(e) = self
            .write_summary(&target, history.owner.as_deref(), &summary)
            .await
        {
            tracing::warn!(error = %e, "could not write the summary comment");
        }
        let mut result = self.record(&gathered, &reviewed, &posting, started);
        if let JobResult::Completed { result } = &mut result {
            result["memories_proposed"] = json!(proposed);
            result["findings_left_out_by_config"] = json!(left_out);
            result["config_error"] = json!(loaded.error.as_ref().map(ToString::to_string));
            result["config_warnings"] = json!(loaded.config.warnings);
            result["cost_usd"] = json!(cost);
        }
        Ok(result)
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
                // Split until it fits, so only a reviewer that breaks the contract gets here.
                Err(e @ ReviewError::TooLarge(_)) => {
                    return Err(Box::new(JobResult::Permanent {
                        error: e.to_string(),
                    }));
                }
            };
        let review_ms = reviewing.elapsed().as_millis() as u64;
        if let Some(note) = gathered.scope.note() {
            draft.summary = format!("{note}\n\n{}", draft.summary);
        }
        let mut context = gathered.context.render();
        for line in gathered.sourced.render() {
            context.push_str(&line);
            context.push('\n');
        }
        if !context.is_empty() {
            draft.summary = format!("{}\n\n**Context**\n\n{context}", draft.summary);
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

    /// Stage 5a: the reviewed pull request kept in the knowledge graph, with every path it changes,
    /// for the reviews that come after it. A graph that fails is logged; the review stands.
    async fn index(&self, target: &Target, gathered: &Gathered, posting: &Posting) {
        let pr = &target.pr;
        let indexed = IndexedPullRequest {
            repository: target.repo.clone(),
            number: pr.number,
            title: pr.title.clone(),
            author: pr.author.clone(),
            at: chrono::Utc::now(),
            merged: false,
            verdict: Some(posting.review.event.as_str().to_owned()),
            paths: gathered.paths.clone(),
        };
        if let Err(e) = self.graph.index(&indexed).await {
            tracing::warn!(error = %e, pr = pr.number, "could not index the pull request in the knowledge graph");
        }
    }

    /// Stage 5b: the run's figures, kept on the run.
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
                "findings_by_severity": {
                    "critical": draft.findings.iter().filter(|f| f.severity == Severity::Critical).count(),
                    "warning": draft.findings.iter().filter(|f| f.severity == Severity::Warning).count(),
                    "note": draft.findings.iter().filter(|f| f.severity == Severity::Info).count(),
                },
                "inline_comments": posting.review.comments.len(),
                "moved_to_body": posting.moved,
                "repeated_findings_left_out": reviewed.repeated,
                "dropped_findings": draft.dropped_findings,
                "context_splits": draft.context_splits,
                "not_covered": draft.not_covered.len(),
                "linked_issues": request.linked_issues.len(),
                "experts": gathered.context.experts.len(),
                "related_pull_requests": gathered.context.related.len(),
                "graph_unavailable": gathered.context.unavailable,
                "memory_rules": gathered.sourced.memory.rules.len(),
                "memories_recalled": gathered.sourced.memory.related.len() + gathered.sourced.memory.developer.len(),
                "tickets": request.tickets.iter().map(|t| t.identifier.as_str()).collect::<Vec<_>>(),
                "production_errors": request.errors.iter().map(|f| f.errors.len()).sum::<usize>(),
                "sources_unavailable": gathered.sourced.failed,
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
        let draft = review_fitting(reviewer, template, chunk.clone()).await?;
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
    if draft.context_splits > 0 {
        draft.summary = format!(
            "The model's context could not take the whole of {} request(s): they were split into \
             smaller ones.\n\n{}",
            draft.context_splits, draft.summary
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

/// Reviews `files` in one request or, when the reviewer says the request is past the model's
/// context, in halves (of the files, then of a file's hunks) until each fits. A single hunk that
/// still does not fit is named as not covered, never cut silently.
async fn review_fitting(
    reviewer: &dyn Reviewer,
    template: &ReviewRequest,
    files: Vec<FileDiff>,
) -> Result<ReviewDraft, ReviewError> {
    let mut pending = vec![files];
    let mut parts = Vec::new();
    let mut split = false;
    let mut too_large = Vec::new();
    while let Some(files) = pending.pop() {
        let mut request = template.clone();
        request.files = files;
        match reviewer.review(&request).await {
            Ok(draft) => parts.push(draft),
            Err(ReviewError::TooLarge(why)) => match halves(&request.files) {
                Some((first, second)) => {
                    tracing::info!(reason = %why, "a request is past the model's context; splitting it");
                    split = true;
                    pending.push(second);
                    pending.push(first);
                }
                None => too_large.extend(request.files.iter().map(|f| {
                    (
                        f.path().to_owned(),
                        "too large for the model's context".to_owned(),
                    )
                })),
            },
            Err(e) => return Err(e),
        }
    }
    let mut draft = match parts.len() {
        0 => ReviewDraft {
            summary: "Nothing here fitted the model's context.".to_owned(),
            ..ReviewDraft::default()
        },
        1 => parts.remove(0),
        n => ReviewDraft::merge(
            parts
                .into_iter()
                .enumerate()
                .map(|(i, d)| (format!("smaller part {} of {n}", i + 1), d))
                .collect(),
        ),
    };
    draft.context_splits += u32::from(split);
    draft.not_covered.extend(too_large);
    Ok(draft)
}

/// Two halves of a request's files: by files, else the one file's hunks; `None` for one hunk.
fn halves(files: &[FileDiff]) -> Option<(Vec<FileDiff>, Vec<FileDiff>)> {
    if files.len() > 1 {
        let (first, second) = files.split_at(files.len() / 2);
        return Some((first.to_vec(), second.to_vec()));
    }
    let file = files.first()?;
    if file.hunks.len() < 2 {
        return None;
    }
    let mut first = file.clone();
    let mut second = file.clone();
    second.hunks = first.hunks.split_off(first.hunks.len() / 2);
    first.split = true;
    second.split = true;
    Some((vec![first], vec![second]))
}

/// A commit's first 12 characters, as reviews show it.
pub(super) fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[async_trait]
impl JobHandler for ReviewPullRequest {
    async fn handle(&self, job: &Job) -> JobResult {
        let result = match self.run(job, false).await {
            Ok(result) => result,
            Err(stopped) => *stopped,
        };
        self.settle_failure(job, &result).await;
        result
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
