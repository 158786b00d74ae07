//! `GET /health`: the process is up and its database answers (readiness). `/livez`: the process answers
//! at all (liveness; touches nothing, so it is also the benchmark's bare baseline).

use actix_web::{HttpResponse, web};

use crate::startup::AppState;

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({
            "status": "ok",
            "database": "ok",
            "version": env!("CARGO_PKG_VERSION"),
        })),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({
                "status": "unavailable",
                "database": "unreachable",
                "version": env!("CARGO_PKG_VERSION"),
            }))
        }
    }
}

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().finish()
}
