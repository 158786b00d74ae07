//! The review queue on the events table: leases claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL (any
//! number of processes share one database) and through the single writer on SQLite.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::event::EventStatus;
use domain::queue::{Finish, Job, ReviewQueue};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Statement, Value,
};

use crate::entities::event_runs;
use crate::{Db, DbError};

#[derive(Debug, FromQueryResult)]
struct Claimed {
    id: i64,
    attempts: i32,
    repository: Option<String>,
    pr_number: Option<i64>,
    head_sha: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
}

/// Writes `$n` placeholders as the backend wants them (`?n` on SQLite).
fn sql(backend: DbBackend, text: &str) -> String {
    match backend {
        DbBackend::Sqlite => text.replace('$', "?"),
        _ => text.to_owned(),
    }
}

impl Db {
    fn statement(&self, text: &str, values: Vec<Value>) -> Statement {
        let backend = self.backend();
        Statement::from_sql_and_values(backend, sql(backend, text), values)
    }

    async fn execute(&self, text: &str, values: Vec<Value>) -> Result<u64, DbError> {
        Ok(self
            .writer
            .execute_raw(self.statement(text, values))
            .await?
            .rows_affected())
    }
}

/// The PostgreSQL channel queued work is announced on.
pub(crate) const WORK_CHANNEL: &str = "nectr_work";

