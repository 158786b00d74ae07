//! `POST /api/v1/webhooks/github`: reads the body (25 MiB at most), hands the request to the ingest use case
//! and maps its outcome to GitHub's expected answers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::webhook::ingest::{DeliveryRequest, IngestOutcome, RequestBody};
use futures_util::StreamExt;
use serde_json::json;

use crate::error::ApiError;
use crate::startup::AppState;

pub async fn github(
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
        .map_err(|e| ApiError::unavailable(e, &request))?;
    Ok(respond(&outcome))
}

fn respond(outcome: &IngestOutcome) -> HttpResponse {
    let status = StatusCode::from_u16(outcome.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = match outcome {
        IngestOutcome::Received {
            event_id,
            event_type,
        } => {
            json!({ "status": "received", "event_id": event_id, "event_type": event_type })
        }
        IngestOutcome::DuplicateSkipped { detail } => {
            json!({ "status": "duplicate_skipped", "detail": detail })
        }
        IngestOutcome::Ignored { reason, event_type } => {
            json!({ "status": "ignored", "reason": reason, "event_type": event_type })
        }
        IngestOutcome::Pong { hook_id, zen } => json!({
            "status": "pong",
            "message": "Pong! Webhook configured successfully",
            "hook_id": hook_id,
            "zen": zen,
        }),
        IngestOutcome::Rejected(cause) => json!({ "detail": cause.detail() }),
    };
    HttpResponse::build(status).json(body)
}
