//! The management API: events, reviews and deliveries of the caller's connected repositories, as
//! JSON pages (`?page=1&per_page=50`, at most 100). Another user's resource answers 404, never its data.

use actix_web::{HttpResponse, web};
use chrono::Utc;

use crate::api::manage::{
    DeliveryBody, DeliveryDetailBody, EventBody, EventDetailBody, ListQuery, PageBody, RetriedBody,
    ReviewBody,
};
use crate::deadline::within;
use crate::error::ApiError;
use crate::session::CallerScope;
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/events", web::get().to(events))
        .route("/api/v1/events/{id}", web::get().to(event))
        .route("/api/v1/events/{id}/retry", web::post().to(retry))
        .route("/api/v1/reviews", web::get().to(reviews))
        .route("/api/v1/deliveries", web::get().to(deliveries))
        .route("/api/v1/deliveries/{id}", web::get().to(delivery));
}

/// `GET /api/v1/events?status=&repository=&event_type=`
async fn events(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    query: web::Query<ListQuery>,
) -> Result<web::Json<PageBody<EventBody>>, ApiError> {
    let page = query.page()?;
    let events = within(state.store_timeout, async {
        Ok(state
            .management
            .events(&scope, &query.filter(), page)
            .await?)
    })
    .await?;
    Ok(web::Json(PageBody::of(page, events, EventBody::from)))
}

/// `GET /api/v1/events/{id}`, with its runs.
async fn event(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    id: web::Path<i64>,
) -> Result<web::Json<EventDetailBody>, ApiError> {
    let (event, runs) = within(state.store_timeout, async {
        let event = state
            .management
            .event(&scope, *id)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such event".into()))?;
        let runs = state.management.runs(event.id).await?;
        Ok((event, runs))
    })
    .await?;
    Ok(web::Json(EventDetailBody {
        event: event.into(),
        runs: runs.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /api/v1/events/{id}/retry`: a failed or skipped event is queued again.
async fn retry(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    within(state.store_timeout, async {
        Ok(state.accounts.retry_event(&scope, *id, Utc::now()).await?)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(RetriedBody {
        id: *id,
        status: "pending".into(),
    }))
}

/// `GET /api/v1/reviews`: posted reviews with their runs' figures.
async fn reviews(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    query: web::Query<ListQuery>,
) -> Result<web::Json<PageBody<ReviewBody>>, ApiError> {
    let page = query.page()?;
    let reviews = within(state.store_timeout, async {
        Ok(state.management.reviews(&scope, page).await?)
    })
    .await?;
    Ok(web::Json(PageBody::of(page, reviews, ReviewBody::from)))
}

/// `GET /api/v1/deliveries`: the delivery log, accepted and rejected.
async fn deliveries(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    query: web::Query<ListQuery>,
) -> Result<web::Json<PageBody<DeliveryBody>>, ApiError> {
    let page = query.page()?;
    let deliveries = within(state.store_timeout, async {
        Ok(state.management.deliveries(&scope, page).await?)
    })
    .await?;
    Ok(web::Json(PageBody::of(
        page,
        deliveries,
        DeliveryBody::from,
    )))
}

/// `GET /api/v1/deliveries/{id}`, with the (redacted) headers.
async fn delivery(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    id: web::Path<i64>,
) -> Result<web::Json<DeliveryDetailBody>, ApiError> {
    let delivery = within(state.store_timeout, async {
        Ok(state.management.delivery(&scope, *id).await?)
    })
    .await?
    .ok_or_else(|| ApiError::NotFound("no such delivery".into()))?;
    Ok(web::Json(delivery.into()))
}
