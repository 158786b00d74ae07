//! Whether the store answers: what `/health` reports.

use async_trait::async_trait;

use crate::error::Result;

/// The store's liveness.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// A cheap round trip to the store.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn ping(&self) -> Result<()>;
}
