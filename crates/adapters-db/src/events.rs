//! The event store: records accepted events and queues their review work, deduplicated by unique indexes
//! inside one transaction (never read-then-write).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::queue::{EventStatus, JobKind, transition};
use domain::webhook::delivery::DeliveryRecord;
use domain::webhook::event::ReviewKey;
use domain::webhook::ports::{Disposition, EventStore, NewEvent, Recorded, StoredPayloads};
use sea_orm::sea_query::{
    CaseStatement, Expr, OnConflict, Query, SelectStatement, UnionType, UpdateStatement,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, QueryTrait, SqliteTransactionMode,
    TransactionOptions, TransactionTrait, TryInsertResult,
};

use crate::batch::Write;
use crate::body::Body;
use crate::entities::events::{self, Column};
use crate::{Db, DbError, Result};

/// Why an insert conflicted.
enum Conflict {
    /// A final answer: a duplicate delivery, or a review of this commit in flight within the window.
    Settled(Recorded),
    /// A review of this commit has been in flight since before the window: it no longer blocks.
    Stale { event_id: i64 },
}

impl Db {
    /// Begins a write transaction on the writer (see [`begin_write`]).
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction> {
        begin_write(&self.writer).await
    }
}

/// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
/// two writers queue on the busy timeout instead of failing when one upgrades a read lock.
pub(crate) async fn begin_write(conn: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    Ok(conn.begin_with_options(options).await?)
}

/// An event's row, and what becomes of it once inserted.
struct Planned<'a> {
    row: events::ActiveModel,
    status: EventStatus,
    key: Option<&'a ReviewKey>,
    job: JobKind,
    /// The pull request it is about, if any: `(repository, number)`.
    pull_request: Option<(&'a str, u64)>,
}

fn plan<'a>(event: &'a NewEvent, body: &Body) -> Planned<'a> {
    let now = event.received_at;
    let pr = event.event.pull_request.as_ref();
    let (status, reason, key, job, number) = match &event.disposition {
        Disposition::Queue { key, kind, .. } => (
            EventStatus::Pending,
            None,
            Some(key),
            *kind,
            Some(key.pr_number),
        ),
        Disposition::Command { pr_number, .. } => (
            EventStatus::Pending,
            None,
            None,
            JobKind::Command,
            Some(*pr_number),
        ),
        Disposition::Done { detail } => (
            EventStatus::Completed,
            Some(detail.clone()),
            None,
            JobKind::Review,
            None,
        ),
        Disposition::Ignore { reason } => (
            EventStatus::Ignored,
            Some(reason.clone()),
            None,
            JobKind::Review,
            pr.map(|p| p.number),
        ),
    };
    let queued = status == EventStatus::Pending;
    let pull_request = event
        .event
        .repository
        .as_ref()
        .zip(number)
        .map(|(r, n)| (r.as_str(), n));
    let row = events::ActiveModel {
        delivery_id: Set(event.delivery_id.as_str().to_owned()),
        event_name: Set(event.event.name.clone()),
        action: Set(event.event.action.clone()),
        event_type: Set(event.event.event_type.clone()),
        repository: Set(event
            .event
            .repository
            .as_ref()
            .map(|r| r.as_str().to_owned())),
        pr_number: Set(number.map(pr_number)),
        head_sha: Set(pr.map(|p| p.head_sha.as_str().to_owned())),
        pr_updated_at: Set(pr.and_then(|p| p.updated_at)),
        sender: Set(event.event.sender.clone()),
        status: Set(status.as_str().to_owned()),
        reason: Set(reason),
        payload: Set(body.text().to_owned()),
        payload_lz4: Set(body.lz4().map(<[u8]>::to_vec)),
        attempts: Set(0),
        run_at: Set(queued.then_some(now)),
        lease_expires_at: Set(None),
        lease_owner: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        processed_at: Set((!queued).then_some(now)),
        job: Set(job.as_str().to_owned()),
        provider: Set(event.provider.as_str().to_owned()),
        ..Default::default()
    };
    Planned {
        row,
        status,
        key,
        job,
        pull_request,
    }
}

