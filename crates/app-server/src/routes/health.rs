//! `GET /health`: the process is up and its database answers (readiness). `/livez`: the process answers
//! at all (liveness; touches nothing, so it is also the benchmark's bare baseline).

use actix_web::{HttpResponse, web};

use crate::api::HealthBody;
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/livez", web::route().to(live));
}

async fn health(state: web::Data<AppState>) -> HttpResponse {
    let version = env!("CARGO_PKG_VERSION").to_owned();
    let ping = tokio::time::timeout(state.store_timeout, state.store_health.ping()).await;
    match ping.unwrap_or_else(|_| Err(domain::Error::Transient("no answer in time".into()))) {
        Ok(()) => HttpResponse::Ok().json(HealthBody {
            status: "ok".into(),
            database: "ok".into(),
            version,
        }),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            HttpResponse::ServiceUnavailable().json(HealthBody {
                status: "unavailable".into(),
                database: "unreachable".into(),
                version,
            })
        }
    }
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().finish()
}
