//! Retention: the delivery log and the bodies of finished events are kept for a bounded time, so that
//! neither a flood of forged requests nor years of real ones grow the database without end. A
//! periodic job purges them in small batches, each its own short statement, so ingest is never held
//! behind a long delete.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::error::Result;

/// Rows a purge statement touches at most. Small enough that one batch holds SQLite's single writer
/// for milliseconds, large enough that a day of forged requests is gone in seconds.
pub const PURGE_BATCH_ROWS: u64 = 500;

/// How long things are kept; `None` keeps them forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `DELIVERY_RETENTION_DAYS`: delivery-log rows received longer ago are deleted.
    pub deliveries: Option<Duration>,
    /// `PAYLOAD_RETENTION_DAYS`: events that finished (nothing more will happen to them) longer
    /// ago keep their row, figures and runs, but lose the delivery's JSON body.
    pub payloads: Option<Duration>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            deliveries: Some(Duration::days(30)),
            payloads: Some(Duration::days(7)),
        }
    }
}

/// Where the purges happen.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes at most `limit` delivery-log rows received before `before`, oldest first; how many.
    ///
    /// # Errors
    /// `Transient` when the store is unavailable.
    async fn purge_deliveries(&self, before: DateTime<Utc>, limit: u64) -> Result<u64>;

    /// Empties the stored body of at most `limit` events that finished (any status but pending and
    /// processing) and were last changed before `before`; how many. Already emptied ones are not
    /// counted again.
    ///
    /// # Errors
    /// `Transient` when the store is unavailable.
    async fn purge_payloads(&self, before: DateTime<Utc>, limit: u64) -> Result<u64>;
}

/// What one run purged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub deliveries: u64,
    pub payloads: u64,
}

/// The retention job: [`Retention::run_once`] purges everything due, batch by batch.
#[derive(Clone)]
pub struct Retention {
    store: Arc<dyn RetentionStore>,
    clock: Arc<dyn Clock>,
    policy: RetentionPolicy,
}

impl std::fmt::Debug for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retention")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Retention {
    pub fn new(
        store: Arc<dyn RetentionStore>,
        clock: Arc<dyn Clock>,
        policy: RetentionPolicy,
    ) -> Self {
        Self {
            store,
            clock,
            policy,
        }
    }

    pub fn policy(&self) -> RetentionPolicy {
        self.policy
    }

    /// Purges what is older than the policy keeps, in batches of [`PURGE_BATCH_ROWS`] until a batch
    /// comes back short. The cut-off is taken once, so rows arriving meanwhile are never touched.
    ///
    /// # Errors
    /// `Transient` when the store fails; what earlier batches purged stays purged, and the next run
    /// goes on from there.
    pub async fn run_once(&self) -> Result<Purged> {
        let now = self.clock.now();
        let mut purged = Purged::default();
        if let Some(keep) = self.policy.deliveries {
            purged.deliveries =
                drain(|limit| self.store.purge_deliveries(now - keep, limit)).await?;
        }
        if let Some(keep) = self.policy.payloads {
            purged.payloads = drain(|limit| self.store.purge_payloads(now - keep, limit)).await?;
        }
        Ok(purged)
    }
}

/// Runs `batch` with [`PURGE_BATCH_ROWS`] until it purges fewer; how many in all.
async fn drain<F, Fut>(mut batch: F) -> Result<u64>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<u64>>,
{
    let mut total = 0;
    loop {
        let n = batch(PURGE_BATCH_ROWS).await?;
        total += n;
        if n < PURGE_BATCH_ROWS {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::clock::MockClock;

    fn clock_at(now: DateTime<Utc>) -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now);
        Arc::new(clock)
    }

    fn now() -> DateTime<Utc> {
        "2026-12-06T12:00:00Z".parse().unwrap_or_default()
    }

    #[tokio::test]
    async fn purges_in_batches_until_one_comes_back_short() {
        let mut store = MockRetentionStore::new();
        let mut left = 1_200_u64;
        store
            .expect_purge_deliveries()
            .with(eq(now() - Duration::days(30)), eq(PURGE_BATCH_ROWS))
            .times(3)
            .returning(move |_, limit| {
                let n = left.min(limit);
                left -= n;
                Ok(n)
            });
        store
            .expect_purge_payloads()
            .with(eq(now() - Duration::days(7)), eq(PURGE_BATCH_ROWS))
            .times(1)
            .returning(|_, _| Ok(3));
        let retention =
            Retention::new(Arc::new(store), clock_at(now()), RetentionPolicy::default());
        assert_eq!(
            retention.run_once().await.ok(),
            Some(Purged {
                deliveries: 1_200,
                payloads: 3
            })
        );
    }

    #[tokio::test]
    async fn nothing_is_purged_when_kept_forever() {
        let store = MockRetentionStore::new(); // any call would fail the test
        let retention = Retention::new(
            Arc::new(store),
            clock_at(now()),
            RetentionPolicy {
                deliveries: None,
                payloads: None,
            },
        );
        assert_eq!(retention.run_once().await.ok(), Some(Purged::default()));
    }

    #[tokio::test]
    async fn a_failing_store_stops_the_run_with_its_error() {
        let mut store = MockRetentionStore::new();
        store
            .expect_purge_deliveries()
            .times(1)
            .returning(|_, _| Err(crate::Error::Transient("database unavailable".into())));
        let retention =
            Retention::new(Arc::new(store), clock_at(now()), RetentionPolicy::default());
        assert!(retention.run_once().await.is_err());
    }
}
