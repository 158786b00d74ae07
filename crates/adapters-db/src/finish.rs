//! Ending attempts: a job's transition out of `processing` and the run recorded for it, for the
//! group commit ([`crate::batch`]), which ends every attempt of a transaction in one statement.

use chrono::{DateTime, Utc};
use domain::queue::{EventStatus, Finish, Job, Transition, transition};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseTransaction, FromQueryResult, Value};

use crate::DbError;
use crate::entities::event_runs;
use crate::queue::{from_clause, statement_for, transition_held};

/// An attempt to end, for [`finish_all`].
pub(crate) struct Ending<'a> {
    pub job: &'a Job,
    pub worker: &'a str,
    pub started_at: DateTime<Utc>,
    pub finish: &'a Finish,
}

impl Ending<'_> {
    /// The transition, and the values it sets: reason, last error, next run, processed at.
    #[allow(clippy::type_complexity)]
    fn values(
        &self,
        now: DateTime<Utc>,
    ) -> (
        Transition,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    ) {
        match self.finish {
            Finish::Retry { run_at, error } => (
                transition::RETRY_LATER,
                None,
                Some(error.clone()),
                Some(*run_at),
                None,
            ),
            Finish::Done { status, detail, .. } => {
                let failed = *status == EventStatus::Failed;
                (
                    transition::finish(*status),
                    detail.clone().filter(|_| !failed),
                    detail.clone().filter(|_| failed),
                    None,
                    Some(now),
                )
            }
        }
    }

    /// The run to record for it.
    fn run(&self, now: DateTime<Utc>) -> event_runs::ActiveModel {
        let (outcome, error, result) = match self.finish {
            Finish::Retry { error, .. } => ("retry".to_owned(), Some(error.clone()), None),
            Finish::Done {
                status,
                detail,
                result,
            } => (
                status.as_str().to_owned(),
                detail.clone().filter(|_| *status == EventStatus::Failed),
                result.as_ref().map(|r| r.to_string()),
            ),
        };
        event_runs::ActiveModel {
            event_id: Set(self.job.event_id),
            attempt: Set(i32::try_from(self.job.attempts).unwrap_or(i32::MAX)),
            worker: Set(self.worker.to_owned()),
            started_at: Set(self.started_at),
            finished_at: Set(now),
            outcome: Set(outcome),
            error: Set(error),
            result: Set(result),
            ..Default::default()
        }
    }
}

/// Ends every attempt of `endings` inside `txn` in one statement: each event's transition, applied
/// only where its worker still holds the lease. Returns, in order, the run to record for each, or
/// `None` for one whose lease was lost (nothing of it changed).
pub(crate) async fn finish_all(
    txn: &DatabaseTransaction,
    endings: &[Ending<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Option<event_runs::ActiveModel>>, DbError> {
    let from = transition::RETRY_LATER.from;
    let mut ids = std::collections::HashSet::with_capacity(endings.len());
    let uniform = endings
        .iter()
        .all(|e| e.values(now).0.from == from && ids.insert(e.job.event_id));
    if !uniform {
        // A transition from other statuses than the others', or one event ended twice (by a
        // worker that lost its lease and the one that took it over): one statement each, in order.
        let mut runs = Vec::with_capacity(endings.len());
        for e in endings {
            runs.push(finish_in(txn, e.job, e.worker, e.started_at, e.finish, now).await?);
        }
        return Ok(runs);
    }
    // `$1` is the time; each ending's seven values follow.
    let mut values: Vec<Value> = vec![now.into()];
    let mut rows = Vec::with_capacity(endings.len());
    for (i, e) in endings.iter().enumerate() {
        let (t, reason, last_error, run_at, processed_at) = e.values(now);
        let first = 2 + i * 7;
        rows.push(format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
            first,
            first + 1,
            first + 2,
            first + 3,
            first + 4,
            first + 5,
            first + 6
        ));
        values.extend([
            e.job.event_id.into(),
            e.worker.into(),
            t.to.as_str().into(),
            reason.into(),
            last_error.into(),
            run_at.into(),
            processed_at.into(),
        ]);
    }
    let (from_clause, from_values) = from_clause(transition::RETRY_LATER, values.len() + 1);
    values.extend(from_values);
    let text = format!(
        "WITH v (event_id, owner, status, reason, last_error, run_at, processed_at) AS (VALUES {}) \
         UPDATE events SET status = v.status, reason = COALESCE(v.reason, events.reason), \
         last_error = v.last_error, run_at = COALESCE(v.run_at, events.run_at), \
         processed_at = COALESCE(v.processed_at, events.processed_at), lease_owner = NULL, \
         lease_expires_at = NULL, updated_at = $1 \
         FROM v WHERE events.id = v.event_id AND events.lease_owner = v.owner AND events.{from_clause} \
         RETURNING id",
        rows.join(", ")
    );
    let held: std::collections::HashSet<i64> =
        HeldRow::find_by_statement(statement_for(txn.get_database_backend(), &text, values))
            .all(txn)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
    Ok(endings
        .iter()
        .map(|e| {
            if held.contains(&e.job.event_id) {
                Some(e.run(now))
            } else {
                tracing::warn!(
                    event_id = e.job.event_id,
                    worker = e.worker,
                    "lease lost before the attempt finished; result dropped"
                );
                None
            }
        })
        .collect())
}

#[derive(Debug, FromQueryResult)]
struct HeldRow {
    id: i64,
}

/// Ends the attempt `finish` describes inside `txn`: the event's transition, and the run to record
/// (`None` when `worker` no longer held the lease: then nothing changed).
pub(crate) async fn finish_in(
    txn: &DatabaseTransaction,
    job: &Job,
    worker: &str,
    started_at: DateTime<Utc>,
    finish: &Finish,
    now: DateTime<Utc>,
) -> Result<Option<event_runs::ActiveModel>, DbError> {
    let (outcome, error, result, held) = match finish {
        Finish::Retry { run_at, error } => {
            let held = transition_held(
                txn,
                transition::RETRY_LATER,
                job.event_id,
                worker,
                "run_at = $3, last_error = $4, lease_owner = NULL, \
                 lease_expires_at = NULL, updated_at = $5",
                vec![(*run_at).into(), error.clone().into(), now.into()],
            )
            .await?;
            ("retry".to_owned(), Some(error.clone()), None, held)
        }
        Finish::Done {
            status,
            detail,
            result,
        } => {
            let failed = *status == EventStatus::Failed;
            let held = transition_held(
                txn,
                transition::finish(*status),
                job.event_id,
                worker,
                "reason = COALESCE($3, reason), last_error = $4, lease_owner = NULL, \
                 lease_expires_at = NULL, processed_at = $5, updated_at = $5",
                vec![
                    detail.clone().filter(|_| !failed).into(),
                    detail.clone().filter(|_| failed).into(),
                    now.into(),
                ],
            )
            .await?;
            (
                status.as_str().to_owned(),
                detail.clone().filter(|_| failed),
                result.as_ref().map(|r| r.to_string()),
                held,
            )
        }
    };
    if !held {
        tracing::warn!(
            event_id = job.event_id,
            worker,
            "lease lost before the attempt finished; result dropped"
        );
        return Ok(None);
    }
    Ok(Some(event_runs::ActiveModel {
        event_id: Set(job.event_id),
        attempt: Set(i32::try_from(job.attempts).unwrap_or(i32::MAX)),
        worker: Set(worker.to_owned()),
        started_at: Set(started_at),
        finished_at: Set(now),
        outcome: Set(outcome),
        error: Set(error),
        result: Set(result),
        ..Default::default()
    }))
}
