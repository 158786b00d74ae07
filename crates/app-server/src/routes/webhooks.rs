//! `POST /api/v1/webhooks/github`: reads the body (25 MiB at most), hands the request to the ingest use
//! case and maps its outcome to GitHub's expected answers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::webhook::delivery::RejectionCause;
use domain::webhook::ingest::{DeliveryRequest, IngestOutcome, IngestService, RequestBody};
use futures_util::StreamExt;

use crate::api::webhooks::WebhookAnswer;
use crate::error::ApiError;
use crate::limits::BodyBuffer;
use crate::offload;
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

async fn ingest(
    service: &IngestService,
    request: DeliveryRequest<'_>,
) -> Result<IngestOutcome, ApiError> {
    service
        .ingest(request)
        .await
        .map_err(|e| ApiError::DeliveryNotRecorded(e.to_string()))
}

/// A large body's ingest, on the large-body runtime (see [`offload`]); the request's headers and
/// body move there with it.
async fn ingest_off_loop(
    service: &IngestService,
    request: &HttpRequest,
    body: Vec<u8>,
) -> Result<IngestOutcome, ApiError> {
    let service = service.clone();
    let headers: Vec<(String, String)> = header_pairs(request)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    offload::run(async move {
        let request = DeliveryRequest {
            headers: headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect(),
            body: RequestBody::Complete(&body),
        };
        ingest(&service, request).await
    })
    .await
    .unwrap_or_else(|| {
        Err(ApiError::DeliveryNotRecorded(
            "the delivery's work stopped unexpectedly".to_owned(),
        ))
    })
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
    let expected = declared.map_or(limit, |size| {
        usize::try_from(size).unwrap_or(limit).min(limit)
    });
    let mut body = BodyBuffer::new(&state.body_budget, expected);
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
        } else if !body.push(&chunk) {
            stopped = Some(RequestBody::Overloaded {
                received: body.len() as u64,
            });
        }
    }

    let store_limit = state.store_timeout;
    let answered = match stopped {
        None if body.len() > offload::OFF_LOOP_BODY_BYTES => {
            // `body` keeps its share of the budget until the answer: the bytes move, not the share.
            let large = ingest_off_loop(&state.ingest, &request, body.take());
            tokio::time::timeout(store_limit, large).await
        }
        stopped => {
            let request = DeliveryRequest {
                headers: header_pairs(&request),
                body: stopped.unwrap_or(RequestBody::Complete(body.as_slice())),
            };
            tokio::time::timeout(store_limit, ingest(&state.ingest, request)).await
        }
    };
    let outcome = answered.unwrap_or_else(|_| {
        Err(ApiError::DeliveryNotRecorded(format!(
            "the database did not answer within {} ms",
            store_limit.as_millis()
        )))
    })?;
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
