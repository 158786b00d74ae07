//! The review queue on the events table: leases claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL (any
//! number of processes share one database) and through the single writer on SQLite. Every status change
//! is one of the domain's named transitions: the statuses are bound, never spelled here.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::queue::{
    EventStatus, Finish, Job, JobKind, RetryPolicy, ReviewQueue, Transition, transition,
};
use domain::webhook::values::{HeadSha, RepoFullName};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};

use crate::batch::Write;
use crate::{Db, DbError};

#[derive(Debug, FromQueryResult)]
struct Claimed {
    id: i64,
    attempts: i32,
    repository: Option<String>,
    pr_number: Option<i64>,
    head_sha: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    job: String,
    action: Option<String>,
}

impl Claimed {
    /// The job the row names; `None` for a row that names no valid pull request, or no head
    /// commit for a kind of job that needs one, or a kind this version does not know.
    fn job(&self, lease_expires_at: DateTime<Utc>) -> Option<Job> {
        let kind = JobKind::parse(&self.job)?;
        let head_sha = match (kind, self.head_sha.as_deref()) {
            (JobKind::Command, _) => None,
            (_, sha) => Some(HeadSha::parse(sha?).ok()?),
        };
        Some(Job {
            event_id: self.id,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            kind,
            repository: RepoFullName::parse(self.repository.as_deref()?).ok()?,
            pr_number: u64::try_from(self.pr_number?).ok()?,
            head_sha,
            action: self.action.clone(),
            lease_expires_at,
        })
    }
}

#[derive(Debug, FromQueryResult)]
struct Expired {
    id: i64,
    attempts: i32,
}

/// Writes `$n` placeholders as the backend wants them (`?n` on SQLite).
pub(crate) fn sql(backend: DbBackend, text: &str) -> String {
    match backend {
        DbBackend::Sqlite => text.replace('$', "?"),
        _ => text.to_owned(),
    }
}

/// `status IN ($first, …)` for the statuses a transition starts from, and their values.
pub(crate) fn from_clause(t: Transition, first: usize) -> (String, Vec<Value>) {
    let marks: Vec<String> = (0..t.from.len())
        .map(|i| format!("${}", first + i))
        .collect();
    let values = t.from.iter().map(|s| s.as_str().into()).collect();
    (format!("status IN ({})", marks.join(", ")), values)
}

/// A statement in `backend`'s placeholders.
pub(crate) fn statement_for(backend: DbBackend, text: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql(backend, text), values)
}

/// Applies `t` to the event `worker` holds, setting `set` (its placeholders numbered from `$3`,
/// `$1` and `$2` being the event's id and the worker). Returns whether the worker still held it.
pub(crate) async fn transition_held(
    conn: &impl ConnectionTrait,
    t: Transition,
    event_id: i64,
    worker: &str,
    set: &str,
    mut values: Vec<Value>,
) -> Result<bool, DbError> {
    let first = 3 + values.len() + 1;
    let (from, from_values) = from_clause(t, first);
    let text = format!(
        "UPDATE events SET status = ${}, {set} WHERE id = $1 AND lease_owner = $2 AND {from}",
        first - 1
    );
    let mut all: Vec<Value> = vec![event_id.into(), worker.into()];
    all.append(&mut values);
    all.push(t.to.as_str().into());
    all.extend(from_values);
    let rows = conn
        .execute_raw(statement_for(conn.get_database_backend(), &text, all))
        .await?
        .rows_affected();
    Ok(rows == 1)
}

impl Db {
    fn statement(&self, text: &str, values: Vec<Value>) -> Statement {
        statement_for(self.backend(), text, values)
    }

    async fn execute(&self, text: &str, values: Vec<Value>) -> Result<u64, DbError> {
        Ok(self
            .writer
            .execute_raw(self.statement(text, values))
            .await?
            .rows_affected())
    }
}

fn lease_until(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5))
}

