//! The retention job every `serve` process runs: at start-up and then every
//! `RETENTION_INTERVAL_SECONDS`, delivery-log rows past `DELIVERY_RETENTION_DAYS` are deleted and the
//! stored bodies of events finished more than `PAYLOAD_RETENTION_DAYS` ago are emptied, in batches
//! (see `domain::webhook::retention`). Several processes may run it on one database: a row is purged
//! once whoever gets to it.

use std::sync::Arc;
use std::time::Duration;

use domain::clock::SystemClock;
use domain::webhook::retention::{Retention, RetentionStore};
use tokio::task::JoinHandle;

use crate::settings::Settings;

/// The job built from the settings, on `store`.
pub fn retention(settings: &Settings, store: Arc<dyn RetentionStore>) -> Retention {
    Retention::new(store, Arc::new(SystemClock), settings.database.retention)
}

/// Runs the job now and then every `interval` until the handle is aborted. A failed run is logged
/// and tried again at the next interval: nothing is lost by waiting.
pub fn start(retention: Retention, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run(&retention).await;
        }
    })
}

/// One run, logged.
pub async fn run(retention: &Retention) {
    match retention.run_once().await {
        Ok(purged) if purged.deliveries + purged.payloads > 0 => tracing::info!(
            deliveries = purged.deliveries,
            payloads = purged.payloads,
            "retention: purged what is past its time"
        ),
        Ok(_) => tracing::debug!("retention: nothing to purge"),
        Err(e) => {
            tracing::warn!(error = %e, "retention run failed; trying again at the next interval")
        }
    }
}
