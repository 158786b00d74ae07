//! The management API's reads and its one action (the `ManagementStore` port). Every query is scoped
//! to a set of repository keys (the caller's connected repositories): rows of other repositories are
//! never read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::accounts::model::{
    DeliveryView, EventFilter, EventView, RetryOutcome, ReviewView, RunView,
};
use domain::accounts::{ManagementStore, Page, Paged, Scope};
use domain::queue::{EventStatus, transition};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select,
};

use crate::entities::{deliveries, event_runs, events};
use crate::events::statuses;
use crate::{Db, DbError, Result};

/// `lower(column) IN (keys)`
fn in_scope(column: impl sea_orm::sea_query::IntoColumnRef, scope: &Scope) -> Expr {
    Expr::expr(Func::lower(Expr::col(column))).is_in(scope.repo_keys.iter().cloned())
}

fn event_of(e: events::Model) -> EventView {
    EventView {
        id: e.id,
        delivery_id: e.delivery_id,
        event: e.event_name,
        action: e.action,
        event_type: e.event_type,
        repository: e.repository,
        pr_number: e.pr_number,
        head_sha: e.head_sha,
        sender: e.sender,
        status: e.status,
        reason: e.reason,
        attempts: e.attempts,
        last_error: e.last_error,
        run_at: e.run_at,
        created_at: e.created_at,
        updated_at: e.updated_at,
        processed_at: e.processed_at,
    }
}

fn run_of(r: event_runs::Model) -> RunView {
    RunView {
        attempt: r.attempt,
        worker: r.worker,
        started_at: r.started_at,
        finished_at: r.finished_at,
        outcome: r.outcome,
        error: r.error,
        result: r
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or(serde_json::Value::Null),
    }
}

fn delivery_of(d: deliveries::Model) -> DeliveryView {
    DeliveryView {
        id: d.id,
        delivery_id: d.delivery_id,
        event: d.event,
        action: d.action,
        repository: d.repository,
        outcome: d.outcome,
        status_code: d.status_code,
        cause: d.cause,
        detail: d.detail,
        event_id: d.event_id,
        body_size: d.body_size,
        body_sha256: d.body_sha256,
        received_at: d.received_at,
        headers: d.headers,
    }
}

impl Db {
    /// One page of `query`, mapped.
    async fn page_of<E, T>(
        &self,
        query: Select<E>,
        page: Page,
        map: impl Fn(E::Model) -> T,
    ) -> Result<Paged<T>>
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        let pages = query.paginate(&self.reader, page.per_page);
        let total = pages.num_items().await?;
        let items = pages.fetch_page(page.page.saturating_sub(1)).await?;
        Ok(Paged {
            items: items.into_iter().map(map).collect(),
            total,
        })
    }

    async fn reviews_page(&self, scope: &Scope, page: Page) -> Result<Paged<ReviewView>> {
        let scoped = Query::select()
            .column(events::Column::Id)
            .from(events::Entity)
            .and_where(in_scope(events::Column::Repository, scope))
            .to_owned();
        let query = event_runs::Entity::find()
            .filter(event_runs::Column::Outcome.eq(EventStatus::Completed.as_str()))
            .filter(event_runs::Column::Result.like("%\"review_url\"%"))
            .filter(event_runs::Column::EventId.in_subquery(scoped))
            .order_by_desc(event_runs::Column::Id);
        let runs = self.page_of(query, page, |r| r).await?;
        let ids: Vec<i64> = runs.items.iter().map(|r| r.event_id).collect();
        let events = events::Entity::find()
            .filter(events::Column::Id.is_in(ids))
            .all(&self.reader)
            .await?;
        let items = runs
            .items
            .into_iter()
            .filter_map(|run| {
                let event = events.iter().find(|e| e.id == run.event_id)?.clone();
                Some(ReviewView {
                    run: run_of(run),
                    event: event_of(event),
                })
            })
            .collect();
        Ok(Paged {
            items,
            total: runs.total,
        })
    }

    async fn requeue_event(&self, id: i64, now: DateTime<Utc>) -> Result<RetryOutcome> {
        let update = events::Entity::update_many()
            .set(events::ActiveModel {
                status: Set(transition::REQUEUE.to.as_str().into()),
                attempts: Set(0),
                run_at: Set(Some(now)),
                last_error: Set(None),
                reason: Set(None),
                processed_at: Set(None),
                lease_expires_at: Set(None),
                lease_owner: Set(None),
                updated_at: Set(now),
                ..Default::default()
            })
            .filter(events::Column::Id.eq(id))
            .filter(events::Column::Status.is_in(statuses(transition::REQUEUE.from)))
            .exec(&self.writer)
            .await;
        match update {
            Ok(done) if done.rows_affected == 1 => {
                if let Err(e) = crate::notify::announce(&self.writer).await {
                    tracing::warn!(error = %e, "announcing the retried event failed; workers poll");
                }
                Ok(RetryOutcome::Queued)
            }
            Ok(_) => {
                let status = events::Entity::find_by_id(id)
                    .one(&self.reader)
                    .await?
                    .map(|e| e.status)
                    .unwrap_or_default();
                Ok(RetryOutcome::NotRetryable(status))
            }
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                Ok(RetryOutcome::AlreadyQueued)
            }
            Err(e) => Err(DbError::Query(e)),
        }
    }
}

