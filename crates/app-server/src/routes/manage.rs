//! The management API: events, reviews and deliveries of the caller's connected repositories, as
//! JSON pages (`?page=1&per_page=50`, at most 100). Another user's resource answers 404, never its data.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use adapters_db::entities::{deliveries, event_runs, events};
use adapters_db::manage::{EventFilter, Page, Paged, RetryOutcome};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{detail, unavailable};
use crate::session::{AuthError, CurrentUser};
use crate::startup::AppState;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    status: Option<String>,
    repository: Option<String>,
    event_type: Option<String>,
}

impl ListQuery {
    fn page(&self) -> Page {
        Page {
            page: self.page.unwrap_or(1).max(1),
            per_page: self.per_page.unwrap_or(50).clamp(1, 100),
        }
    }
}

fn paged<T>(page: Page, result: Paged<T>, to_json: impl Fn(&T) -> Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "items": result.items.iter().map(to_json).collect::<Vec<_>>(),
        "page": page.page,
        "per_page": page.per_page,
        "total": result.total,
    }))
}

fn event_json(e: &events::Model) -> Value {
    json!({
        "id": e.id,
        "delivery_id": e.delivery_id,
        "event": e.event_name,
        "action": e.action,
        "event_type": e.event_type,
        "repository": e.repository,
        "pr_number": e.pr_number,
        "head_sha": e.head_sha,
        "sender": e.sender,
        "status": e.status,
        "reason": e.reason,
        "attempts": e.attempts,
        "last_error": e.last_error,
        "run_at": e.run_at,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "processed_at": e.processed_at,
    })
}

fn result_of(run: &event_runs::Model) -> Value {
    run.result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null)
}

fn run_json(r: &event_runs::Model) -> Value {
    json!({
        "attempt": r.attempt,
        "worker": r.worker,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "outcome": r.outcome,
        "error": r.error,
        "result": result_of(r),
    })
}

fn delivery_json(d: &deliveries::Model) -> Value {
    json!({
        "id": d.id,
        "delivery_id": d.delivery_id,
        "event": d.event,
        "action": d.action,
        "repository": d.repository,
        "outcome": d.outcome,
        "status_code": d.status_code,
        "cause": d.cause,
        "detail": d.detail,
        "event_id": d.event_id,
        "body_size": d.body_size,
        "body_sha256": d.body_sha256,
        "received_at": d.received_at,
    })
}

/// The keys of the caller's connected repositories: what every route here is scoped to. Without a
/// session, 401.
#[derive(Debug)]
pub struct Scope {
    keys: Vec<String>,
}

impl FromRequest for Scope {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let user = user.await?;
            let state = state.ok_or(AuthError::Missing)?;
            let keys = state
                .db
                .user_repo_keys(user.user.id)
                .await
                .map_err(|e| AuthError::Store(e.to_string()))?;
            Ok(Self { keys })
        })
    }
}

/// `GET /api/v1/events?status=&repository=&event_type=`
pub async fn events(
    state: web::Data<AppState>,
    scope: Scope,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let keys = &scope.keys;
    let filter = EventFilter {
        status: query.status.clone(),
        repository: query.repository.clone(),
        event_type: query.event_type.clone(),
    };
    let page = query.page();
    match state.db.list_events(keys, &filter, page).await {
        Ok(result) => paged(page, result, event_json),
        Err(e) => unavailable(e),
    }
}

/// `GET /api/v1/events/{id}`, with its runs.
pub async fn event(state: web::Data<AppState>, scope: Scope, id: web::Path<i64>) -> HttpResponse {
    let keys = &scope.keys;
    let event = match state.db.event_in_scope(keys, *id).await {
        Ok(Some(event)) => event,
        Ok(None) => return detail(StatusCode::NOT_FOUND, "no such event"),
        Err(e) => return unavailable(e),
    };
    let runs = match state.db.event_runs(event.id).await {
        Ok(runs) => runs,
        Err(e) => return unavailable(e),
    };
    let mut body = event_json(&event);
    body["runs"] = runs.iter().map(run_json).collect();
    HttpResponse::Ok().json(body)
}

/// `POST /api/v1/events/{id}/retry`: a failed or skipped event is queued again.
pub async fn retry(state: web::Data<AppState>, scope: Scope, id: web::Path<i64>) -> HttpResponse {
    let keys = &scope.keys;
    match state.db.event_in_scope(keys, *id).await {
        Ok(Some(_)) => {}
        Ok(None) => return detail(StatusCode::NOT_FOUND, "no such event"),
        Err(e) => return unavailable(e),
    }
    match state.db.retry_event(*id, Utc::now()).await {
        Ok(RetryOutcome::Queued) => {
            state.work.work_queued();
            HttpResponse::Accepted().json(json!({ "id": *id, "status": "pending" }))
        }
        Ok(RetryOutcome::NotRetryable(status)) => detail(
            StatusCode::CONFLICT,
            format!("only failed or skipped events are retried; this one is {status}"),
        ),
        Ok(RetryOutcome::AlreadyQueued) => detail(
            StatusCode::CONFLICT,
            "a review of this commit is already queued",
        ),
        Err(e) => unavailable(e),
    }
}

/// `GET /api/v1/reviews`: posted reviews with their runs' figures.
pub async fn reviews(
    state: web::Data<AppState>,
    scope: Scope,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let keys = &scope.keys;
    let page = query.page();
    match state.db.list_reviews(keys, page).await {
        Ok(result) => paged(page, result, |(run, event)| {
            let figures = result_of(run);
            json!({
                "event_id": event.id,
                "repository": event.repository,
                "pr_number": event.pr_number,
                "head_sha": event.head_sha,
                "review_id": figures["review_id"],
                "review_url": figures["review_url"],
                "posted_at": run.finished_at,
                "figures": figures,
            })
        }),
        Err(e) => unavailable(e),
    }
}

/// `GET /api/v1/deliveries`: the delivery log, accepted and rejected.
pub async fn deliveries(
    state: web::Data<AppState>,
    scope: Scope,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let keys = &scope.keys;
    let page = query.page();
    match state.db.list_deliveries(keys, page).await {
        Ok(result) => paged(page, result, delivery_json),
        Err(e) => unavailable(e),
    }
}

/// `GET /api/v1/deliveries/{id}`, with the (redacted) headers.
pub async fn delivery(
    state: web::Data<AppState>,
    scope: Scope,
    id: web::Path<i64>,
) -> HttpResponse {
    let keys = &scope.keys;
    match state.db.delivery_in_scope(keys, *id).await {
        Ok(Some(d)) => {
            let mut body = delivery_json(&d);
            // Stored as an object of lower-cased names (sensitive values already redacted).
            body["headers"] = serde_json::from_str(&d.headers).unwrap_or(Value::Null);
            HttpResponse::Ok().json(body)
        }
        Ok(None) => detail(StatusCode::NOT_FOUND, "no such delivery"),
        Err(e) => unavailable(e),
    }
}
