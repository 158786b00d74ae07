//! The dashboard in the browser, rendered on the server (askama templates, compiled in; no
//! front-end build, nothing from a CDN). `GET /`: what nectr is and how to connect a repository
//! when signed out; the user's repositories, with Connect and Disconnect, when signed in.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;

use crate::api::accounts::RepositoryBody;
use crate::session::session_token;
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index));
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
    let user = match session_token(&state, &request) {
        Some(token) => state
            .accounts
            .session_user(&token, Utc::now())
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let Some(user) = user else {
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