/// Records `event` inside `txn`: its row, or which rule refused it, and the older work it
/// supersedes. The caller announces queued work (once per transaction) and writes the log row.
pub(crate) async fn record_in(
    txn: &DatabaseTransaction,
    event: &NewEvent,
    body: &Body,
) -> Result<Recorded> {
    let Planned {
        row,
        status,
        key,
        job,
        ..
    } = plan(event, body);
    let queued = status == EventStatus::Pending;

    // ON CONFLICT DO NOTHING on any unique index: the delivery id, or the one-in-flight-review
    // key. A conflict with a review in flight since before the window finds it stale: it is
    // superseded and the insert tried once more.
    let mut retried = false;
    let event_id = loop {
        let inserted = events::Entity::insert(row.clone())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .try_insert()
            .exec(txn)
            .await?;
        if let TryInsertResult::Inserted(result) = inserted {
            break result.last_insert_id;
        }
        match conflict(txn, event).await? {
            Conflict::Stale { event_id } if !retried => {
                supersede_stale(txn, event_id, event).await?;
                retried = true;
            }
            Conflict::Stale { event_id } => return Ok(Recorded::AlreadyInFlight { event_id }),
            Conflict::Settled(recorded) => return Ok(recorded),
        }
    };
    if status == EventStatus::Completed {
        return Ok(Recorded::Done { event_id });
    }
    if !queued {
        return Ok(Recorded::Ignored { event_id });
    }

    // Only a review makes older reviews moot; indexing a merged pull request or answering a
    // comment supersedes nothing.
    let superseded = match key {
        Some(key) if job == JobKind::Review => {
            supersede_older_heads(txn, event_id, key, event).await?
        }
        _ => 0,
    };
    Ok(Recorded::Queued {
        event_id,
        superseded,
    })
}

/// Records `events` inside `txn`, in order, each exactly as [`record_in`] would alone. Deliveries
/// of distinct pull requests (and distinct delivery ids) are inserted in one statement, then their
/// older heads superseded; a delivery that conflicts is then resolved on its own. A
/// batch where two deliveries concern one pull request is recorded one delivery after another, so
/// that the later one sees the earlier.
pub(crate) async fn record_all(
    txn: &DatabaseTransaction,
    events: &[(&NewEvent, &Body)],
) -> Result<Vec<Recorded>> {
    let plans: Vec<Planned<'_>> = events.iter().map(|(e, b)| plan(e, b)).collect();
    let mut delivery_ids = HashSet::with_capacity(events.len());
    let mut pull_requests = HashSet::with_capacity(events.len());
    let independent = events.len() > 1
        && events.iter().zip(&plans).all(|((e, _), p)| {
            delivery_ids.insert(e.delivery_id.as_str())
                && p.pull_request.is_none_or(|pr| pull_requests.insert(pr))
        });
    if !independent {
        let mut recorded = Vec::with_capacity(events.len());
        for (event, body) in events {
            recorded.push(record_in(txn, event, body).await?);
        }
        return Ok(recorded);
    }
    let backend = txn.get_database_backend();
    let mut insert = events::Entity::insert_many(plans.iter().map(|p| p.row.clone()))
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .into_query();
    insert.returning(Query::returning().columns([Column::Id, Column::DeliveryId]));
    let mut inserted = HashMap::with_capacity(events.len());
    for row in txn.query_all_raw(backend.build(&insert)).await? {
        let id: i64 = row.try_get("", "id")?;
        let delivery: String = row.try_get("", "delivery_id")?;
        inserted.insert(delivery, id);
    }
    let mut recorded = Vec::with_capacity(events.len());
    let mut reviews = Vec::new();
    for ((event, body), plan) in events.iter().zip(&plans) {
        let Some(&event_id) = inserted.get(event.delivery_id.as_str()) else {
            // A duplicate, or a review in flight: resolved as it would be alone.
            recorded.push(record_in(txn, event, body).await?);
            continue;
        };
        recorded.push(match plan.status {
            EventStatus::Completed => Recorded::Done { event_id },
            EventStatus::Pending => {
                if let (Some(key), JobKind::Review) = (plan.key, plan.job) {
                    reviews.push((recorded.len(), event_id, key, *event));
                }
                Recorded::Queued {
                    event_id,
                    superseded: 0,
                }
            }
            _ => Recorded::Ignored { event_id },
        });
    }
    supersede_all_older_heads(txn, &reviews, &mut recorded).await?;
    Ok(recorded)
}

