//! Whether the store answers and is ready (`/health`, `/readyz`), and what it holds of the queue
//! and its connections (`/metrics`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;

/// The store's figures at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreStats {
    /// `(status, job kind, count)` of the events in flight (`pending`, `processing`).
    pub in_flight: Vec<(String, String, u64)>,
    /// When the oldest pending event was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// Connections open in the pool(s), and how many of them are idle.
    pub pool_size: u32,
    pub pool_idle: u32,
}

/// The store's liveness.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// A cheap round trip to the store.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn ping(&self) -> Result<()>;

    /// Migrations this version has that the database has not applied (zero: ready).
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn pending_migrations(&self) -> Result<usize>;

    /// The queue's depth and the connection pool's use.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn stats(&self) -> Result<StoreStats>;
}
