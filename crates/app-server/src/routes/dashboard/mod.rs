//! The dashboard in the browser, rendered on the server (askama templates, compiled in; no
//! front-end build, nothing from a CDN). `GET /`: what nectr is and how to connect a repository
//! when signed out; the user's repositories, with Connect and Disconnect, when signed in. The
//! activity pages (events, an event's runs, deliveries, reviews) are in [`activity`]; a connected
//! repository's page and the server's settings in [`repository`]. Every page shows only the
//! signed-in user's repositories.

mod activity;
mod repository;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use domain::accounts::Page;
use domain::accounts::model::User;

use crate::api::accounts::RepositoryBody;
use crate::session::session_token;
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index));
    activity::routes(cfg);
    repository::routes(cfg);
}

pub(super) fn to_home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .finish()
}

pub(super) fn unavailable(page: &str, e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::warn!(error = %e, page, "a dashboard page: the store failed");
    HttpResponse::ServiceUnavailable().body("this page could not be read; try again")
}

/// The first page of a listing, 100 rows.
pub(super) const FIRST_PAGE: Page = Page {
    page: 1,
    per_page: 100,
};

/// The signed-in user, if the request's session is one.
pub(super) async fn signed_in(request: &HttpRequest, state: &AppState) -> Option<User> {
    let token = session_token(state, request)?;
    state
        .accounts
        .session_user(&token, Utc::now())
        .await
        .ok()
        .flatten()
}

pub(super) fn html(page: Result<String, askama::Error>) -> HttpResponse {
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
