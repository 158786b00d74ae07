//! HTTP routes, one file per resource, each registering its own routes next to its handlers.

pub mod auth;
pub mod controls;
pub mod dashboard;
pub mod health;
pub mod knowledge;
pub mod manage;
pub mod memory;
pub mod repos;
pub mod webhooks;

use actix_web::{HttpResponse, web};

use crate::api::ErrorBody;
use crate::error::ApiError;

/// Every route nectr serves.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::routes(cfg);
    dashboard::routes(cfg);
    webhooks::routes(cfg);
    auth::routes(cfg);
    repos::routes(cfg);
    manage::routes(cfg);
    knowledge::routes(cfg);
    memory::routes(cfg);
    controls::routes(cfg);
    crate::openapi::routes(cfg);
}

/// A query string that does not read (`?page=-1`, `?page=abc`, a number past `u64`) is a JSON 400
/// saying why, like every other refusal.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e, _| ApiError::BadRequest(format!("invalid query string: {e}")).into())
}

/// A path segment that does not read (`/api/v1/events/abc`, an id past `i64`) is a JSON 400.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|e, _| ApiError::BadRequest(format!("invalid path: {e}")).into())
}

/// JSON 404 for every path nectr does not serve.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(ErrorBody {
        detail: "Not Found".into(),
        request_id: None,
    })
}
