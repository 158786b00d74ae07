//! Installations' delivery settings (webhook secrets and delivery filters) as last read, kept for
//! [`TTL`]: every delivery needs them, and they change a few times a year. This process's own changes
//! clear the copy at once; another process's are seen within [`TTL`], and sooner where it matters:
//! a delivery a copy does not verify is decided again on a fresh read (the ingest use case asks
//! for one), so a rotated secret is never refused for a stale copy.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::webhook::ports::DeliverySettings;

/// How long a copy is used.
pub(crate) const TTL: Duration = Duration::from_secs(1);
/// Repositories kept at most; past it the copy starts afresh.
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct SettingsCache {
    entries: Mutex<HashMap<String, (Instant, DeliverySettings)>>,
}

impl SettingsCache {
    /// The settings read for `repo_key` less than [`TTL`] ago.
    pub(crate) fn get(&self, repo_key: &str) -> Option<DeliverySettings> {
        let entries = self.entries.lock().ok()?;
        let (read_at, settings) = entries.get(repo_key)?;
        (read_at.elapsed() < TTL).then(|| settings.clone())
    }

    pub(crate) fn put(&self, repo_key: String, settings: DeliverySettings) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(repo_key, (Instant::now(), settings));
        }
    }

    /// Forgets every copy: called after any change to an installation.
    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
