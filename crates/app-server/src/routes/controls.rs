//! The team's controls on the caller's connected repositories: the installation's default
//! `.nectr.toml`, its delivery filters, and what reviews cost. Another user's repository answers 404.

use actix_web::web;
use domain::review::config::RepoConfig;
use domain::webhook::filters::parse_filters;

use crate::api::controls::{FiltersBody, SettingsBody, UsageBody};
use crate::api::memory::json_body;
use crate::deadline::within;
use crate::error::ApiError;
use crate::routes::knowledge::repository;
use crate::session::CallerScope;
use crate::startup::AppState;

/// Months of usage one answer lists, at most.
const USAGE_MONTHS: u64 = 24;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/repos/{owner}/{repo}/settings")
            .route(web::get().to(settings))
            .route(web::put().to(set_settings)),
    )
    .service(
        web::resource("/api/v1/repos/{owner}/{repo}/filters")
            .route(web::get().to(filters))
            .route(web::put().to(set_filters)),
    )
    .route("/api/v1/repos/{owner}/{repo}/usage", web::get().to(usage));
}

/// `GET /api/v1/repos/{owner}/{repo}/filters`: the filters in force (`[]`: none).
async fn filters(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String)>,
) -> Result<web::Json<FiltersBody>, ApiError> {
    let repo = repository(&scope, &path.0, &path.1)?;
    let store = state.installations.clone();
    let filters = within(state.store_timeout, async {
        Ok(store.delivery_filters(&repo).await?)
    })
    .await?;
    Ok(web::Json(FiltersBody {
        repository: Some(repo.as_str().to_owned()),
        filters: filters
            .into_iter()
            .map(|f| serde_json::json!({"name": f.name, "headers": f.headers, "body": f.body}))
            .collect(),
    }))
}

/// `PUT /api/v1/repos/{owner}/{repo}/filters` with `{"filters": [{"name", "headers", "body"}]}`
/// (`[]` clears them). Invalid filters are a `400` naming the problem, and the filters in force
/// stay as they were.
async fn set_filters(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<web::Json<FiltersBody>, ApiError> {
    let repo = repository(&scope, &path.0, &path.1)?;
    let asked: FiltersBody = json_body(&body)?;
    parse_filters(&asked.filters).map_err(ApiError::BadRequest)?;
    let store = state.installations.clone();
    let list = (!asked.filters.is_empty()).then(|| asked.filters.clone());
    let stored = within(state.store_timeout, async {
        Ok(store.set_delivery_filters(&repo, list).await?)
    })
    .await?;
    if !stored {
        return Err(ApiError::NotFound("no such repository".into()));
    }
    Ok(web::Json(FiltersBody {
        repository: Some(repo.as_str().to_owned()),
        filters: asked.filters,
    }))
}

/// `GET /api/v1/repos/{owner}/{repo}/settings`: `{}` when none are set.
async fn settings(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String)>,
) -> Result<web::Json<SettingsBody>, ApiError> {
    let repo = repository(&scope, &path.0, &path.1)?;
    let defaults = state.defaults.clone();
    let text = within(state.store_timeout, async {
        Ok(defaults.defaults(&repo).await?)
    })
    .await?;
    let table: toml::Table = match text {
        Some(text) => text
            .parse()
            .map_err(|e| ApiError::Unavailable(format!("stored settings do not read: {e}")))?,
        None => toml::Table::new(),
    };
    Ok(web::Json(SettingsBody {
        repository: repo.as_str().to_owned(),
        settings: serde_json::to_value(&table).map_err(|e| ApiError::Unavailable(e.to_string()))?,
    }))
}

/// `PUT /api/v1/repos/{owner}/{repo}/settings`: replaces the defaults (`{}` clears them). Every
/// key is checked as `.nectr.toml`'s are, but strictly: an unknown key or a wrong type is a `400`
/// naming it, and the defaults in force stay as they were.
async fn set_settings(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<web::Json<SettingsBody>, ApiError> {
    let repo = repository(&scope, &path.0, &path.1)?;
    let asked: serde_json::Value = json_body(&body)?;
    if !asked.is_object() {
        return Err(ApiError::BadRequest(
            "the settings are a JSON object of .nectr.toml's sections".into(),
        ));
    }
    let table = toml::Table::try_from(&asked)
        .map_err(|e| ApiError::BadRequest(format!("the settings do not convert to TOML: {e}")))?;
    let checked = RepoConfig::from_table(&table);
    if !checked.warnings.is_empty() {
        return Err(ApiError::BadRequest(checked.warnings.join("; ")));
    }
    let text = (!table.is_empty())
        .then(|| toml::to_string(&table))
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let defaults = state.defaults.clone();
    let stored = within(state.store_timeout, async {
        Ok(defaults.set_defaults(&repo, text).await?)
    })
    .await?;
    if !stored {
        return Err(ApiError::NotFound("no such repository".into()));
    }
    Ok(web::Json(SettingsBody {
        repository: repo.as_str().to_owned(),
        settings: asked,
    }))
}

/// `GET /api/v1/repos/{owner}/{repo}/usage`: reviews, tokens and dollars per month.
async fn usage(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String)>,
) -> Result<web::Json<UsageBody>, ApiError> {
    let repo = repository(&scope, &path.0, &path.1)?;
    let usage = state.usage.clone();
    let months = within(state.store_timeout, async {
        Ok(usage.months(&repo, USAGE_MONTHS).await?)
    })
    .await?;
    Ok(web::Json(UsageBody {
        repository: repo.as_str().to_owned(),
        months: months.into_iter().map(Into::into).collect(),
    }))
}
