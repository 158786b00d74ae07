//! HTTP routes, one file per resource.

pub mod auth;
pub mod health;
pub mod manage;
pub mod repos;
pub mod webhooks;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

/// JSON 404 for every path nectr does not serve.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "detail": "Not Found" }))
}

/// `{"detail": text}` with `status`: how every route explains a refusal.
pub(crate) fn detail(status: StatusCode, text: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "detail": text.into() }))
}

/// 503 for a failure on nectr's side (the store, the random number generator); the cause is logged,
/// not shown.
pub(crate) fn unavailable(cause: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %cause, "request failed");
    detail(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service temporarily unavailable",
    )
}
