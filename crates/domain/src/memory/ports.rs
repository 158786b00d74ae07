//! The project memory's store. Every call names its repository: a memory is never read, changed or
//! deleted through another repository's name.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::memory::model::{Memory, MemoryKind, MemoryPatch, MemoryStatus, NewMemory, Remembered};
use crate::webhook::values::RepoFullName;

/// Which memories a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFilter {
    pub status: Option<MemoryStatus>,
    pub kind: Option<MemoryKind>,
    /// Only `developer` memories about this login (case-insensitive).
    pub developer: Option<String>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProjectMemory: Send + Sync {
    /// Stores `memory` unless the repository holds one of the same kind and content hash, which is
    /// then returned as [`Remembered::Exists`]. Decided by a unique index, never by reading first.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn remember(&self, memory: NewMemory, now: DateTime<Utc>) -> Result<Remembered>;

    /// The repository's memories that pass `filter`, newest first, at most `limit`, skipping the
    /// first `offset`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn list(
        &self,
        repository: &RepoFullName,
        filter: &MemoryFilter,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<Memory>>;

    /// One memory of the repository; `None` when it has no such memory.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn get(&self, repository: &RepoFullName, id: i64) -> Result<Option<Memory>>;

    /// Applies `patch` (an edited content gets a new hash) and returns the memory as it now is;
    /// `None` when the repository has no such memory.
    ///
    /// # Errors
    /// `Duplicate` when the edit makes it the same as another of its kind; `Transient` when the
    /// store cannot be reached.
    async fn update(
        &self,
        repository: &RepoFullName,
        id: i64,
        patch: MemoryPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Memory>>;

    /// Deletes one memory of the repository; `false` when it has no such memory.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn forget(&self, repository: &RepoFullName, id: i64) -> Result<bool>;

    /// Active memories other than rules whose title or content match any of `terms` (full-text,
    /// each term a word; never query syntax), best first, at most `limit`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn search(
        &self,
        repository: &RepoFullName,
        terms: &[String],
        limit: u64,
    ) -> Result<Vec<Memory>>;
}
