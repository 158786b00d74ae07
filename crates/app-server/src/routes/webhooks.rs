//! `POST /api/v1/webhooks/github`: reads the body (25 MiB at most), hands the request to the ingest use
//! case and maps its outcome to GitHub's expected answers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::webhook::ingest::{DeliveryRequest, RequestBody};
use futures_util::StreamExt;

use crate::api::webhooks::WebhookAnswer;
use crate::error::ApiError;
use crate::startup::AppState;

/// Where GitHub delivers: the one path nectr's webhooks point at.
pub const WEBHOOK_PATH: &str = "/api/v1/webhooks/github";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(WEBHOOK_PATH).route(web::post().to(github)));
}

async fn github(
    request: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = state.max_body_bytes;
    let declared = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());

    // Read at most `limit` bytes; a larger body is refused without being buffered.
    let mut body = web::BytesMut::new();
    let mut too_large = declared.filter(|size| *size > limit as u64);
    while too_large.is_none() {
        let Some(chunk) = payload.next().await else {
            break;
        };
        let chunk = chunk.map_err(|e| ApiError::BadBody(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            too_large = Some((body.len() + chunk.len()) as u64);
        } else {
            body.extend_from_slice(&chunk);
        }
    }

    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let body = match too_large {
        Some(size) => RequestBody::TooLarge { size },
        None => RequestBody::Complete(&body),
    };
    let outcome = state
        .ingest
        .ingest(DeliveryRequest { headers, body })
        .await
        .map_err(|e| ApiError::DeliveryNotRecorded(e.to_string()))?;
    let status = StatusCode::from_u16(outcome.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    Ok(HttpResponse::build(status).json(WebhookAnswer::from(&outcome)))
}
