//! The review capability's own store port: which token calls about a repository run with.

use async_trait::async_trait;

use crate::codehost::AccessToken;
use crate::error::Result;
use crate::webhook::values::RepoFullName;

/// Which token calls about a repository run with.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RepositoryTokens: Send + Sync {
    /// The token of the user who connected `repository`, `None` when it is not connected (or the
    /// user has no token): then the configured fallback applies.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached; `Permanent` when the stored token does not
    /// decrypt (never used as stored).
    async fn token_for(&self, repository: &RepoFullName) -> Result<Option<AccessToken>>;
}

/// No repository is connected: every call runs with the code host's configured fallback token. For
/// embedders and tools that review without nectr's account store.
#[derive(Debug, Clone, Copy, Default)]
pub struct FallbackToken;

#[async_trait]
impl RepositoryTokens for FallbackToken {
    async fn token_for(&self, _: &RepoFullName) -> Result<Option<AccessToken>> {
        Ok(None)
    }
}
