//! The management API's reads and actions. Every query is scoped to a set of repository keys (the
//! caller's connected repositories): rows of other repositories are never read.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use domain::queue::{EventStatus, transition};

use crate::entities::{deliveries, event_runs, events, installations};
use crate::{Db, DbError, Result};

/// Which page, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u64,
    pub per_page: u64,
}

/// Rows of one page and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub status: Option<String>,
    pub repository: Option<String>,
    pub event_type: Option<String>,
}

/// What asking for a retry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    Queued,
    /// Only failed and skipped events are retried; this one is in another status.
    NotRetryable(String),
    /// A review of the same commit is already pending or running.
    AlreadyQueued,
}

/// `lower(column) IN (keys)`
fn in_scope(column: impl sea_orm::sea_query::IntoColumnRef, keys: &[String]) -> Expr {
    Expr::expr(Func::lower(Expr::col(column))).is_in(keys.iter().cloned())
}

impl Db {
    /// Keys (`owner/name` in lower case) of the repositories `user_id` has connected.
    pub async fn user_repo_keys(&self, user_id: i64) -> Result<Vec<String>> {
        Ok(installations::Entity::find()
            .filter(installations::Column::UserId.eq(user_id))
            .filter(installations::Column::IsActive.eq(true))
            .all(&self.reader)
            .await?
            .into_iter()
            .map(|i| i.repo_key)
            .collect())
    }

    pub async fn list_events(
        &self,
        keys: &[String],
        filter: &EventFilter,
        page: Page,
    ) -> Result<Paged<events::Model>> {
        if keys.is_empty() {
            return Ok(Paged {
                items: vec![],
                total: 0,
            });
        }
        let mut query = events::Entity::find()
            .filter(in_scope(events::Column::Repository, keys))
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
        let pages = query.paginate(&self.reader, page.per_page);
        let total = pages.num_items().await?;
        let items = pages.fetch_page(page.page.saturating_sub(1)).await?;
        Ok(Paged { items, total })
    }

    pub async fn event_in_scope(&self, keys: &[String], id: i64) -> Result<Option<events::Model>> {
        if keys.is_empty() {
            return Ok(None);
        }
        Ok(events::Entity::find_by_id(id)
            .filter(in_scope(events::Column::Repository, keys))
            .one(&self.reader)
            .await?)
    }

    pub async fn event_runs(&self, event_id: i64) -> Result<Vec<event_runs::Model>> {
        Ok(event_runs::Entity::find()
            .filter(event_runs::Column::EventId.eq(event_id))
            .order_by_asc(event_runs::Column::Id)
            .all(&self.reader)
            .await?)
    }

    /// Queues a failed or skipped event again, as new: attempts from zero, due now.
    pub async fn retry_event(&self, id: i64, now: DateTime<Utc>) -> Result<RetryOutcome> {
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
            .filter(events::Column::Status.is_in(crate::events::statuses(transition::REQUEUE.from)))
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

    /// Runs that posted a review, newest first, with their events.
    pub async fn list_reviews(
        &self,
        keys: &[String],
        page: Page,
    ) -> Result<Paged<(event_runs::Model, events::Model)>> {
        if keys.is_empty() {
            return Ok(Paged {
                items: vec![],
                total: 0,
            });
        }
        let scoped = Query::select()
            .column(events::Column::Id)
            .from(events::Entity)
            .and_where(in_scope(events::Column::Repository, keys))
            .to_owned();
        let pages = event_runs::Entity::find()
            .filter(event_runs::Column::Outcome.eq(EventStatus::Completed.as_str()))
            .filter(event_runs::Column::Result.like("%\"review_url\"%"))
            .filter(event_runs::Column::EventId.in_subquery(scoped))
            .order_by_desc(event_runs::Column::Id)
            .paginate(&self.reader, page.per_page);
        let total = pages.num_items().await?;
        let runs = pages.fetch_page(page.page.saturating_sub(1)).await?;
        let ids: Vec<i64> = runs.iter().map(|r| r.event_id).collect();
        let events = events::Entity::find()
            .filter(events::Column::Id.is_in(ids))
            .all(&self.reader)
            .await?;
        let items = runs
            .into_iter()
            .filter_map(|run| {
                let event = events.iter().find(|e| e.id == run.event_id)?.clone();
                Some((run, event))
            })
            .collect();
        Ok(Paged { items, total })
    }

    pub async fn list_deliveries(
        &self,
        keys: &[String],
        page: Page,
    ) -> Result<Paged<deliveries::Model>> {
        if keys.is_empty() {
            return Ok(Paged {
                items: vec![],
                total: 0,
            });
        }
        let pages = deliveries::Entity::find()
            .filter(in_scope(deliveries::Column::Repository, keys))
            .order_by_desc(deliveries::Column::Id)
            .paginate(&self.reader, page.per_page);
        let total = pages.num_items().await?;
        let items = pages.fetch_page(page.page.saturating_sub(1)).await?;
        Ok(Paged { items, total })
    }

    pub async fn delivery_in_scope(
        &self,
        keys: &[String],
        id: i64,
    ) -> Result<Option<deliveries::Model>> {
        if keys.is_empty() {
            return Ok(None);
        }
        Ok(deliveries::Entity::find_by_id(id)
            .filter(in_scope(deliveries::Column::Repository, keys))
            .one(&self.reader)
            .await?)
    }
}
