//! The retry policy: exponential backoff with jitter, a cap on attempts, and what becomes of a job given
//! its handler's answer (or a worker that stopped answering).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::queue::job::{Finish, Job, JobResult};
use crate::queue::status::EventStatus;

/// Retries: exponential backoff with jitter, up to a number of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before an event fails (`MAX_ATTEMPTS`, default 5).
    pub max_attempts: u32,
    /// The first retry waits about this long; each next one twice as long.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`: `base * 2^(attempts-1)`, capped, then scaled by
    /// `jitter` in `[0.5, 1.0]` so that jobs failing together do not retry together.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        let raw = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        raw.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// Whether a job that has had `attempts` attempts may not have another.
    pub fn is_exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }

    /// What becomes of a job whose worker stopped renewing its lease after `attempts` attempts:
    /// back to `pending` for another worker, or `failed` when it is out of attempts.
    pub fn after_lost_lease(&self, attempts: u32) -> EventStatus {
        if self.is_exhausted(attempts) {
            EventStatus::Failed
        } else {
            EventStatus::Pending
        }
    }

    /// What becomes of a job given its handler's answer. `jitter` is a random number in `[0, 1]`.
    pub fn finish(&self, job: &Job, result: JobResult, now: DateTime<Utc>, jitter: f64) -> Finish {
        match result {
            JobResult::Completed { result } => Finish::Done {
                status: EventStatus::Completed,
                detail: None,
                result: Some(result),
            },
            JobResult::Skipped { reason } => Finish::Done {
                status: EventStatus::Skipped,
                detail: Some(reason),
                result: None,
            },
            JobResult::Superseded { reason } => Finish::Done {
                status: EventStatus::Superseded,
                detail: Some(reason),
                result: None,
            },
            JobResult::Permanent { error } => Finish::Done {
                status: EventStatus::Failed,
                detail: Some(error),
                result: None,
            },
            JobResult::Transient { error, .. } if self.is_exhausted(job.attempts) => Finish::Done {
                status: EventStatus::Failed,
                detail: Some(format!("gave up after {} attempts: {error}", job.attempts)),
                result: None,
            },
            JobResult::Transient { error, retry_at } => {
                let backoff = chrono::Duration::from_std(self.backoff(job.attempts, jitter))
                    .unwrap_or(chrono::Duration::hours(1));
                let run_at = match retry_at {
                    Some(at) if at > now => at,
                    _ => now + backoff,
                };
                Finish::Retry { run_at, error }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::webhook::values::{HeadSha, RepoFullName};

    fn job(attempts: u32) -> Job {
        Job {
            event_id: 1,
            attempts,
            kind: crate::queue::JobKind::Review,
            repository: RepoFullName::parse("acme/api").unwrap(),
            pr_number: 3,
            head_sha: Some(HeadSha::parse("0123456789abcdef0123456789abcdef01234567").unwrap()),
            action: Some("opened".into()),
            lease_expires_at: Utc.with_ymd_and_hms(2026, 11, 22, 12, 5, 0).unwrap(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn transient() -> JobResult {
        JobResult::Transient {
            error: "GitHub answered 502".into(),
            retry_at: None,
        }
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1, 1.0), Duration::from_secs(10));
        assert_eq!(policy.backoff(2, 1.0), Duration::from_secs(20));
        assert_eq!(policy.backoff(4, 1.0), Duration::from_secs(80));
        assert_eq!(policy.backoff(4, 0.0), Duration::from_secs(40));
        assert_eq!(policy.backoff(40, 1.0), Duration::from_secs(3600));
    }

    #[test]
    fn a_transient_error_retries_with_backoff_until_the_last_attempt() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.finish(&job(1), transient(), now(), 1.0),
            Finish::Retry {
                run_at: now() + chrono::Duration::seconds(10),
                error: "GitHub answered 502".into()
            }
        );
        assert_eq!(
            policy.finish(&job(3), transient(), now(), 1.0),
            Finish::Retry {
                run_at: now() + chrono::Duration::seconds(40),
                error: "GitHub answered 502".into()
            }
        );
        let Finish::Done { status, detail, .. } = policy.finish(&job(5), transient(), now(), 1.0)
        else {
            panic!("the fifth transient failure is final")
        };
        assert_eq!(status, EventStatus::Failed);
        assert_eq!(
            detail.as_deref(),
            Some("gave up after 5 attempts: GitHub answered 502")
        );
    }

    #[test]
    fn a_rate_limit_is_honoured_over_the_backoff() {
        let reset = now() + chrono::Duration::minutes(30);
        let result = JobResult::Transient {
            error: "rate limited".into(),
            retry_at: Some(reset),
        };
        assert_eq!(
            RetryPolicy::default().finish(&job(1), result, now(), 1.0),
            Finish::Retry {
                run_at: reset,
                error: "rate limited".into()
            }
        );
    }

    #[test]
    fn permanent_errors_fail_at_once_and_other_answers_are_terminal() {
        let policy = RetryPolicy::default();
        let failed = policy.finish(
            &job(1),
            JobResult::Permanent {
                error: "404".into(),
            },
            now(),
            0.5,
        );
        assert!(matches!(
            failed,
            Finish::Done {
                status: EventStatus::Failed,
                ..
            }
        ));
        let skipped = policy.finish(
            &job(1),
            JobResult::Skipped {
                reason: "closed".into(),
            },
            now(),
            0.5,
        );
        assert!(matches!(
            skipped,
            Finish::Done {
                status: EventStatus::Skipped,
                ..
            }
        ));
        let superseded = policy.finish(
            &job(2),
            JobResult::Superseded {
                reason: "moved".into(),
            },
            now(),
            0.5,
        );
        assert!(matches!(
            superseded,
            Finish::Done {
                status: EventStatus::Superseded,
                ..
            }
        ));
        let done = policy.finish(
            &job(1),
            JobResult::Completed {
                result: serde_json::json!({"ok": true}),
            },
            now(),
            0.5,
        );
        assert!(matches!(
            done,
            Finish::Done {
                status: EventStatus::Completed,
                result: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn a_lost_lease_goes_back_to_pending_until_the_attempts_are_spent() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.after_lost_lease(1), EventStatus::Pending);
        assert_eq!(policy.after_lost_lease(4), EventStatus::Pending);
        assert_eq!(policy.after_lost_lease(5), EventStatus::Failed);
        assert_eq!(policy.after_lost_lease(9), EventStatus::Failed);
    }
}
