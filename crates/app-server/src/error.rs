//! `ApiError`: the one error type handlers return, reached with `?` from the domain's errors. A refusal
//! says why in `detail`; a 5xx body is generic and carries the request id, its cause goes to the log
//! only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use domain::accounts::AccountError;
use domain::codehost::CodeHostError;

use crate::api::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request itself is wrong; the text says how.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no (valid) session, or GitHub no longer accepts the user's token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 409
    #[error("{0}")]
    Conflict(String),
    /// 422
    #[error("{0}")]
    Unprocessable(String),
    /// 429 until `retry_at`.
    #[error("{detail}")]
    RateLimited {
        detail: String,
        retry_at: DateTime<Utc>,
    },
    /// 502: GitHub failed; the text says what the user can do.
    #[error("{0}")]
    BadGateway(String),
    /// 503: a setting is missing; the text names it.
    #[error("{0}")]
    NotConfigured(String),
    /// 503: nectr's side failed (the store, the random number generator). The cause is logged only.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 503 on the webhook endpoint: nothing was recorded, GitHub should redeliver.
    #[error("delivery not recorded: {0}")]
    DeliveryNotRecorded(String),
    /// 400: the client's body could not be read (connection cut, malformed chunking).
    #[error("request body could not be read: {0}")]
    BadBody(String),
}

impl ApiError {
    fn body(&self) -> ErrorBody {
        let (detail, server_side) = match self {
            Self::Unavailable(_) => ("Service temporarily unavailable".to_owned(), true),
            Self::DeliveryNotRecorded(_) => (
                "Service temporarily unavailable; nothing was recorded. Retry the delivery."
                    .to_owned(),
                true,
            ),
            Self::BadBody(_) => ("Request body could not be read".to_owned(), false),
            other => (other.to_string(), self.status_code().is_server_error()),
        };
        ErrorBody {
            detail,
            request_id: server_side.then(crate::request_id::current),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::BadBody(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::NotConfigured(_) | Self::Unavailable(_) | Self::DeliveryNotRecorded(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unavailable(_) | Self::DeliveryNotRecorded(_) => {
                tracing::error!(error = %self, "request failed")
            }
            Self::BadBody(_) => tracing::info!(error = %self, "unreadable request body"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::RateLimited { retry_at, .. } => {
                let seconds = (*retry_at - Utc::now()).num_seconds().max(1);
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            Self::DeliveryNotRecorded(_) => {
                response.insert_header(("Retry-After", "30"));
            }
            _ => {}
        }
        response.json(self.body())
    }
}

impl From<domain::Error> for ApiError {
    fn from(e: domain::Error) -> Self {
        match e {
            domain::Error::Invalid { .. } => Self::BadRequest(e.to_string()),
            domain::Error::NotFound(what) => Self::NotFound(what),
            domain::Error::Duplicate(what) => Self::Conflict(what),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// A GitHub failure about `repository` (the user's repositories when `None`) as the user should see it.
fn github_error(repository: Option<String>, error: CodeHostError) -> ApiError {
    let name = repository.unwrap_or_else(|| "your repositories".to_owned());
    match error {
        CodeHostError::Unauthorized(_) => ApiError::Unauthorized(
            "GitHub no longer accepts your token; sign in again at /auth/github".into(),
        ),
        CodeHostError::NotFound(_) | CodeHostError::Forbidden(_) => ApiError::Forbidden(format!(
            "GitHub does not let you manage webhooks of {name}: you need admin rights on it"
        )),
        CodeHostError::Validation(message) => {
            ApiError::Unprocessable(format!("GitHub refused the change to {name}: {message}"))
        }
        CodeHostError::RateLimited { retry_at } => ApiError::RateLimited {
            detail: format!("GitHub's rate limit is reached until {retry_at}"),
            retry_at,
        },
        other => {
            tracing::warn!(error = %other, "GitHub call failed");
            ApiError::BadGateway("GitHub could not be reached; try again".into())
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NotConfigured(what) => Self::NotConfigured(what.to_owned()),
            AccountError::NoToken => Self::Unauthorized(
                "no GitHub token is stored for you; sign in again at /auth/github".into(),
            ),
            AccountError::SignIn(why) => Self::BadRequest(why),
            AccountError::SignInUnavailable(why) => Self::BadGateway(why.to_owned()),
            AccountError::NotConnected(_) | AccountError::NoSuchEvent => {
                Self::NotFound(e.to_string())
            }
            AccountError::ConnectedByAnother(_)
            | AccountError::NoWebhookRecorded(_)
            | AccountError::NotRetryable(_) => Self::Conflict(e.to_string()),
            AccountError::GitHub { repository, error } => {
                github_error(repository.map(|r| r.to_string()), error)
            }
            AccountError::Store(e) => e.into(),
        }
    }
}
