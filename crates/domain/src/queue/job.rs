//! What a claimed job is, what its handler may answer, how an attempt ends, and the queue port.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::queue::retry::RetryPolicy;
use crate::queue::status::EventStatus;
use crate::webhook::event::ReviewKey;
use crate::webhook::values::{HeadSha, RepoFullName};

/// What a queued event asks the workers to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Review the pull request at its head commit and post the review.
    Review,
    /// Keep a merged pull request in the knowledge graph.
    Index,
    /// Answer an `@nectr` command in a pull request's comment.
    Command,
}

impl JobKind {
    pub const ALL: [Self; 3] = [Self::Review, Self::Index, Self::Command];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Review => "review",
            Self::Index => "index",
            Self::Command => "command",
        }
    }

    /// The kind a stored name means; `None` for a name this version does not know.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// A claimed unit of work: one event, leased to one worker until `lease_expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub event_id: i64,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub kind: JobKind,
    /// The repository and pull request the work is about.
    pub repository: RepoFullName,
    pub pr_number: u64,
    /// The head commit a review or an index job is about; `None` for a command (a comment names
    /// no commit).
    pub head_sha: Option<HeadSha>,
    /// The delivery's action (`opened`, `synchronize`, `created`, ...).
    pub action: Option<String>,
    pub lease_expires_at: DateTime<Utc>,
}

impl Job {
    /// The pull request at its head commit, for the kinds of job that name one.
    pub fn review_key(&self) -> Option<ReviewKey> {
        Some(ReviewKey {
            repository: self.repository.clone(),
            pr_number: self.pr_number,
            head_sha: self.head_sha.clone()?,
        })
    }
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
    /// Runs one attempt. Failures are answers ([`JobResult::Transient`], [`JobResult::Permanent`]),
    /// never errors: the queue decides what becomes of the event.
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

/// The durable queue of review work.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReviewQueue: Send + Sync {
    /// Leases up to `limit` due `pending` events to `worker` until `now + lease`, marking them
    /// `processing` and counting the attempt ([`crate::queue::transition::CLAIM`]). Two workers never get the same
    /// event. A claimed row that names no valid pull request is failed on the spot, not returned.
    ///
    /// # Errors
    /// `Transient` when the database cannot be reached; nothing is then claimed.
    async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>>;
    /// Extends the lease of a job `worker` still holds; `false` when it no longer does.
    ///
    /// # Errors
    /// `Transient` when the database cannot be reached (the lease is then not extended).
    async fn heartbeat(&self, job: &Job, worker: &str, until: DateTime<Utc>) -> Result<bool>;
    /// Ends the attempt ([`crate::queue::transition::finish`] or [`crate::queue::transition::RETRY_LATER`]) and records its run,
    /// in one transaction. Does nothing (returns `false`) when `worker` lost the lease.
    ///
    /// # Errors
    /// `Transient` when the database cannot be reached: nothing is recorded, and the lease expires.
    async fn finish(
        &self,
        job: &Job,
        worker: &str,
        started_at: DateTime<Utc>,
        finish: Finish,
    ) -> Result<bool>;
    /// Gives an unfinished job back (`pending`, due now, the attempt not counted: [`crate::queue::transition::RELEASE`]);
    /// used at shutdown. `false` when `worker` no longer held it.
    ///
    /// # Errors
    /// `Transient` when the database cannot be reached: the lease then expires instead.
    async fn release(&self, job: &Job, worker: &str) -> Result<bool>;
    /// Ends `processing` events whose lease expired before `now` as `policy` says
    /// ([`RetryPolicy::after_lost_lease`]: back to `pending`, or `failed` when out of attempts), so a
    /// crashed worker never leaves an event stuck. Returns how many.
    ///
    /// # Errors
    /// `Transient` when the database cannot be reached; nothing is then changed.
    async fn reclaim_expired(&self, now: DateTime<Utc>, policy: RetryPolicy) -> Result<u64>;
}

/// Wakes idle workers when work is queued, so they need not wait for their next poll.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WorkSignal: Send + Sync {
    /// Work was queued in this process: wakes one idle worker of it (or the next to go idle). Other
    /// processes learn of it from the store, when it can tell them.
    fn work_queued(&self);
    /// Resolves when work may be due: queued in this process, or announced by another process through
    /// the store. Never fails; a lost announcement only means waiting for the next poll.
    async fn wait(&self);
}
