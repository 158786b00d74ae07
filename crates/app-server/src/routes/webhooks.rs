//! `POST /api/v1/webhooks/github`: reads the body (25 MiB at most), hands the request to the ingest use
//! case and maps its outcome to GitHub's expected answers. `POST /api/v1/webhooks/linear`: the same
//! for Linear's deliveries (1 MiB at most).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::webhook::delivery::{Provider, RejectionCause};
use domain::webhook::ingest::{DeliveryRequest, IngestOutcome, IngestService, RequestBody};
use domain::webhook::linear::MAX_LINEAR_BODY_BYTES;
use futures_util::StreamExt;

use crate::api::webhooks::WebhookAnswer;
use crate::error::ApiError;
use crate::limits::BodyBuffer;
use crate::offload;
use crate::startup::AppState;

/// Where GitHub delivers: the one path nectr's webhooks point at.
pub const WEBHOOK_PATH: &str = "/api/v1/webhooks/github";

/// Where Linear delivers.
pub const LINEAR_WEBHOOK_PATH: &str = "/api/v1/webhooks/linear";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(WEBHOOK_PATH)
            .route(web::post().to(github))
            .default_service(web::to(other_method)),
    )
    .service(
        web::resource(LINEAR_WEBHOOK_PATH)
            .route(web::post().to(linear))
            .default_service(web::to(other_method_linear)),
    );
}

/// Any other method: `405` with `Allow: POST`, and a row in the delivery log of its provider.
async fn other_method(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    refuse_method(&request, &state, Provider::GitHub).await
}

/// The same on Linear's endpoint.
async fn other_method_linear(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    refuse_method(&request, &state, Provider::Linear).await
}

async fn refuse_method(
    request: &HttpRequest,
    state: &AppState,
    provider: Provider,
) -> Result<HttpResponse, ApiError> {
    let refused = DeliveryRequest {
        headers: header_pairs(request),
        body: RequestBody::Complete(&[]),
    };
    let cause = RejectionCause::MethodNotAllowed {
        method: request.method().to_string(),
    };
    let outcome = match provider {
        Provider::GitHub => state.ingest.refuse(refused, cause).await,
        Provider::Linear => state.linear.refuse(refused, cause).await,
    }
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

/// Reads a webhook body: at most `limit` bytes, within the read deadline and the budget shared by
/// all bodies. A larger, slower or unaffordable body is refused without being buffered further:
/// the second value says why it stopped.
async fn receive(
    request: &HttpRequest,
    payload: &mut web::Payload,
    state: &AppState,
    limit: usize,
) -> Result<(BodyBuffer, Option<RequestBody<'static>>), ApiError> {
    let declared = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
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
    Ok((body, stopped))
}

/// The answer to a delivery's outcome: its status, and a closed connection when the rest of the
/// body was not read.
fn respond(outcome: &IngestOutcome) -> HttpResponse {
    let status = StatusCode::from_u16(outcome.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut answer = HttpResponse::build(status);
    match outcome {
        // The rest of the body is not read: the connection is closed, not kept for another request.
        IngestOutcome::Rejected(RejectionCause::BodyTimeout { .. }) => {
            answer.force_close();
        }
        IngestOutcome::Rejected(RejectionCause::Overloaded) => {
            answer.force_close().insert_header(("Retry-After", "5"));
        }
        _ => {}
    }
    answer.json(WebhookAnswer::from(outcome))
}

fn not_recorded(store_limit: std::time::Duration) -> ApiError {
    ApiError::DeliveryNotRecorded(format!(
        "the database did not answer within {} ms",
        store_limit.as_millis()
    ))
}

/// `POST /api/v1/webhooks/linear`: Linear's deliveries (at most 1 MiB), answered like GitHub's.
async fn linear(
    request: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (body, stopped) = receive(&request, &mut payload, &state, MAX_LINEAR_BODY_BYTES).await?;
    let delivery = DeliveryRequest {
        headers: header_pairs(&request),
        body: stopped.unwrap_or(RequestBody::Complete(body.as_slice())),
    };
    let store_limit = state.store_timeout;
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(store_limit, state.linear.ingest(delivery))
        .await
        .map_err(|_| not_recorded(store_limit))?
        .map_err(|e| ApiError::DeliveryNotRecorded(e.to_string()))?;
    crate::metrics::delivery("linear", &outcome, started.elapsed());
    Ok(respond(&outcome))
}

async fn github(
    request: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (mut body, stopped) = receive(&request, &mut payload, &state, state.max_body_bytes).await?;
    let store_limit = state.store_timeout;
    let started = std::time::Instant::now();
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
    let outcome = answered.unwrap_or_else(|_| Err(not_recorded(store_limit)))?;
    crate::metrics::delivery("github", &outcome, started.elapsed());
    Ok(respond(&outcome))
}
