//! Retention on the delivery log and the events' stored bodies: each purge is one statement over at
//! most `limit` rows picked by an index (`ix_deliveries_received_at`, `ix_events_payload_kept`), so it
//! holds the writer only briefly and never touches rows ingest is writing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::queue::EventStatus;
use domain::webhook::retention::RetentionStore;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, Order, QueryFilter};

use crate::entities::{deliveries, events};
use crate::{Db, DbError};

#[async_trait]
impl RetentionStore for Db {
    async fn purge_deliveries(&self, before: DateTime<Utc>, limit: u64) -> domain::Result<u64> {
        let oldest = Query::select()
            .column(deliveries::Column::Id)
            .from(deliveries::Entity)
            .and_where(deliveries::Column::ReceivedAt.lt(before))
            .order_by(deliveries::Column::ReceivedAt, Order::Asc)
            .limit(limit)
            .to_owned();
        let deleted = deliveries::Entity::delete_many()
            .filter(deliveries::Column::Id.in_subquery(oldest))
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        Ok(deleted.rows_affected)
    }

    async fn purge_payloads(&self, before: DateTime<Utc>, limit: u64) -> domain::Result<u64> {
        let finished = EventStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .map(EventStatus::as_str);
        let oldest = Query::select()
            .column(events::Column::Id)
            .from(events::Entity)
            // As `ix_events_payload_kept` says it: a body kept as it came, or compressed.
            .cond_where(
                Condition::any()
                    .add(events::Column::Payload.ne(""))
                    .add(events::Column::PayloadLz4.is_not_null()),
            )
            .and_where(events::Column::UpdatedAt.lt(before))
            .and_where(events::Column::Status.is_in(finished))
            .order_by(events::Column::UpdatedAt, Order::Asc)
            .limit(limit)
            .to_owned();
        let emptied = events::Entity::update_many()
            .col_expr(events::Column::Payload, Expr::value(""))
            .col_expr(
                events::Column::PayloadLz4,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .filter(events::Column::Id.in_subquery(oldest))
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        Ok(emptied.rows_affected)
    }
}
