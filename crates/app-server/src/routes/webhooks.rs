//! `POST /api/v1/webhooks/github`: reads the body (25 MiB at most), hands the request to the ingest use
//! case and maps its outcome to GitHub's expected answers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::webhook::delivery::RejectionCause;
use domain::webhook::ingest::{DeliveryRequest, IngestOutcome, RequestBody};
use futures_util::StreamExt;

use crate::api::webhooks::WebhookAnswer;
use crate::error::ApiError;
use crate::startup::AppState;

/// Where GitHub delivers: the one path nectr's webhooks point at.
pub const WEBHOOK_PATH: &str = "/api/v1/webhooks/github";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(WEBHOOK_PATH)
            .route(web::post().to(github))
            .default_service(web::to(other_method)),
    );
}

/// Any other method: `405` with `Allow: POST`, and a row in the delivery log.
async fn other_method(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let headers = header_pairs(&request);
    let cause = RejectionCause::MethodNotAllowed {
        method: request.method().to_string(),
    };
    let outcome = state
        .ingest
        .refuse(
            DeliveryRequest {
                headers,
                body: RequestBody::Complete(&[]),
            },
            cause,
        )
        .await
        .map_err(|e| ApiError::DeliveryNotRecorded(e.to_string()))?;
    Ok(HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", "POST"))
        .json(WebhookAnswer::from(&outcome)))
}

fn header_pairs(request: &HttpRequest) -> Vec<(&str, &str)> {
    request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect()
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

    // Read at most `limit` bytes, within the read deadline and the budget shared by all bodies; a
    // larger, slower or unaffordable body is refused without being buffered further.
    let deadline = tokio::time::Instant::now() + state.body_read_timeout;
    let mut reservation = state.body_budget.reservation();
    let mut body = web::BytesMut::new();
    let mut stopped = declared
        .filter(|size| *size > limit as u64)
        .map(|size| RequestBody::TooLarge { size });
    while stopped.is_none() {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_) => {
                stopped = Some(RequestBody::TimedOut {
                    received: body.len() as u64,
                    seconds: state.body_read_timeout.as_secs(),
                });
                break;
            }
            Ok(None) => break,
            Ok(Some(chunk)) => chunk.map_err(|e| ApiError::BadBody(e.to_string()))?,
        };
        if body.len() + chunk.len() > limit {
            stopped = Some(RequestBody::TooLarge {
                size: (body.len() + chunk.len()) as u64,
            });
        } else if !reservation.grow(chunk.len()) {
            stopped = Some(RequestBody::Overloaded {
                received: body.len() as u64,
            });
        } else {
            body.extend_from_slice(&chunk);
        }
    }

    let headers = header_pairs(&request);
    let body = stopped.unwrap_or(RequestBody::Complete(&body));
    let ingest = state.ingest.ingest(DeliveryRequest { headers, body });
    let outcome = match tokio::time::timeout(state.store_timeout, ingest).await {
        Ok(outcome) => outcome.map_err(|e| ApiError::DeliveryNotRecorded(e.to_string()))?,
        Err(_) => {
            return Err(ApiError::DeliveryNotRecorded(format!(
                "the database did not answer within {} ms",
                state.store_timeout.as_millis()
            )));
        }
    };
    let status = StatusCode::from_u16(outcome.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut answer = HttpResponse::build(status);
    match &outcome {
        // The rest of the body is not read: the connection is closed, not kept for another request.
        IngestOutcome::Rejected(RejectionCause::BodyTimeout { .. }) => {
            answer.force_close();
        }
        IngestOutcome::Rejected(RejectionCause::Overloaded) => {
            answer.force_close().insert_header(("Retry-After", "5"));
        }
        _ => {}
    }
    Ok(answer.json(WebhookAnswer::from(&outcome)))
}
