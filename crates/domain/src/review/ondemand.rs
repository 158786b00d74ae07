//! Reviews on request: `@nectr review` runs a full review of the pull request at its head now.

use async_trait::async_trait;

use crate::queue::outcome::job_result_of;
use crate::queue::{Job, JobResult};
use crate::review::service::ReviewPullRequest;

/// Reviews on request (`@nectr review`), from the command's job.
#[async_trait]
pub trait ReviewOnDemand: Send + Sync {
    /// A full review of the pull request `job` names, at its head commit now, even one reviewed
    /// before; its result. The command's event id marks the review, so a retry posts nothing twice.
    async fn review_now(&self, job: &Job) -> JobResult;
}

#[async_trait]
impl ReviewOnDemand for ReviewPullRequest {
    async fn review_now(&self, job: &Job) -> JobResult {
        let token = match self.tokens.token_for(&job.repository).await {
            Ok(token) => token,
            Err(e) => {
                return JobResult::Transient {
                    error: format!("the repository's token: {e}"),
                    retry_at: None,
                };
            }
        };
        self.code_host
            .forget_pull_request(&job.repository, job.pr_number);
        let pr = match self
            .code_host
            .pull_request(token, &job.repository, job.pr_number)
            .await
        {
            Ok(pr) => pr,
            Err(e) => return job_result_of(e),
        };
        let review = Job {
            head_sha: Some(pr.head_sha),
            action: Some("requested".into()),
            ..job.clone()
        };
        let result = match self.run(&review, true).await {
            Ok(result) => result,
            Err(stopped) => *stopped,
        };
        self.settle_failure(&review, &result).await;
        result
    }
}