impl Db {
    /// On PostgreSQL, wakes `wake` whenever any process queues work (LISTEN/NOTIFY), so idle workers
    /// of every process start at once; reconnects after errors. On SQLite (one machine, usually one
    /// process) there is nothing to listen to and polling covers other processes: returns `None`.
    pub fn listen_for_work(
        &self,
        wake: std::sync::Arc<tokio::sync::Notify>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend() != DbBackend::Postgres {
            return None;
        }
        let pool = self.reader.get_postgres_connection_pool().clone();
        Some(tokio::spawn(async move {
            loop {
                let listener = async {
                    let mut listener =
                        sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await?;
                    listener.listen(WORK_CHANNEL).await?;
                    loop {
                        listener.recv().await?;
                        wake.notify_waiters();
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), sea_orm::sqlx::Error>(())
                };
                if let Err(e) = listener.await {
                    tracing::warn!(error = %e, "listening for queued work failed; polling until it reconnects");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
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
        let text = format!(
            "UPDATE events SET status = 'processing', attempts = attempts + 1, lease_owner = $1, \
             lease_expires_at = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM events WHERE status = 'pending' AND run_at <= $3 \
                          ORDER BY run_at, id LIMIT $4 {lock}) \
             RETURNING id, attempts, repository, pr_number, head_sha, lease_expires_at"
        );
        let values = vec![
            worker.into(),
            lease_until(now, lease).into(),
            now.into(),
            i64::from(limit).into(),
        ];
        let rows = Claimed::find_by_statement(self.statement(&text, values))
            .all(&self.writer)
            .await
            .map_err(DbError::Query)?;
        Ok(rows
            .into_iter()
            .map(|r| Job {
                event_id: r.id,
                attempts: u32::try_from(r.attempts).unwrap_or(0),
                repository: r.repository,
                pr_number: r.pr_number.and_then(|n| u64::try_from(n).ok()),
                head_sha: r.head_sha,
                lease_expires_at: r.lease_expires_at.unwrap_or(now),
            })
            .collect())
    }

    async fn heartbeat(
        &self,
        job: &Job,
        worker: &str,
        until: DateTime<Utc>,
    ) -> domain::Result<bool> {
        let rows = self
            .execute(
                "UPDATE events SET lease_expires_at = $1 \
                 WHERE id = $2 AND status = 'processing' AND lease_owner = $3",
                vec![until.into(), job.event_id.into(), worker.into()],
            )
            .await?;
        Ok(rows == 1)
    }

    async fn finish(
        &self,
        job: &Job,
        worker: &str,
        started_at: DateTime<Utc>,
        finish: Finish,
    ) -> domain::Result<bool> {
        let now = Utc::now();
        let txn = self.begin_write().await?;
        let (outcome, error, result, update, values): (
            String,
            Option<String>,
            Option<String>,
            &str,
            Vec<Value>,
        ) = match &finish {
            Finish::Retry { run_at, error } => (
                "retry".into(),
                Some(error.clone()),
                None,
                "UPDATE events SET status = 'pending', run_at = $1, last_error = $2, lease_owner = NULL, \
                     lease_expires_at = NULL, updated_at = $3 \
                     WHERE id = $4 AND status = 'processing' AND lease_owner = $5",
                vec![
                    (*run_at).into(),
                    error.clone().into(),
                    now.into(),
                    job.event_id.into(),
                    worker.into(),
                ],
            ),
            Finish::Done {
                status,
                detail,
                result,
            } => {
                let failed = *status == EventStatus::Failed;
                (
                    status.as_str().into(),
                    detail.clone().filter(|_| failed),
                    result.as_ref().map(|r| r.to_string()),
                    "UPDATE events SET status = $1, reason = COALESCE($2, reason), last_error = $3, \
                         lease_owner = NULL, lease_expires_at = NULL, processed_at = $4, updated_at = $4 \
                         WHERE id = $5 AND status = 'processing' AND lease_owner = $6",
                    vec![
                        status.as_str().into(),
                        detail.clone().filter(|_| !failed).into(),
                        detail.clone().filter(|_| failed).into(),
                        now.into(),
                        job.event_id.into(),
                        worker.into(),
                    ],
                )
            }
        };
        let rows = txn
            .execute_raw(self.statement(update, values))
            .await
            .map_err(DbError::Query)?
            .rows_affected();
        if rows != 1 {
            txn.rollback().await.map_err(DbError::Query)?;
            tracing::warn!(
                event_id = job.event_id,
                worker,
                "lease lost before the attempt finished; result dropped"
            );
            return Ok(false);
        }
        let run = event_runs::ActiveModel {
            event_id: Set(job.event_id),
            attempt: Set(i32::try_from(job.attempts).unwrap_or(i32::MAX)),
            worker: Set(worker.to_owned()),
            started_at: Set(started_at),
            finished_at: Set(now),
            outcome: Set(outcome),
            error: Set(error),
            result: Set(result),
            ..Default::default()
        };
        event_runs::Entity::insert(run)
            .exec(&txn)
            .await
            .map_err(DbError::Query)?;
        txn.commit().await.map_err(DbError::Query)?;
        Ok(true)
    }

    async fn release(&self, job: &Job, worker: &str) -> domain::Result<bool> {
        let rows = self
            .execute(
                "UPDATE events SET status = 'pending', attempts = attempts - 1, run_at = $1, lease_owner = NULL, \
                 lease_expires_at = NULL, updated_at = $1 \
                 WHERE id = $2 AND status = 'processing' AND lease_owner = $3",
                vec![Utc::now().into(), job.event_id.into(), worker.into()],
            )
            .await?;
        Ok(rows == 1)
    }

    async fn reclaim_expired(&self, now: DateTime<Utc>, max_attempts: u32) -> domain::Result<u64> {
        let reclaimed = self
            .execute(
                "UPDATE events SET \
                   status = CASE WHEN attempts >= $2 THEN 'failed' ELSE 'pending' END, \
                   processed_at = CASE WHEN attempts >= $2 THEN $1 ELSE NULL END, \
                   last_error = 'lease expired: the worker stopped before finishing', \
                   lease_owner = NULL, lease_expires_at = NULL, run_at = $1, updated_at = $1 \
                 WHERE status = 'processing' AND lease_expires_at < $1",
                vec![now.into(), i64::from(max_attempts).into()],
            )
            .await?;
        if reclaimed > 0 {
            tracing::warn!(reclaimed, "reclaimed events whose worker lease expired");
        }
        Ok(reclaimed)
    }
}