#[async_trait]
impl ManagementStore for Db {
    async fn events(
        &self,
        scope: &Scope,
        filter: &EventFilter,
        page: Page,
    ) -> domain::Result<Paged<EventView>> {
        if scope.is_empty() {
            return Ok(Paged::empty());
        }
        let mut query = events::Entity::find()
            .filter(in_scope(events::Column::Repository, scope))
            .order_by_desc(events::Column::Id);
        if let Some(status) = &filter.status {
            query = query.filter(events::Column::Status.eq(status.as_str()));
        }
        if let Some(event_type) = &filter.event_type {
            query = query.filter(events::Column::EventType.eq(event_type.as_str()));
        }
        if let Some(repository) = &filter.repository {
            query = query.filter(
                Expr::expr(Func::lower(Expr::col(events::Column::Repository)))
                    .eq(repository.to_ascii_lowercase()),
            );
        }
        Ok(self.page_of(query, page, event_of).await?)
    }

    async fn event(&self, scope: &Scope, id: i64) -> domain::Result<Option<EventView>> {
        if scope.is_empty() {
            return Ok(None);
        }
        Ok(events::Entity::find_by_id(id)
            .filter(in_scope(events::Column::Repository, scope))
            .one(&self.reader)
            .await
            .map_err(DbError::Query)?
            .map(event_of))
    }

    async fn runs(&self, event_id: i64) -> domain::Result<Vec<RunView>> {
        Ok(event_runs::Entity::find()
            .filter(event_runs::Column::EventId.eq(event_id))
            .order_by_asc(event_runs::Column::Id)
            .all(&self.reader)
            .await
            .map_err(DbError::Query)?
            .into_iter()
            .map(run_of)
            .collect())
    }

    async fn requeue(&self, id: i64, now: DateTime<Utc>) -> domain::Result<RetryOutcome> {
        Ok(self.requeue_event(id, now).await?)
    }

    async fn reviews(&self, scope: &Scope, page: Page) -> domain::Result<Paged<ReviewView>> {
        if scope.is_empty() {
            return Ok(Paged::empty());
        }
        Ok(self.reviews_page(scope, page).await?)
    }

    async fn deliveries(&self, scope: &Scope, page: Page) -> domain::Result<Paged<DeliveryView>> {
        if scope.is_empty() {
            return Ok(Paged::empty());
        }
        let query = deliveries::Entity::find()
            .filter(in_scope(deliveries::Column::Repository, scope))
            .order_by_desc(deliveries::Column::Id);
        Ok(self.page_of(query, page, delivery_of).await?)
    }

    async fn delivery(&self, scope: &Scope, id: i64) -> domain::Result<Option<DeliveryView>> {
        if scope.is_empty() {
            return Ok(None);
        }
        Ok(deliveries::Entity::find_by_id(id)
            .filter(in_scope(deliveries::Column::Repository, scope))
            .one(&self.reader)
            .await
            .map_err(DbError::Query)?
            .map(delivery_of))
    }
}
