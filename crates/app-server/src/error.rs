//! `ApiError`: the one error type handlers return. 5xx bodies are generic and carry the request id;
//! the cause goes to the log only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The database could not record or read: the client should retry.
    #[error("service unavailable (request {request_id}): {cause}")]
    Unavailable { cause: String, request_id: String },
    /// The client's body could not be read (connection cut, malformed chunking).
    #[error("request body could not be read: {0}")]
    BadBody(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadBody(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unavailable { request_id, .. } => {
                tracing::error!(error = %self, "request failed");
                HttpResponse::build(self.status_code()).insert_header(("Retry-After", "30")).json(serde_json::json!({
                    "detail": "Service temporarily unavailable; nothing was recorded. Retry the delivery.",
                    "request_id": request_id,
                }))
            }
            Self::BadBody(_) => {
                tracing::info!(error = %self, "unreadable request body");
                HttpResponse::BadRequest()
                    .json(serde_json::json!({ "detail": "Request body could not be read" }))
            }
        }
    }
}

impl ApiError {
    pub fn unavailable(cause: impl std::fmt::Display, request: &actix_web::HttpRequest) -> Self {
        Self::Unavailable {
            cause: cause.to_string(),
            request_id: crate::request_id::of(request),
        }
    }
}
