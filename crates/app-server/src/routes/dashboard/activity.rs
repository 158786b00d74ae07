//! The activity pages: `GET /events` (filtered by repository and status, with Retry, refreshed
//! while work is in flight), `GET /events/{id}` (each run's outcome and figures), `GET
//! /deliveries` (the delivery log with redacted headers) and `GET /reviews` (with their figures).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::accounts::model::EventFilter;
use domain::queue::EventStatus;

use super::{FIRST_PAGE, html, signed_in, to_home, unavailable};
use crate::api::manage::{DeliveryDetailBody, EventBody, ReviewBody, RunBody};
use crate::startup::AppState;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(events))
        .route("/events/{id}", web::get().to(event_page))
        .route("/deliveries", web::get().to(deliveries))
        .route("/reviews", web::get().to(reviews));
}

#[derive(Template)]
#[template(path = "events.html")]
struct Events {
    login: String,
    events: Vec<EventBody>,
    total: u64,
    repository: String,
    /// Every status, and whether it is the one filtered on.
    statuses: Vec<(&'static str, bool)>,
    in_flight: bool,
}

/// `?repository=&status=` of the events page.
#[derive(Debug, Default, serde::Deserialize)]
struct EventsQuery {
    repository: Option<String>,
    status: Option<String>,
}

/// `GET /events`: the user's repositories' events, newest first, with Retry for the failed and
/// skipped ones; refreshed every 5 s while any is in flight.
async fn events(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<EventsQuery>,
) -> HttpResponse {
    let Some(user) = signed_in(&request, &state).await else {
        return to_home();
    };
    let filter = EventFilter {
        status: query.status.clone().filter(|s| !s.is_empty()),
        repository: query.repository.clone().filter(|r| !r.trim().is_empty()),
        event_type: None,
    };
    let listed = async {
        let scope = state.accounts.scope(&user).await?;
        Ok::<_, crate::error::ApiError>(state.management.events(&scope, &filter, FIRST_PAGE).await?)
    }
    .await;
    let paged = match listed {
        Ok(paged) => paged,
        Err(e) => return unavailable("events", &e),
    };
    let events: Vec<EventBody> = paged.items.into_iter().map(Into::into).collect();
    let in_flight = events
        .iter()
        .any(|e| matches!(e.status.as_str(), "pending" | "processing"));
    html(
        Events {
            login: user.login,
            total: paged.total,
            events,
            statuses: EventStatus::ALL
                .iter()
                .map(|s| (s.as_str(), filter.status.as_deref() == Some(s.as_str())))
                .collect(),
            repository: filter.repository.unwrap_or_default(),
            in_flight,
        }
        .render(),
    )
}

/// One run as the event's page shows it: its figures as `(name, value)` lines.
struct RunRow {
    attempt: i32,
    worker: String,
    finished_at: String,
    outcome: String,
    error: Option<String>,
    figures: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventPage {
    login: String,
    event: EventBody,
    runs: Vec<RunRow>,
}

/// `GET /events/{id}`: one event of the user's repositories with each run's outcome and figures
/// (the reviewer, tokens, cost, time, findings...). Another user's event is a 404.
async fn event_page(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResponse {
    let Some(user) = signed_in(&request, &state).await else {
        return to_home();
    };
    let loaded = async {
        let scope = state.accounts.scope(&user).await?;
        let Some(event) = state.management.event(&scope, *id).await? else {
            return Ok(None);
        };
        let runs = state.management.runs(event.id).await?;
        Ok::<_, crate::error::ApiError>(Some((event, runs)))
    }
    .await;
    let (event, runs) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => {
            return HttpResponse::NotFound()
                .content_type("text/html; charset=utf-8")
                .body("<!doctype html><title>Not found</title><p>No such event among yours. <a href=\"/events\">Events</a></p>");
        }
        Err(e) => return unavailable("event", &e),
    };
    let runs = runs
        .into_iter()
        .map(|run| {
            let run = RunBody::from(run);
            let figures = run
                .result
                .as_object()
                .map(|f| {
                    f.iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect()
                })
                .unwrap_or_default();
            RunRow {
                attempt: run.attempt,
                worker: run.worker,
                finished_at: run.finished_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                outcome: run.outcome,
                error: run.error,
                figures,
            }
        })
        .collect();
    html(
        EventPage {
            login: user.login,
            event: event.into(),
            runs,
        }
        .render(),
    )
}

/// One delivery as the page shows it.
struct DeliveryRow {
    id: i64,
    received_at: String,
    event: String,
    action: String,
    repository: String,
    outcome: String,
    status_code: i32,
    cause: String,
    detail: String,
    size: i64,
    headers: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "deliveries.html")]
struct Deliveries {
    login: String,
    total: u64,
    deliveries: Vec<DeliveryRow>,
}

/// `GET /deliveries`: the delivery log of the user's repositories, with redacted headers.
async fn deliveries(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(user) = signed_in(&request, &state).await else {
        return to_home();
    };
    let listed = async {
        let scope = state.accounts.scope(&user).await?;
        Ok::<_, crate::error::ApiError>(state.management.deliveries(&scope, FIRST_PAGE).await?)
    }
    .await;
    let paged = match listed {
        Ok(paged) => paged,
        Err(e) => return unavailable("deliveries", &e),
    };
    let rows = paged
        .items
        .into_iter()
        .map(|view| {
            let detail = DeliveryDetailBody::from(view);
            let headers = detail
                .headers
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let d = detail.delivery;
            DeliveryRow {
                id: d.id,
                received_at: d.received_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                event: d.event.unwrap_or_default(),
                action: d.action.unwrap_or_default(),
                repository: d.repository.unwrap_or_default(),
                outcome: d.outcome,
                status_code: d.status_code,
                cause: d.cause.unwrap_or_default(),
                detail: d.detail.unwrap_or_default(),
                size: d.body_size,
                headers,
            }
        })
        .collect();
    html(
        Deliveries {
            login: user.login,
            total: paged.total,
            deliveries: rows,
        }
        .render(),
    )
}

/// One review as the page shows it.
struct ReviewRow {
    pull_request: String,
    url: String,
    posted_at: String,
    verdict: String,
    /// By severity when the run says (`1 critical, 2 warning(s), 0 note(s)`).
    findings: String,
    files: u64,
    not_covered: u64,
    tokens: String,
    cost: String,
    took: String,
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct Reviews {
    login: String,
    total: u64,
    reviews: Vec<ReviewRow>,
}

/// `GET /reviews`: the reviews posted, with their figures.
async fn reviews(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(user) = signed_in(&request, &state).await else {
        return to_home();
    };
    let listed = async {
        let scope = state.accounts.scope(&user).await?;
        Ok::<_, crate::error::ApiError>(state.management.reviews(&scope, FIRST_PAGE).await?)
    }
    .await;
    let paged = match listed {
        Ok(paged) => paged,
        Err(e) => return unavailable("reviews", &e),
    };
    let rows = paged
        .items
        .into_iter()
        .map(|view| {
            let r = ReviewBody::from(view);
            let f = &r.figures;
            let number = |key: &str| f[key].as_u64().unwrap_or(0);
            ReviewRow {
                pull_request: format!(
                    "{}#{}",
                    r.repository.clone().unwrap_or_default(),
                    r.pr_number.unwrap_or(0)
                ),
                url: r.review_url.as_str().unwrap_or("").to_owned(),
                posted_at: r.posted_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                verdict: f["verdict"].as_str().unwrap_or("unknown").to_owned(),
                findings: {
                    let by = &f["findings_by_severity"];
                    match by["critical"].as_u64() {
                        Some(critical) => format!(
                            "{critical} critical, {} warning(s), {} note(s)",
                            by["warning"].as_u64().unwrap_or(0),
                            by["note"].as_u64().unwrap_or(0)
                        ),
                        None => format!("{} finding(s)", number("findings")),
                    }
                },
                files: number("files_reviewed"),
                not_covered: number("not_covered"),
                tokens: format!(
                    "{} + {} tokens",
                    number("input_tokens"),
                    number("output_tokens")
                ),
                cost: f["cost_usd"]
                    .as_f64()
                    .map_or_else(|| "cost unknown".to_owned(), |usd| format!("${usd:.4}")),
                took: format!("{} ms", number("duration_ms")),
            }
        })
        .collect();
    html(
        Reviews {
            login: user.login,
            total: paged.total,
            reviews: rows,
        }
        .render(),
    )
}
