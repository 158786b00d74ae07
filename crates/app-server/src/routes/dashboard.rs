//! The dashboard in the browser, rendered on the server (askama templates, compiled in; no
//! front-end build, nothing from a CDN). `GET /`: what nectr is and how to connect a repository
//! when signed out; the user's repositories, with Connect and Disconnect, when signed in.
//! `GET /events`: their events, filtered by repository and status, with Retry.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;

use domain::accounts::Page;
use domain::accounts::model::{EventFilter, User};
use domain::queue::EventStatus;

use crate::api::accounts::RepositoryBody;
use crate::api::manage::EventBody;
use crate::session::session_token;
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/events", web::get().to(events));
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
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .finish();
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
