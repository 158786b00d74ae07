//! What every capability that calls the code host (GitHub) shares: the access token calls run with and
//! the outcomes a failed call maps to. The ports themselves live with the capability that needs them:
//! [`crate::review::CodeHost`] for reviews, [`crate::accounts::WebhookManager`] and
//! [`crate::accounts::OAuthClient`] for accounts.

use std::fmt;

use chrono::{DateTime, Utc};

/// An OAuth or personal access token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for the `Authorization` header and for encrypted storage. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// How a call to the code host failed, by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeHostError {
    /// 404: the repository, pull request, file or hook does not exist (or the token cannot see it).
    #[error("not found: {0}")]
    NotFound(String),
    /// 401: the token is missing, expired or revoked.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403 without a rate limit: the token may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 422: GitHub refused the request's content, with its message.
    #[error("validation failed: {0}")]
    Validation(String),
    /// The primary or secondary rate limit: nothing should be tried before `retry_at`.
    #[error("rate limited until {retry_at}")]
    RateLimited { retry_at: DateTime<Utc> },
    /// Timeouts, connection failures and 5xx: worth retrying later.
    #[error("transient failure: {0}")]
    Transient(String),
    /// Anything else that will not pass by retrying (an unexpected answer, a malformed body).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl CodeHostError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Transient(_))
    }
}

pub type CodeHostResult<T> = Result<T, CodeHostError>;
