//! `GET /health`: the process is up and its database answers. `/readyz`: the database answers and
//! has every migration applied (ready for traffic). `/livez`: the process answers at all (liveness;
//! touches nothing, so it is also the benchmark's bare baseline). `/metrics`: Prometheus's text
//! format, behind `METRICS_TOKEN` when it is set.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::{HealthBody, ReadyBody};
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/readyz", web::get().to(ready))
        .route("/metrics", web::get().to(metrics))
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

async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let check = async {
        state.store_health.ping().await?;
        state.store_health.pending_migrations().await
    };
    let answer = tokio::time::timeout(state.store_timeout, check).await;
    match answer.unwrap_or_else(|_| Err(domain::Error::Transient("no answer in time".into()))) {
        Ok(0) => HttpResponse::Ok().json(ReadyBody {
            status: "ready".into(),
            detail: None,
        }),
        Ok(pending) => HttpResponse::ServiceUnavailable().json(ReadyBody {
            status: "not_ready".into(),
            detail: Some(format!(
                "{pending} migration(s) not applied: run `app-server migrate`"
            )),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            HttpResponse::ServiceUnavailable().json(ReadyBody {
                status: "not_ready".into(),
                detail: Some("the database does not answer".into()),
            })
        }
    }
}

/// `GET /metrics`: the store's gauges refreshed, then every metric in Prometheus's text format.
async fn metrics(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(token) = &state.metrics_token {
        let sent = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Digests compared: the time taken says nothing about the token.
        let ok = sent
            .is_some_and(|s| domain::digest::sha256_hex(s) == domain::digest::sha256_hex(token));
        if !ok {
            return HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer"))
                .json(crate::api::ErrorBody {
                    detail: "send the metrics token: Authorization: Bearer <METRICS_TOKEN>".into(),
                    request_id: None,
                });
        }
    }
    let stats = tokio::time::timeout(state.store_timeout, state.store_health.stats()).await;
    match stats {
        Ok(Ok(stats)) => crate::metrics::store(&stats, chrono::Utc::now()),
        Ok(Err(e)) => tracing::warn!(error = %e, "store figures unavailable for /metrics"),
        Err(_) => tracing::warn!("store figures timed out for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::handle().render())
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().finish()
}
