//! HTTP routes, one file per resource.

pub mod auth;
pub mod health;
pub mod manage;
pub mod repos;
pub mod webhooks;

use actix_web::HttpResponse;

/// JSON 404 for every path nectr does not serve.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "detail": "Not Found" }))
}