/// [`supersede_older_heads`] for each review of `reviews` (its index in `recorded`, its event id,
/// its key, its event), each count put into its `Recorded::Queued`: one statement for at most
/// [`SUPERSEDE_CHUNK`] of them. The rows it updates are those of a `UNION ALL` of one indexed lookup
/// per pull request (`ix_events_pr`), each planned on its own: an `UPDATE … FROM` a list of them was
/// planned as a scan of every event on both databases, and an `OR` of them as a scan of every
/// pending event of the repository on PostgreSQL (2.5 ms a batch, half its time). The reviews are of
/// distinct pull requests ([`record_all`] checks), so each older row is found once, and its reason
/// and time are that review's.
async fn supersede_all_older_heads(
    txn: &DatabaseTransaction,
    reviews: &[(usize, i64, &ReviewKey, &NewEvent)],
    recorded: &mut [Recorded],
) -> Result<()> {
    if let [(index, event_id, key, by)] = reviews {
        let count = supersede_older_heads(txn, *event_id, key, by).await?;
        if let Some(Recorded::Queued { superseded, .. }) = recorded.get_mut(*index) {
            *superseded = count;
        }
        return Ok(());
    }
    let by_pr: HashMap<(&str, i64), usize> = reviews
        .iter()
        .map(|(index, _, key, _)| ((key.repository.as_str(), pr_number(key.pr_number)), *index))
        .collect();
    let backend = txn.get_database_backend();
    let mut rows = Vec::new();
    for chunk in reviews.chunks(SUPERSEDE_CHUNK) {
        let update = supersede_all_statement(chunk);
        rows.extend(txn.query_all_raw(backend.build(&update)).await?);
    }
    for row in rows {
        let repository: String = row.try_get("", "repository")?;
        let number: i64 = row.try_get("", "pr_number")?;
        let index = by_pr.get(&(repository.as_str(), number)).ok_or_else(|| {
            DbError::Race("a superseded event matched no review of its batch".into())
        })?;
        if let Some(Recorded::Queued { superseded, .. }) = recorded.get_mut(*index) {
            *superseded += 1;
        }
    }
    Ok(())
}

/// Reviews superseding in one statement at most (SQLite takes 500 selects in a `UNION` at most).
const SUPERSEDE_CHUNK: usize = 100;

/// The one statement of [`supersede_all_older_heads`], returning each superseded row's pull request.
fn supersede_all_statement(reviews: &[(usize, i64, &ReviewKey, &NewEvent)]) -> UpdateStatement {
    let older = |key, by| {
        Query::select()
            .column(Column::Id)
            .from(events::Entity)
            .cond_where(older_heads(key, by))
            .to_owned()
    };
    let mut ids: Option<SelectStatement> = None;
    let mut reason = CaseStatement::new();
    let mut at = CaseStatement::new();
    for (_, event_id, key, by) in reviews {
        match &mut ids {
            None => ids = Some(older(key, by)),
            Some(ids) => {
                ids.union(UnionType::All, older(key, by));
            }
        }
        let same_pr = || {
            Condition::all()
                .add(Column::Repository.eq(key.repository.as_str()))
                .add(Column::PrNumber.eq(pr_number(key.pr_number)))
        };
        reason = reason.case(same_pr(), Expr::val(superseded_by(*event_id, key)));
        at = at.case(same_pr(), Expr::val(by.received_at));
    }
    let mut update = Query::update();
    update
        .table(events::Entity)
        .value(
            Column::Status,
            Expr::val(transition::SUPERSEDE_OLDER_HEAD.to.as_str()),
        )
        .value(Column::Reason, reason)
        .value(Column::UpdatedAt, at.clone())
        .value(Column::ProcessedAt, at)
        .and_where(Column::Id.in_subquery(ids.unwrap_or_default()))
        .returning(Query::returning().columns([Column::Repository, Column::PrNumber]));
    update
}

/// Tells which unique rule refused the insert. The conflicting row is committed (PostgreSQL
/// waits for the other transaction; SQLite serialises writers), or written earlier in this
/// transaction, so this read sees it.
async fn conflict(txn: &DatabaseTransaction, event: &NewEvent) -> Result<Conflict> {
    let by_delivery = events::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::DeliveryId.eq(event.delivery_id.as_str()))
        .into_tuple::<i64>()
        .one(txn)
        .await?;
    if let Some(event_id) = by_delivery {
        return Ok(Conflict::Settled(Recorded::DuplicateDelivery { event_id }));
    }
    if let Disposition::Queue {
        key,
        kind,
        window_start,
    } = &event.disposition
    {
        let in_flight = events::Entity::find()
            .select_only()
            .columns([Column::Id, Column::CreatedAt])
            .filter(Column::Job.eq(kind.as_str()))
            .filter(Column::Repository.eq(key.repository.as_str()))
            .filter(Column::PrNumber.eq(pr_number(key.pr_number)))
            .filter(Column::HeadSha.eq(key.head_sha.as_str()))
            .filter(Column::Status.is_in(statuses(&EventStatus::IN_FLIGHT)))
            .into_tuple::<(i64, DateTime<Utc>)>()
            .one(txn)
            .await?;
        if let Some((event_id, created_at)) = in_flight {
            return Ok(if created_at < *window_start {
                Conflict::Stale { event_id }
            } else {
                Conflict::Settled(Recorded::AlreadyInFlight { event_id })
            });
        }
    }
    Err(DbError::Race(
        "an insert conflicted but the conflicting event changed before it was read".into(),
    ))
}

