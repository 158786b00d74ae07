//! A connected repository's page (`GET /repos/{owner}/{repo}`: its review defaults, delivery
//! filters and memories, editable through the JSON API; its secret's rotation) and the server's
//! settings (`GET /settings`: what it runs with, never a secret).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::memory::MemoryFilter;

use super::{html, signed_in, to_home, unavailable};
use crate::api::memory::MemoryBody;
use crate::startup::AppState;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(settings))
        .route("/repos/{owner}/{repo}", web::get().to(repository_page));
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

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    login: String,
    rows: Vec<(&'static str, String)>,
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
