//! The review use case a queued event runs: check the pull request is still open at the event's head
//! commit, fetch its diff, review it, map findings onto the diff, and post one review, never twice.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use crate::codehost::{CodeHost, NewReview, PullRequestState};
use crate::diff::{LineMap, parse};
use crate::pr_check::job_result_of;
use crate::queue::{Job, JobHandler, JobResult};
use crate::render::{Marker, fingerprint, render};
use crate::review::{ReviewError, ReviewRequest, Reviewer};
use crate::values::RepoFullName;

/// Reviews a job's pull request and posts the review.
#[derive(Clone)]
pub struct ReviewPullRequest {
    code_host: Arc<dyn CodeHost>,
    reviewer: Arc<dyn Reviewer>,
}

impl std::fmt::Debug for ReviewPullRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewPullRequest")
            .field("reviewer", &self.reviewer.name())
            .finish_non_exhaustive()
    }
}

impl ReviewPullRequest {
    pub fn new(code_host: Arc<dyn CodeHost>, reviewer: Arc<dyn Reviewer>) -> Self {
        Self {
            code_host,
            reviewer,
        }
    }
}

#[async_trait]
impl JobHandler for ReviewPullRequest {
    async fn handle(&self, job: &Job) -> JobResult {
        let (Some(repository), Some(number), Some(head_sha)) =
            (&job.repository, job.pr_number, &job.head_sha)
        else {
            return JobResult::Permanent {
                error: "the event names no pull request".into(),
            };
        };
        let repo = match RepoFullName::parse(repository) {
            Ok(repo) => repo,
            Err(e) => {
                return JobResult::Permanent {
                    error: e.to_string(),
                };
            }
        };
        let host = &self.code_host;
        let pr = match host.pull_request(None, &repo, number).await {
            Ok(pr) => pr,
            Err(e) => return job_result_of(e),
        };
        match pr.state {
            PullRequestState::Closed => {
                return JobResult::Skipped {
                    reason: "pull request is closed".into(),
                };
            }
            PullRequestState::Merged => {
                return JobResult::Skipped {
                    reason: "pull request is merged".into(),
                };
            }
            PullRequestState::Open => {}
        }
        if pr.head_sha.as_str() != head_sha {
            return JobResult::Superseded {
                reason: format!("pull request moved to {} before the review", pr.head_sha),
            };
        }

        // Earlier nectr reviews: one for this very event means a retry after posting (post nothing);
        // the others' findings are not repeated.
        let reviews = match host.reviews(None, &repo, number).await {
            Ok(reviews) => reviews,
            Err(e) => return job_result_of(e),
        };
        let mut posted_before = HashSet::new();
        for review in &reviews {
            if let Some(marker) = Marker::find(&review.body) {
                if marker.event_id == job.event_id {
                    return JobResult::Completed {
                        result: serde_json::json!({
                            "review_id": review.id,
                            "review_url": review.html_url,
                            "already_posted": true,
                        }),
                    };
                }
                posted_before.extend(marker.fingerprints);
            }
        }

        let diff = match host.pull_request_diff(None, &repo, number).await {
            Ok(diff) => diff,
            Err(e) => return job_result_of(e),
        };
        let files = parse(&diff);
        let lines = LineMap::new(&files);
        let request = ReviewRequest {
            title: pr.title.clone(),
            files,
        };
        let started = std::time::Instant::now();
        let mut draft = match self.reviewer.review(&request).await {
            Ok(draft) => draft,
            Err(ReviewError::Transient(error)) => {
                return JobResult::Transient {
                    error,
                    retry_at: None,
                };
            }
            Err(ReviewError::Permanent(error)) => return JobResult::Permanent { error },
        };
        let found = draft.findings.len();
        draft
            .findings
            .retain(|f| !posted_before.contains(&fingerprint(f)));
        let repeated = found - draft.findings.len();
        let rendered = render(&draft, &lines, job.event_id, head_sha);
        let review = NewReview {
            commit_id: pr.head_sha.clone(),
            body: rendered.body,
            event: draft.verdict(false),
            comments: rendered.comments,
        };
        let inline = review.comments.len();
        match host.post_review(None, &repo, number, &review).await {
            Ok(posted) => JobResult::Completed {
                result: serde_json::json!({
                    "review_id": posted.id,
                    "review_url": posted.html_url,
                    "reviewer": self.reviewer.name(),
                    "verdict": review.event.as_str(),
                    "findings": draft.findings.len(),
                    "inline_comments": inline,
                    "repeated_findings_left_out": repeated,
                    "not_covered": draft.not_covered.len(),
                    "review_ms": started.elapsed().as_millis() as u64,
                }),
            },
            Err(e) => job_result_of(e),
        }
    }
}
