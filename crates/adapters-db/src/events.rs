//! The event store: records accepted events and queues their review work, deduplicated by unique indexes
//! inside one transaction (never read-then-write).

use async_trait::async_trait;
use domain::delivery::DeliveryRecord;
use domain::event::EventStatus;
use domain::ports::{Disposition, EventStore, NewEvent, Recorded};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait, TryInsertResult,
};

use crate::entities::events::{self, Column};
use crate::{Db, DbError, Result, deliveries};

const PENDING: &str = "pending";
const IN_FLIGHT: [&str; 2] = ["pending", "processing"];

impl Db {
    /// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers queue on the busy timeout instead of failing when one upgrades a read lock.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(self.conn.begin_with_options(options).await?)
    }

    async fn record_in(&self, txn: &DatabaseTransaction, event: &NewEvent) -> Result<Recorded> {
        let now = event.received_at;
        let (status, reason, queue) = match &event.disposition {
            Disposition::Queue { key, window_start } => {
                (EventStatus::Pending, None, Some((key, *window_start)))
            }
            Disposition::Ignore { reason } => (EventStatus::Ignored, Some(reason.clone()), None),
        };

        if let Some((key, window_start)) = queue {
            // An in-flight review of this very commit older than the window is stale: it no longer blocks.
            events::Entity::update_many()
                .col_expr(
                    Column::Status,
                    Expr::value(EventStatus::Superseded.as_str()),
                )
                .col_expr(
                    Column::Reason,
                    Expr::value(format!(
                        "stale: older than the dedup window, replaced by delivery {}",
                        event.delivery_id
                    )),
                )
                .col_expr(Column::UpdatedAt, Expr::value(now))
                .filter(Column::Repository.eq(key.repository.as_str()))
                .filter(Column::PrNumber.eq(pr_number(key.pr_number)))
                .filter(Column::HeadSha.eq(key.head_sha.as_str()))
                .filter(Column::Status.is_in(IN_FLIGHT))
                .filter(Column::CreatedAt.lt(window_start))
                .exec(txn)
                .await?;
        }

        let pr = event.event.pull_request.as_ref();
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
            pr_number: Set(pr.map(|p| pr_number(p.number))),
            head_sha: Set(pr.map(|p| p.head_sha.as_str().to_owned())),
            pr_updated_at: Set(pr.and_then(|p| p.updated_at)),
            sender: Set(event.event.sender.clone()),
            status: Set(status.as_str().to_owned()),
            reason: Set(reason),
            payload: Set(event.payload.clone()),
            attempts: Set(0),
            run_at: Set(queue.map(|_| now)),
            lease_expires_at: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            processed_at: Set(queue.is_none().then_some(now)),
            ..Default::default()
        };
        // ON CONFLICT DO NOTHING on any unique index: the delivery id, or the one-in-flight-review key.
        let inserted = events::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .try_insert()
            .exec(txn)
            .await?;

        let event_id = match inserted {
            TryInsertResult::Inserted(result) => result.last_insert_id,
            TryInsertResult::Conflicted | TryInsertResult::Empty => {
                return self.conflict(txn, event).await;
            }
        };
        let Some((key, _)) = queue else {
            return Ok(Recorded::Ignored { event_id });
        };

        // Pending work for the same PR at another head commit, last updated no later than this one, is
        // superseded: the newest commit is the one worth reviewing.
        let mut older = Condition::all()
            .add(Column::Repository.eq(key.repository.as_str()))
            .add(Column::PrNumber.eq(pr_number(key.pr_number)))
            .add(Column::Status.eq(PENDING))
            .add(Column::HeadSha.ne(key.head_sha.as_str()));
        if let Some(updated_at) = pr.and_then(|p| p.updated_at) {
            older = older.add(
                Condition::any()
                    .add(Column::PrUpdatedAt.is_null())
                    .add(Column::PrUpdatedAt.lte(updated_at)),
            );
        }
        let superseded = events::Entity::update_many()
            .col_expr(
                Column::Status,
                Expr::value(EventStatus::Superseded.as_str()),
            )
            .col_expr(
                Column::Reason,
                Expr::value(format!(
                    "superseded by event {event_id} (head {})",
                    key.head_sha
                )),
            )
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .col_expr(Column::ProcessedAt, Expr::value(now))
            .filter(older)
            .exec(txn)
            .await?
            .rows_affected;
        Ok(Recorded::Queued {
            event_id,
            superseded,
        })
    }

    /// Tells which unique rule refused the insert. The conflicting row is committed (PostgreSQL waits for
    /// the other transaction; SQLite serialises writers), so this read sees it.
    async fn conflict(&self, txn: &DatabaseTransaction, event: &NewEvent) -> Result<Recorded> {
        let by_delivery = events::Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::DeliveryId.eq(event.delivery_id.as_str()))
            .into_tuple::<i64>()
            .one(txn)
            .await?;
        if let Some(event_id) = by_delivery {
            return Ok(Recorded::DuplicateDelivery { event_id });
        }
        if let Disposition::Queue { key, .. } = &event.disposition {
            let in_flight = events::Entity::find()
                .select_only()
                .column(Column::Id)
                .filter(Column::Repository.eq(key.repository.as_str()))
                .filter(Column::PrNumber.eq(pr_number(key.pr_number)))
                .filter(Column::HeadSha.eq(key.head_sha.as_str()))
                .filter(Column::Status.is_in(IN_FLIGHT))
                .into_tuple::<i64>()
                .one(txn)
                .await?;
            if let Some(event_id) = in_flight {
                return Ok(Recorded::AlreadyInFlight { event_id });
            }
        }
        Err(DbError::Race(
            "an insert conflicted but the conflicting event changed before it was read".into(),
        ))
    }
}

fn pr_number(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventStore for Db {
    async fn record(
        &self,
        event: NewEvent,
        mut delivery: DeliveryRecord,
    ) -> domain::Result<Recorded> {
        let txn = self.begin_write().await?;
        let recorded = self.record_in(&txn, &event).await?;
        delivery.settle(&event, &recorded);
        deliveries::insert(&txn, delivery).await?;
        txn.commit().await.map_err(DbError::Query)?;
        Ok(recorded)
    }
}
