//! The review use case a queued event runs:
//!
//! 1. check the pull request is still open at the event's head commit;
//! 2. read nectr's earlier reviews on it: one for this very event means a retry after posting (post
//!    nothing); the others give the findings not to repeat and the last reviewed commit;
//! 3. choose the scope: the commits since the last reviewed commit, or the whole pull request (first
//!    review, or the history was rewritten by a force-push);
//! 4. plan the files into token-budgeted requests, naming what is left out;
//! 5. gather context (linked issues, the repository's review instructions) and review;
//! 6. place findings on diff lines, post one review (comments GitHub refuses move into the body), and
//!    record the run's figures.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde_json::json;

use crate::budget::{Budget, Plan, plan};
use crate::codehost::{
    AccessToken, CodeHost, CodeHostError, InlineComment, NewReview, Posted, PullRequest,
    PullRequestState, Review, ReviewVerdict,
};
use crate::context::{INSTRUCTION_FILES, MAX_CONTEXT_CHARS, linked_issue_numbers, truncate};
use crate::diff::{FileDiff, LineMap, from_changed_file};
use crate::ports::RepositoryTokens;
use crate::pr_check::job_result_of;
use crate::queue::{Job, JobHandler, JobResult};
use crate::render::{Marker, fingerprint, render};
use crate::review::{LinkedIssue, ReviewDraft, ReviewError, ReviewRequest, Reviewer};
use crate::values::RepoFullName;

/// The body of the short-lived pending reviews that find which inline comments GitHub refuses.
pub const PROBE_BODY: &str =
    "nectr is checking where its comments can go; this pending review is deleted at once.";

/// Inline comments checked one by one after a refusal; past this, all of them go into the body.
const MAX_PROBES: usize = 50;

/// GitHub's compare lists at most this many files; a longer increment is reviewed whole.
const COMPARE_FILE_LIMIT: usize = 300;

/// Reviews a job's pull request and posts the review.
#[derive(Clone)]
pub struct ReviewPullRequest {
    code_host: Arc<dyn CodeHost>,
    reviewer: Arc<dyn Reviewer>,
    budget: Budget,
    tokens: Option<Arc<dyn RepositoryTokens>>,
}

impl std::fmt::Debug for ReviewPullRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewPullRequest")
            .field("reviewer", &self.reviewer.name())
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// What part of the pull request a review covers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Everything; `note` says why when an earlier review exists.
    Full { note: Option<String> },
    /// The commits after `since`.
    Since { since: String },
}

/// Why a run stops early: a finished job result.
type Stop = Box<JobResult>;

fn stop(e: CodeHostError) -> Stop {
    Box::new(job_result_of(e))
}

impl ReviewPullRequest {
    pub fn new(code_host: Arc<dyn CodeHost>, reviewer: Arc<dyn Reviewer>) -> Self {
        Self {
            code_host,
            reviewer,
            budget: Budget::default(),
            tokens: None,
        }
    }

