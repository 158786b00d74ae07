//! The review queue's rules: what a claimed job is, what its handler may answer, and what becomes of the
//! event then (completed, skipped, superseded, retried later with backoff, or failed).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::event::EventStatus;

/// A claimed unit of review work: one event, leased to one worker until `lease_expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub event_id: i64,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub repository: Option<String>,
    pub pr_number: Option<u64>,
    pub head_sha: Option<String>,
    pub lease_expires_at: DateTime<Utc>,
}

/// What a handler made of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// Done; `result` is kept on the run (JSON).
    Completed { result: serde_json::Value },
    /// Nothing to do any more (the pull request was closed).
    Skipped { reason: String },
    /// The pull request moved to another head commit: a newer event owns the review.
    Superseded { reason: String },
    /// Worth trying again: a timeout, a 5xx, a rate limit (`retry_at` when the cause names a time).
    Transient {
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
    /// Will not pass by retrying: a 404, a revoked token, a validation error.
    Permanent { error: String },
}

/// The work itself, behind a port: the review use case in production, anything in tests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn handle(&self, job: &Job) -> JobResult;
}

/// How the queue ends a job's attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// A terminal status with its reason or error.
    Done {
        status: EventStatus,
        detail: Option<String>,
        result: Option<serde_json::Value>,
    },
    /// Back to `pending`, due at `run_at`, keeping the error.
    Retry {
        run_at: DateTime<Utc>,
        error: String,
    },
}

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
            JobResult::Transient { error, .. } if job.attempts >= self.max_attempts => {
                Finish::Done {
                    status: EventStatus::Failed,
                    detail: Some(format!("gave up after {} attempts: {error}", job.attempts)),
                    result: None,
                }
            }
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

/// The durable queue of review work.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReviewQueue: Send + Sync {
    /// Leases up to `limit` due `pending` events to `worker` until `now + lease`, marking them
    /// `processing` and counting the attempt. Two workers never get the same event.
    ///
    /// Errors: `Transient` when the database cannot be reached.
    async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>>;
    /// Extends the lease of a job `worker` still holds; `false` when it no longer does.
    async fn heartbeat(&self, job: &Job, worker: &str, until: DateTime<Utc>) -> Result<bool>;
    /// Ends the attempt and records its run. Does nothing (returns `false`) when `worker` lost the lease.
    async fn finish(
        &self,
        job: &Job,
        worker: &str,
        started_at: DateTime<Utc>,
        finish: Finish,
    ) -> Result<bool>;
    /// Gives an unfinished job back (`pending`, due now, the attempt not counted): used at shutdown.
    async fn release(&self, job: &Job, worker: &str) -> Result<bool>;
    /// Puts `processing` events whose lease expired before `now` back to `pending` (or `failed` when
    /// out of attempts), so a crashed worker never leaves an event stuck. Returns how many.
    async fn reclaim_expired(&self, now: DateTime<Utc>, max_attempts: u32) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn job(attempts: u32) -> Job {
        Job {
            event_id: 1,
            attempts,
            repository: Some("acme/api".into()),
            pr_number: Some(3),
            head_sha: None,
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
}