async fn supersede_stale(txn: &DatabaseTransaction, event_id: i64, by: &NewEvent) -> Result<()> {
    let reason = format!(
        "stale: in flight longer than the dedup window, replaced by delivery {}",
        by.delivery_id
    );
    events::Entity::update_many()
        .col_expr(
            Column::Status,
            Expr::value(transition::SUPERSEDE_STALE.to.as_str()),
        )
        .col_expr(Column::Reason, Expr::value(reason))
        .col_expr(Column::UpdatedAt, Expr::value(by.received_at))
        .col_expr(Column::ProcessedAt, Expr::value(by.received_at))
        .filter(Column::Id.eq(event_id))
        .filter(Column::Status.is_in(statuses(&EventStatus::IN_FLIGHT)))
        .exec(txn)
        .await?;
    Ok(())
}

/// The strings of `statuses`, for an `IN` filter.
pub(crate) fn statuses(statuses: &[EventStatus]) -> Vec<&'static str> {
    statuses.iter().map(|s| s.as_str()).collect()
}

/// Supersedes pending work for the same PR at another head commit, last updated no later than `by`:
/// the newest commit is the one worth reviewing. Returns how many were superseded.
async fn supersede_older_heads(
    txn: &DatabaseTransaction,
    event_id: i64,
    key: &ReviewKey,
    by: &NewEvent,
) -> Result<u64> {
    let now = by.received_at;
    let reason = superseded_by(event_id, key);
    let older = older_heads(key, by);
    let superseded = events::Entity::update_many()
        .col_expr(
            Column::Status,
            Expr::value(transition::SUPERSEDE_OLDER_HEAD.to.as_str()),
        )
        .col_expr(Column::Reason, Expr::value(reason))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(Column::ProcessedAt, Expr::value(now))
        .filter(older)
        .exec(txn)
        .await?
        .rows_affected;
    Ok(superseded)
}

/// Reviews of `key`'s pull request waiting at another head commit, last updated no later than `by`.
/// Every filter is inside, so that each such condition of an `OR` is looked up on `ix_events_pr`
/// (SQLite searched a status filter outside the `OR` on `ix_events_due`, every pending event).
fn older_heads(key: &ReviewKey, by: &NewEvent) -> Condition {
    let mut older = Condition::all()
        .add(Column::Repository.eq(key.repository.as_str()))
        .add(Column::PrNumber.eq(pr_number(key.pr_number)))
        .add(Column::Status.is_in(statuses(transition::SUPERSEDE_OLDER_HEAD.from)))
        .add(Column::HeadSha.ne(key.head_sha.as_str()))
        .add(Column::Job.eq(JobKind::Review.as_str()));
    if let Some(updated_at) = by.event.pull_request.as_ref().and_then(|p| p.updated_at) {
        older = older.add(
            Condition::any()
                .add(Column::PrUpdatedAt.is_null())
                .add(Column::PrUpdatedAt.lte(updated_at)),
        );
    }
    older
}

/// The reason a superseded review is given.
fn superseded_by(event_id: i64, key: &ReviewKey) -> String {
    format!("superseded by event {event_id} (head {})", key.head_sha)
}

fn pr_number(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventStore for Db {
    /// Recorded with its log row through the group commit: deliveries arriving together share one
    /// transaction, and this returns once it has committed.
    /// The body is compressed here, on the caller's task, so that the writer only stores it.
    async fn record(
        &self,
        mut event: NewEvent,
        delivery: DeliveryRecord,
    ) -> domain::Result<Recorded> {
        let body = Body::pack(std::mem::take(&mut event.payload));
        Ok(self
            .batcher
            .submit(|reply| Write::Record {
                event: Box::new(event),
                body,
                delivery,
                reply,
            })
            .await?)
    }
}

#[async_trait]
impl StoredPayloads for Db {
    async fn payload(&self, event_id: i64) -> domain::Result<Option<String>> {
        let stored = events::Entity::find_by_id(event_id)
            .select_only()
            .columns([Column::Payload, Column::PayloadLz4])
            .into_tuple::<(String, Option<Vec<u8>>)>()
            .one(&self.reader)
            .await
            .map_err(DbError::Query)?;
        let Some((text, lz4)) = stored else {
            return Ok(None);
        };
        // A purged body is kept as the empty string, and no compressed one.
        let payload = Body::unpack(text, lz4.as_deref())?;
        Ok(Some(payload).filter(|p| !p.is_empty()))
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
