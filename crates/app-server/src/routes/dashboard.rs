//! The dashboard in the browser, rendered on the server (askama templates, compiled in; no
//! front-end build, nothing from a CDN). `GET /`: what nectr is and how to connect a repository
//! when signed out; the user's repositories, with Connect and Disconnect, when signed in.
//! `GET /events`: their events, filtered by repository and status, with Retry. `GET /deliveries`:
//! the delivery log with redacted headers. `GET /reviews`: reviews with their figures. `GET
//! /settings`: what this server runs with (never a secret). `GET /repos/{owner}/{repo}`: a
//! connected repository's defaults, filters and memories, editable.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;

use domain::accounts::Page;
use domain::accounts::model::{EventFilter, User};
use domain::queue::EventStatus;

use crate::api::accounts::RepositoryBody;
use domain::memory::MemoryFilter;

use crate::api::manage::{DeliveryDetailBody, EventBody, ReviewBody, RunBody};
use crate::api::memory::MemoryBody;
use crate::session::session_token;
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/events", web::get().to(events))
        .route("/deliveries", web::get().to(deliveries))
        .route("/reviews", web::get().to(reviews))
        .route("/settings", web::get().to(settings))
        .route("/repos/{owner}/{repo}", web::get().to(repository_page))
        .route("/events/{id}", web::get().to(event_page));
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

#[derive(Template)]
#[template(path = "repository.html")]
struct RepositoryPage {
    login: String,
    repository: String,
    /// The installation's defaults, as pretty JSON.
    settings: String,
    /// `{"filters": [...]}`, as pretty JSON.
    filters: String,
    memories: Vec<MemoryBody>,
}

/// `GET /repos/{owner}/{repo}`: one of the user's connected repositories: its review defaults,
/// delivery filters and project memory, each editable (through the JSON API), and its webhook's
/// secret rotation. Another user's repository is a 404.
async fn repository_page(
    request: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let Some(user) = signed_in(&request, &state).await else {
        return to_home();
    };
    let loaded = async {
        let scope = state.accounts.scope(&user).await?;
        let repo = crate::routes::knowledge::repository(&scope, &path.0, &path.1)?;
        let settings: toml::Table = match state.defaults.defaults(&repo).await? {
            Some(text) => text.parse().unwrap_or_default(),
            None => toml::Table::new(),
        };
        let filters = state.installations.delivery_filters(&repo).await?;
        let memories = state
            .memory
            .list(&repo, &MemoryFilter::default(), 100, 0)
            .await?;
        Ok::<_, crate::error::ApiError>((repo, settings, filters, memories))
    }
    .await;
    let (repo, settings, filters, memories) = match loaded {
        Ok(loaded) => loaded,
        Err(crate::error::ApiError::NotFound(_)) => {
            return HttpResponse::NotFound()
                .content_type("text/html; charset=utf-8")
                .body("<!doctype html><title>Not found</title><p>No such repository among yours. <a href=\"/\">Your repositories</a></p>");
        }
        Err(e) => return unavailable("repository", &e),
    };
    let filters: Vec<serde_json::Value> = filters
        .into_iter()
        .map(|f| serde_json::json!({"name": f.name, "headers": f.headers, "body": f.body}))
        .collect();
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    html(
        RepositoryPage {
            login: user.login,
            repository: repo.as_str().to_owned(),
            settings: pretty(serde_json::to_value(&settings).unwrap_or_default()),
            filters: pretty(serde_json::json!({ "filters": filters })),
            memories: memories.into_iter().map(Into::into).collect(),
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

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    login: String,
    rows: Vec<(&'static str, String)>,
}

fn to_home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .finish()
}

fn unavailable(page: &str, e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::warn!(error = %e, page, "a dashboard page: the store failed");
    HttpResponse::ServiceUnavailable().body("this page could not be read; try again")
}

/// The first page of a listing, 100 rows.
const FIRST_PAGE: Page = Page {
    page: 1,
    per_page: 100,
};

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

/// `GET /settings`: which reviewer, graph store and integrations are active (never a secret).
async fn settings(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(user) = signed_in(&request, &state).await else {
        return to_home();
    };
    html(
        SettingsPage {
            login: user.login,
            rows: state.about.as_ref().clone(),
        }
        .render(),
    )
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

/// The signed-in user, if the request's session is one.
async fn signed_in(request: &HttpRequest, state: &AppState) -> Option<User> {
    let token = session_token(state, request)?;
    state
        .accounts
        .session_user(&token, Utc::now())
        .await
        .ok()
        .flatten()
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
    let page = Page {
        page: 1,
        per_page: 100,
    };
    let listed = async {
        let scope = state.accounts.scope(&user).await?;
        Ok::<_, crate::error::ApiError>(state.management.events(&scope, &filter, page).await?)
    }
    .await;
    let paged = match listed {
        Ok(paged) => paged,
        Err(e) => {
            tracing::warn!(error = %e, "events page: the store failed");
            return HttpResponse::ServiceUnavailable()
                .body("the events could not be read; try again");
        }
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

#[derive(Template)]
#[template(path = "welcome.html")]
struct Welcome;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    login: String,
    repositories: Vec<RepositoryBody>,
    error: Option<String>,
}

fn html(page: Result<String, askama::Error>) -> HttpResponse {
    match page {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            HttpResponse::InternalServerError().body("the page could not be rendered")
        }
    }
}

/// `GET /`.
async fn index(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(user) = signed_in(&request, &state).await else {
        return html(Welcome.render());
    };
    let (repositories, error) = match state.accounts.repositories(&user).await {
        Ok(repos) => (repos.into_iter().map(Into::into).collect(), None),
        Err(e) => (
            Vec::new(),
            Some(format!(
                "Your repositories could not be read from GitHub: {e}"
            )),
        ),
    };
    html(
        Home {
            login: user.login,
            repositories,
            error,
        }
        .render(),
    )
}
