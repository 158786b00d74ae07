//! HTTP routes, one file per resource, each registering its own routes next to its handlers.

pub mod auth;
pub mod health;
pub mod manage;
pub mod repos;
pub mod webhooks;

use actix_web::{HttpResponse, web};

use crate::api::ErrorBody;

/// Every route nectr serves.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::routes(cfg);
    webhooks::routes(cfg);
    auth::routes(cfg);
    repos::routes(cfg);
    manage::routes(cfg);
}

/// JSON 404 for every path nectr does not serve.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(ErrorBody {
        detail: "Not Found".into(),
        request_id: None,
    })
}
