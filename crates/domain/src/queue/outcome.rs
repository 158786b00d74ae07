//! How a code-host failure during a job becomes the queue's outcome.

use crate::codehost::CodeHostError;
use crate::queue::JobResult;

/// Rate limits and transient failures are retried (at the rate limit's reset when known); everything
/// else (not found, unauthorized, forbidden, validation) fails the job.
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

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn code_host_failures_are_transient_or_permanent() {
        let at = Utc::now();
        assert_eq!(
            job_result_of(CodeHostError::RateLimited { retry_at: at }),
            JobResult::Transient {
                error: format!("rate limited until {at}"),
                retry_at: Some(at)
            }
        );
        assert!(matches!(
            job_result_of(CodeHostError::Transient("502".into())),
            JobResult::Transient { retry_at: None, .. }
        ));
        assert!(matches!(
            job_result_of(CodeHostError::NotFound("gone".into())),
            JobResult::Permanent { .. }
        ));
        assert!(matches!(
            job_result_of(CodeHostError::Unauthorized("revoked".into())),
            JobResult::Permanent { .. }
        ));
    }
}