#[async_trait]
impl ReviewQueue for Db {
    async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> domain::Result<Vec<Job>> {
        let lock = if self.backend() == DbBackend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let (from, from_values) = from_clause(transition::CLAIM, 6);
        let text = format!(
            "UPDATE events SET status = $5, attempts = attempts + 1, lease_owner = $1, \
             lease_expires_at = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM events WHERE {from} AND run_at <= $3 \
                          ORDER BY run_at, id LIMIT $4 {lock}) \
             RETURNING id, attempts, repository, pr_number, head_sha, lease_expires_at, job, action"
        );
        let mut values = vec![
            worker.into(),
            lease_until(now, lease).into(),
            now.into(),
            i64::from(limit).into(),
            transition::CLAIM.to.as_str().into(),
        ];
        values.extend(from_values);
        let rows = Claimed::find_by_statement(self.statement(&text, values))
            .all(&self.writer)
            .await
            .map_err(DbError::Query)?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in rows {
            match row.job(row.lease_expires_at.unwrap_or(now)) {
                Some(job) => jobs.push(job),
                None => {
                    // Ingest never queues such a row; one written by hand (or by a newer version
                    // with a kind of job this one does not know) fails instead of looping.
                    tracing::error!(
                        event_id = row.id,
                        job = %row.job,
                        "queued event names no valid pull request or kind of job"
                    );
                    transition_held(
                        &self.writer,
                        transition::finish(EventStatus::Failed),
                        row.id,
                        worker,
                        "last_error = $3, lease_owner = NULL, lease_expires_at = NULL, \
                         processed_at = $4, updated_at = $4",
                        vec![
                            "the event names no valid pull request or kind of job".into(),
                            now.into(),
                        ],
                    )
                    .await?;
                }
            }
        }
        Ok(jobs)
    }

    async fn heartbeat(
        &self,
        job: &Job,
        worker: &str,
        until: DateTime<Utc>,
    ) -> domain::Result<bool> {
        let rows = self
            .execute(
                "UPDATE events SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = $4",
                vec![
                    until.into(),
                    job.event_id.into(),
                    worker.into(),
                    EventStatus::Processing.as_str().into(),
                ],
            )
            .await?;
        Ok(rows == 1)
    }

    /// Recorded through the group commit: attempts finishing together share one transaction.
    async fn finish(
        &self,
        job: &Job,
        worker: &str,
        started_at: DateTime<Utc>,
        finish: Finish,
    ) -> domain::Result<bool> {
        Ok(self
            .batcher
            .submit(|reply| Write::Finish {
                job: job.clone(),
                worker: worker.to_owned(),
                started_at,
                finish,
                reply,
            })
            .await?)
    }

    async fn release(&self, job: &Job, worker: &str) -> domain::Result<bool> {
        Ok(transition_held(
            &self.writer,
            transition::RELEASE,
            job.event_id,
            worker,
            "attempts = attempts - 1, run_at = $3, lease_owner = NULL, lease_expires_at = NULL, \
                 updated_at = $3",
            vec![Utc::now().into()],
        )
        .await?)
    }

    async fn reclaim_expired(
        &self,
        now: DateTime<Utc>,
        policy: RetryPolicy,
    ) -> domain::Result<u64> {
        let lock = if self.backend() == DbBackend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let txn = self.begin_write().await?;
        let (from, from_values) = from_clause(transition::lease_lost(EventStatus::Pending), 2);
        let mut values = vec![now.into()];
        values.extend(from_values);
        let expired = Expired::find_by_statement(self.statement(
            &format!(
                "SELECT id, attempts FROM events WHERE {from} AND lease_expires_at < $1 {lock}"
            ),
            values,
        ))
        .all(&txn)
        .await
        .map_err(DbError::Query)?;
        let mut reclaimed = 0;
        for status in [EventStatus::Pending, EventStatus::Failed] {
            let ids: Vec<Value> = expired
                .iter()
                .filter(|e| {
                    policy.after_lost_lease(u32::try_from(e.attempts).unwrap_or(0)) == status
                })
                .map(|e| e.id.into())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let t = transition::lease_lost(status);
            let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", 4 + i)).collect();
            let (from, from_values) = from_clause(t, 4 + ids.len());
            let processed_at = if status.is_terminal() { "$1" } else { "NULL" };
            let text = format!(
                "UPDATE events SET status = $2, processed_at = {processed_at}, last_error = $3, \
                 lease_owner = NULL, lease_expires_at = NULL, run_at = $1, updated_at = $1 \
                 WHERE id IN ({}) AND {from}",
                marks.join(", ")
            );
            let mut values: Vec<Value> = vec![
                now.into(),
                t.to.as_str().into(),
                "lease expired: the worker stopped before finishing".into(),
            ];
            values.extend(ids);
            values.extend(from_values);
            reclaimed += txn
                .execute_raw(self.statement(&text, values))
                .await
                .map_err(DbError::Query)?
                .rows_affected();
        }
        txn.commit().await.map_err(DbError::Query)?;
        if reclaimed > 0 {
            tracing::warn!(reclaimed, "reclaimed events whose worker lease expired");
        }
        Ok(reclaimed)
    }
}
