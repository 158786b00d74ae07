//! The work a queued event runs until the review pipeline lands: check, through the code host, that the
//! pull request is still open at the event's head commit. Closed ⇒ skipped; moved on ⇒ superseded.

use std::sync::Arc;

use async_trait::async_trait;

use crate::codehost::{CodeHost, CodeHostError, PullRequestState};
use crate::queue::{Job, JobHandler, JobResult};
use crate::values::RepoFullName;

/// Checks a job's pull request on the code host.
#[derive(Clone)]
pub struct PrStateCheck {
    code_host: Arc<dyn CodeHost>,
}

impl std::fmt::Debug for PrStateCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrStateCheck").finish_non_exhaustive()
    }
}

impl PrStateCheck {
    pub fn new(code_host: Arc<dyn CodeHost>) -> Self {
        Self { code_host }
    }
}

/// Maps a code-host failure to what the queue does with it.
pub fn job_result_of(error: CodeHostError) -> JobResult {
    match error {
        CodeHostError::RateLimited { retry_at } => JobResult::Transient {
            error: format!("rate limited until {retry_at}"),
            retry_at: Some(retry_at),
        },
        CodeHostError::Transient(error) => JobResult::Transient {
            error,
            retry_at: None,
        },
        other => JobResult::Permanent {
            error: other.to_string(),
        },
    }
}

#[async_trait]
impl JobHandler for PrStateCheck {
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
        let pr = match self.code_host.pull_request(None, &repo, number).await {
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
                reason: format!(
                    "pull request moved to {} before the work started",
                    pr.head_sha
                ),
            };
        }
        JobResult::Completed {
            result: serde_json::json!({
                "check": "pull_request_state",
                "state": "open",
                "head_sha": head_sha,
                "title": pr.title,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::codehost::{MockCodeHost, PullRequest};
    use crate::values::HeadSha;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn job() -> Job {
        Job {
            event_id: 9,
            attempts: 1,
            repository: Some("acme/api".into()),
            pr_number: Some(3),
            head_sha: Some(SHA.into()),
            lease_expires_at: Utc::now(),
        }
    }

    fn pr(state: PullRequestState, sha: &str) -> PullRequest {
        PullRequest {
            number: 3,
            title: "Add auth".into(),
            body: None,
            state,
            draft: false,
            author: "dev".into(),
            head_sha: HeadSha::parse(sha).unwrap(),
            head_ref: "feature".into(),
            base_sha: "b".into(),
            base_ref: "main".into(),
            html_url: String::new(),
            updated_at: None,
            changed_files: 1,
            additions: 1,
            deletions: 0,
        }
    }

    async fn run(answer: Result<PullRequest, CodeHostError>) -> JobResult {
        let mut host = MockCodeHost::new();
        host.expect_pull_request()
            .times(1)
            .return_once(move |_, repo, n| {
                assert_eq!((repo.as_str(), n), ("acme/api", 3));
                answer
            });
        PrStateCheck::new(Arc::new(host)).handle(&job()).await
    }

    #[tokio::test]
    async fn an_open_pr_at_the_same_commit_completes() {
        let result = run(Ok(pr(PullRequestState::Open, SHA))).await;
        assert!(matches!(result, JobResult::Completed { .. }), "{result:?}");
    }

    #[tokio::test]
    async fn closed_prs_are_skipped_and_moved_ones_superseded() {
        assert!(matches!(
            run(Ok(pr(PullRequestState::Closed, SHA))).await,
            JobResult::Skipped { .. }
        ));
        assert!(matches!(
            run(Ok(pr(PullRequestState::Merged, SHA))).await,
            JobResult::Skipped { .. }
        ));
        let moved = run(Ok(pr(PullRequestState::Open, &"f".repeat(40)))).await;
        assert!(matches!(moved, JobResult::Superseded { .. }), "{moved:?}");
    }

    #[tokio::test]
    async fn code_host_failures_are_transient_or_permanent() {
        let at = Utc::now();
        assert_eq!(
            run(Err(CodeHostError::RateLimited { retry_at: at })).await,
            JobResult::Transient {
                error: format!("rate limited until {at}"),
                retry_at: Some(at)
            }
        );
        assert!(matches!(
            run(Err(CodeHostError::Transient("502".into()))).await,
            JobResult::Transient { retry_at: None, .. }
        ));
        assert!(matches!(
            run(Err(CodeHostError::NotFound("gone".into()))).await,
            JobResult::Permanent { .. }
        ));
        assert!(matches!(
            run(Err(CodeHostError::Unauthorized("revoked".into()))).await,
            JobResult::Permanent { .. }
        ));
    }
}
