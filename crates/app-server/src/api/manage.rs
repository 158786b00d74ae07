//! The management API: `/api/v1/events`, `/api/v1/reviews`, `/api/v1/deliveries`.

use chrono::{DateTime, Utc};
use domain::accounts::model::{DeliveryView, EventFilter, EventView, ReviewView, RunView};
use domain::accounts::{Page, Paged};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The query of every listing: `?page=1&per_page=50` (at most 100), and for events the filters.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ListQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    pub status: Option<String>,
    pub repository: Option<String>,
    pub event_type: Option<String>,
}

/// The last page a listing may ask for: past it, `page × per_page` stops being a sane offset.
pub const MAX_PAGE: u64 = 1_000_000;
/// The most items a page holds.
pub const MAX_PER_PAGE: u64 = 100;

impl ListQuery {
    /// The page asked for (default 1, 50 items), refused with the range when out of it: no
    /// arithmetic on user input can overflow.
    pub fn page(&self) -> Result<Page, crate::error::ApiError> {
        let page = self.page.unwrap_or(1);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(crate::error::ApiError::BadRequest(format!(
                "page must be between 1 and {MAX_PAGE}, got {page}"
            )));
        }
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(crate::error::ApiError::BadRequest(format!(
                "per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}"
            )));
        }
        Ok(Page { page, per_page })
    }

    pub fn filter(&self) -> EventFilter {
        EventFilter {
            status: self.status.clone(),
            repository: self.repository.clone(),
            event_type: self.event_type.clone(),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

impl<T> PageBody<T> {
    pub fn of<V>(page: Page, paged: Paged<V>, body: impl Fn(V) -> T) -> Self {
        Self {
            items: paged.items.into_iter().map(body).collect(),
            page: page.page,
            per_page: page.per_page,
            total: paged.total,
        }
    }
}

/// An event.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventBody {
    pub id: i64,
    pub delivery_id: String,
    pub event: String,
    pub action: Option<String>,
    pub event_type: String,
    pub repository: Option<String>,
    pub pr_number: Option<i64>,
    pub head_sha: Option<String>,
    pub sender: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl From<EventView> for EventBody {
    fn from(e: EventView) -> Self {
        Self {
            id: e.id,
            delivery_id: e.delivery_id,
            event: e.event,
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
}

/// One attempt at an event's work.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunBody {
    pub attempt: i32,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: String,
    pub error: Option<String>,
    /// The run's figures, `null` when it has none.
    pub result: Value,
}

impl From<RunView> for RunBody {
    fn from(r: RunView) -> Self {
        Self {
            attempt: r.attempt,
            worker: r.worker,
            started_at: r.started_at,
            finished_at: r.finished_at,
            outcome: r.outcome,
            error: r.error,
            result: r.result,
        }
    }
}

/// `GET /api/v1/events/{id}`: the event and its runs.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventDetailBody {
    #[serde(flatten)]
    pub event: EventBody,
    pub runs: Vec<RunBody>,
}

/// `POST /api/v1/events/{id}/retry` (202).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RetriedBody {
    pub id: i64,
    pub status: String,
}

/// A posted review.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReviewBody {
    pub event_id: i64,
    pub repository: Option<String>,
    pub pr_number: Option<i64>,
    pub head_sha: Option<String>,
    pub review_id: Value,
    pub review_url: Value,
    pub posted_at: DateTime<Utc>,
    /// The run's figures.
    pub figures: Value,
}

impl From<ReviewView> for ReviewBody {
    fn from(r: ReviewView) -> Self {
        let figures = r.run.result;
        Self {
            event_id: r.event.id,
            repository: r.event.repository,
            pr_number: r.event.pr_number,
            head_sha: r.event.head_sha,
            review_id: figures["review_id"].clone(),
            review_url: figures["review_url"].clone(),
            posted_at: r.run.finished_at,
            figures,
        }
    }
}

/// One delivery-log row.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeliveryBody {
    pub id: i64,
    pub delivery_id: Option<String>,
    pub event: Option<String>,
    pub action: Option<String>,
    pub repository: Option<String>,
    pub outcome: String,
    pub status_code: i32,
    pub cause: Option<String>,
    pub detail: Option<String>,
    pub event_id: Option<i64>,
    pub body_size: i64,
    pub body_sha256: Option<String>,
    pub received_at: DateTime<Utc>,
}

impl From<DeliveryView> for DeliveryBody {
    fn from(d: DeliveryView) -> Self {
        Self {
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
        }
    }
}

/// `GET /api/v1/deliveries/{id}`: the row and its headers (sensitive values redacted).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeliveryDetailBody {
    #[serde(flatten)]
    pub delivery: DeliveryBody,
    /// An object of lower-cased header names.
    pub headers: Value,
}

impl From<DeliveryView> for DeliveryDetailBody {
    fn from(d: DeliveryView) -> Self {
        let headers = serde_json::from_str(&d.headers).unwrap_or(Value::Null);
        Self {
            delivery: d.into(),
            headers,
        }
    }
}