    /// Calls GitHub with the token of the user who connected the repository, where there is one.
    pub fn with_tokens(mut self, tokens: Arc<dyn RepositoryTokens>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// The scope of this review, and the files it covers (already parsed).
    async fn scope(
        &self,
        token: &Option<AccessToken>,
        repo: &RepoFullName,
        head: &str,
        last_reviewed: Option<&str>,
        pr_files: &[FileDiff],
    ) -> Result<(Scope, Vec<FileDiff>), Stop> {
        let Some(since) = last_reviewed else {
            return Ok((Scope::Full { note: None }, pr_files.to_vec()));
        };
        let full = |note: &str| {
            Ok((
                Scope::Full {
                    note: Some(note.to_owned()),
                },
                pr_files.to_vec(),
            ))
        };
        match self
            .code_host
            .compare(token.clone(), repo, since, head)
            .await
        {
            Ok(cmp) if cmp.status == "ahead" && cmp.files.len() < COMPARE_FILE_LIMIT => {
                // Only files still in the pull request: a change reverted to the base is no news.
                let in_pr: HashSet<&str> = pr_files.iter().map(FileDiff::path).collect();
                let files = cmp
                    .files
                    .iter()
                    .map(from_changed_file)
                    .filter(|f| in_pr.contains(f.path()))
                    .collect();
                Ok((
                    Scope::Since {
                        since: since.to_owned(),
                    },
                    files,
                ))
            }
            Ok(cmp) if cmp.status == "ahead" => {
                full("the new commits change too many files to list, so this reviews everything")
            }
            Ok(_) | Err(CodeHostError::NotFound(_)) => full(&format!(
                "the history was rewritten since the review of `{}` (force-push), so this reviews everything",
                short(since)
            )),
            Err(e) if e.is_retryable() => Err(stop(e)),
            Err(_) => full("the new commits could not be compared, so this reviews everything"),
        }
    }

    /// The issues the description links, as far as they can be read.
    async fn linked_issues(
        &self,
        token: &Option<AccessToken>,
        repo: &RepoFullName,
        pr: &PullRequest,
    ) -> Result<Vec<LinkedIssue>, Stop> {
        let mut issues = Vec::new();
        for number in linked_issue_numbers(pr.body.as_deref().unwrap_or("")) {
            match self.code_host.issue(token.clone(), repo, number).await {
                Ok(issue) => issues.push(LinkedIssue {
                    number,
                    title: issue.title,
                    body: truncate(issue.body.as_deref().unwrap_or(""), MAX_CONTEXT_CHARS),
                }),
                Err(e) if e.is_retryable() => return Err(stop(e)),
                // A pull request, a typo or an issue the token cannot see: no context, no failure.
                Err(_) => {}
            }
        }
        Ok(issues)
    }

    /// The repository's review instructions, from the base branch.
    async fn instructions(
        &self,
        token: &Option<AccessToken>,
        repo: &RepoFullName,
        pr: &PullRequest,
    ) -> Result<Option<String>, Stop> {
        let base = if pr.base_sha.is_empty() {
            &pr.base_ref
        } else {
            &pr.base_sha
        };
        for path in INSTRUCTION_FILES {
            match self
                .code_host
                .file_content(token.clone(), repo, path, base)
                .await
            {
                Ok(file) => {
                    let text = String::from_utf8_lossy(&file.bytes);
                    return Ok(Some(truncate(text.trim(), MAX_CONTEXT_CHARS)));
                }
                Err(e) if e.is_retryable() => return Err(stop(e)),
                Err(_) => {}
            }
        }
        Ok(None)
    }

    /// Posts the review. When GitHub refuses it (422) and it has inline comments, each comment is
    /// tried alone in a pending review that is deleted at once; exactly the refused ones move into
    /// the body and the review is posted again. Returns the posted review and how many moved.
    #[allow(clippy::too_many_arguments)]
    async fn post(
        &self,
        token: &Option<AccessToken>,
        repo: &RepoFullName,
        pr: &PullRequest,
        draft: &ReviewDraft,
        mut lines: LineMap,
        event_id: i64,
        verdict: ReviewVerdict,
        stale_probes: &[u64],
    ) -> Result<(Posted, NewReview, usize), CodeHostError> {
        let host = &self.code_host;
        let number = pr.number;
        let rendered = render(draft, &lines, event_id, pr.head_sha.as_str());
        let review = NewReview {
            commit_id: pr.head_sha.clone(),
            body: rendered.body,
            event: verdict,
            comments: rendered.comments,
        };
        let refusal = match host.post_review(token.clone(), repo, number, &review).await {
            Ok(posted) => return Ok((posted, review, 0)),
            Err(CodeHostError::Validation(message)) if !review.comments.is_empty() => message,
            Err(e) => return Err(e),
        };
        tracing::warn!(
            repository = %repo,
            pr = number,
            comments = review.comments.len(),
            "GitHub refused the review; checking its inline comments one by one"
        );
        // A pending review left by a crash would make every probe fail.
        for id in stale_probes {
            let _ = host
                .delete_pending_review(token.clone(), repo, number, *id)
                .await;
        }
        let refused: Vec<&InlineComment> = if review.comments.len() > MAX_PROBES {
            review.comments.iter().collect()
        } else {
            let mut refused = Vec::new();
            for comment in &review.comments {
                let probe = NewReview {
                    commit_id: pr.head_sha.clone(),
                    body: PROBE_BODY.to_owned(),
                    event: ReviewVerdict::Pending,
                    comments: vec![comment.clone()],
                };
                match host.post_review(token.clone(), repo, number, &probe).await {
                    Ok(pending) => {
                        if let Err(e) = host
                            .delete_pending_review(token.clone(), repo, number, pending.id)
                            .await
                        {
                            tracing::warn!(error = %e, "could not delete a pending probe review");
                        }
                    }
                    Err(CodeHostError::Validation(_)) => refused.push(comment),
                    Err(e) => return Err(e),
                }
            }
            refused
        };
        if refused.is_empty() {
            // Not about the comments' places: nothing to move.
            return Err(CodeHostError::Validation(refusal));
        }
        let moved = refused.len();
        for comment in refused {
            lines.forget(&comment.path, comment.line);
        }
        let rendered = render(draft, &lines, event_id, pr.head_sha.as_str());
        let review = NewReview {
            body: rendered.body,
            comments: rendered.comments,
            ..review
        };
        let posted = host
            .post_review(token.clone(), repo, number, &review)
            .await?;
        Ok((posted, review, moved))
    }

    async fn run(&self, job: &Job) -> Result<JobResult, Stop> {
        let started = Instant::now();
        let (Some(repository), Some(number), Some(head_sha)) =
            (&job.repository, job.pr_number, &job.head_sha)
        else {
            return Ok(JobResult::Permanent {
                error: "the event names no pull request".into(),
            });
        };
        let repo = match RepoFullName::parse(repository) {
            Ok(repo) => repo,
            Err(e) => {
                return Ok(JobResult::Permanent {
                    error: e.to_string(),
                });
            }
        };
        // The connecting user's token when the repository is connected, else the fallback.
        let token = match &self.tokens {
            Some(tokens) => match tokens.token_for(&repo).await {
                Ok(token) => token,
                Err(crate::Error::Transient(error)) => {
                    return Ok(JobResult::Transient {
                        error,
                        retry_at: None,
                    });
                }
                Err(e) => {
                    return Ok(JobResult::Permanent {
                        error: format!("the repository's token: {e}"),
                    });
                }
            },
            None => None,
        };
        let host = &self.code_host;
        let mut pr = host
            .pull_request(token.clone(), &repo, number)
            .await
            .map_err(stop)?;
        if pr.state != PullRequestState::Open || pr.head_sha.as_str() != head_sha {
            // The answer may come from a cache older than this event (a push, a reopen): ask again
            // before skipping or superseding anything.
            host.forget_pull_request(&repo, number);
            pr = host
                .pull_request(token.clone(), &repo, number)
                .await
                .map_err(stop)?;
        }
        match pr.state {
            PullRequestState::Closed => {
                return Ok(JobResult::Skipped {
                    reason: "pull request is closed".into(),
                });
            }
            PullRequestState::Merged => {
                return Ok(JobResult::Skipped {
                    reason: "pull request is merged".into(),
                });
            }
            PullRequestState::Open => {}
        }
        if pr.head_sha.as_str() != head_sha {
            return Ok(JobResult::Superseded {
                reason: format!("pull request moved to {} before the review", pr.head_sha),
            });
        }

        // nectr's earlier reviews: only those by the token's owner count, when it is known, so a
        // marker pasted into someone else's review cannot silence nectr.
        let owner = match host.token_owner(token.clone()).await {
            Ok(owner) => owner,
            Err(e) if e.is_retryable() => return Err(stop(e)),
            Err(_) => None,
        };
        let reviews = host
            .reviews(token.clone(), &repo, number)
            .await
            .map_err(stop)?;
        let ours = |r: &&Review| owner.as_ref().is_none_or(|o| r.author == *o);
        let stale_probes: Vec<u64> = reviews
            .iter()
            .filter(ours)
            .filter(|r| r.state == "PENDING" && r.body == PROBE_BODY)
            .map(|r| r.id)
            .collect();
        let mut posted_before = HashSet::new();
        let mut last_reviewed: Option<(u64, String)> = None;
        for review in reviews.iter().filter(ours) {
            let Some(marker) = Marker::find(&review.body) else {
                continue;
            };
            if marker.event_id == job.event_id {
                return Ok(JobResult::Completed {
                    result: json!({
                        "review_id": review.id,
                        "review_url": review.html_url,
                        "already_posted": true,
                    }),
                });
            }
            posted_before.extend(marker.fingerprints);
            if last_reviewed.as_ref().is_none_or(|(id, _)| review.id > *id) {
                last_reviewed = Some((review.id, marker.head_sha));
            }
        }
        if let Some((id, sha)) = &last_reviewed
            && sha == head_sha
        {
            return Ok(JobResult::Completed {
                result: json!({
                    "review_id": id,
                    "already_reviewed": true,
                    "reason": "nectr already reviewed this head commit",
                }),
            });
        }

        let changed = host
            .pull_request_files(token.clone(), &repo, number)
            .await
            .map_err(stop)?;
        let pr_files: Vec<FileDiff> = changed.iter().map(from_changed_file).collect();
        let lines = LineMap::new(&pr_files);
        let last_sha = last_reviewed.map(|(_, sha)| sha);
        let (scope, files) = self
            .scope(&token, &repo, head_sha, last_sha.as_deref(), &pr_files)
            .await?;
        let planned = plan(files, self.budget);

        let template = ReviewRequest {
            title: pr.title.clone(),
            description: pr.body.clone().filter(|b| !b.trim().is_empty()),
            files: Vec::new(),
            linked_issues: self.linked_issues(&token, &repo, &pr).await?,
            instructions: self.instructions(&token, &repo, &pr).await?,
            focus: None,
            incremental_since: match &scope {
                Scope::Since { since } => Some(since.clone()),
                Scope::Full { .. } => None,
            },
        };
        let reviewing = Instant::now();
        let mut draft = match review_in_chunks(self.reviewer.as_ref(), &template, &planned).await {
            Ok(draft) => draft,
            Err(ReviewError::Transient(error)) => {
                return Ok(JobResult::Transient {
                    error,
                    retry_at: None,
                });
            }
            Err(ReviewError::Permanent(error)) => return Ok(JobResult::Permanent { error }),
        };
        let review_ms = reviewing.elapsed().as_millis() as u64;
        match &scope {
            Scope::Since { since } => {
                draft.summary = format!(
                    "_Reviewed the commits since `{}`; earlier changes were reviewed before._\n\n{}",
                    short(since),
                    draft.summary
                );
            }
            Scope::Full { note: Some(note) } => {
                draft.summary = format!("_Full review: {note}._\n\n{}", draft.summary);
            }
            Scope::Full { note: None } => {}
        }
        let found = draft.findings.len();
        draft
            .findings
            .retain(|f| !posted_before.contains(&fingerprint(f)));
        let repeated = found - draft.findings.len();

        // GitHub refuses approving or requesting changes on the token owner's own pull request.
        let own_pr = owner.as_deref() == Some(pr.author.as_str());
        let verdict = draft.verdict(own_pr);
        let (posted, review, moved) = self
            .post(
                &token,
                &repo,
                &pr,
                &draft,
                lines,
                job.event_id,
                verdict,
                &stale_probes,
            )
            .await
            .map_err(stop)?;
        Ok(JobResult::Completed {
            result: json!({
                "review_id": posted.id,
                "review_url": posted.html_url,
                "reviewer": self.reviewer.name(),
                "model": draft.model,
                "verdict": review.event.as_str(),
                "own_pr": own_pr,
                "scope": match &scope { Scope::Since { .. } => "incremental", Scope::Full { .. } => "full" },
                "since": template.incremental_since,
                "files_reviewed": planned.files(),
                "requests": planned.chunks.len(),
                "findings": draft.findings.len(),
                "inline_comments": review.comments.len(),
                "moved_to_body": moved,
                "repeated_findings_left_out": repeated,
                "not_covered": draft.not_covered.len(),
                "linked_issues": template.linked_issues.len(),
                "instructions": template.instructions.is_some(),
                "input_tokens": draft.usage.input_tokens,
                "output_tokens": draft.usage.output_tokens,
                "review_ms": review_ms,
                "duration_ms": started.elapsed().as_millis() as u64,
            }),
        })
    }
}

/// Reviews every request of the plan, in order, and merges the answers.
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
    // The plan's reasons come first; a reviewer's own (it may classify too) are not repeated.
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
fn short(sha: &str) -> &str {
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
#[path = "review_job_tests.rs"]
mod tests;
