//! Deadlines on the store, so a database that hangs (a partition, a stuck server) cannot hang a
//! request: past `STORE_TIMEOUT_MS` the request is answered `503` (the webhook's with `Retry-After`),
//! well inside GitHub's 10 s. Every store call a route makes goes through [`within`]: the session
//! lookup of each signed-in route, the management reads, `/health`, and the webhook's ingest. A commit
//! that lands after its answer is safe: GitHub's redelivery is a duplicate by delivery id.

use std::future::Future;
use std::time::Duration;

use crate::error::ApiError;

/// `future`, or `Unavailable` once `limit` has passed.
pub async fn within<T>(
    limit: Duration,
    future: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::Unavailable(format!(
                "the database did not answer within {} ms",
                limit.as_millis()
            )))
        })
}
