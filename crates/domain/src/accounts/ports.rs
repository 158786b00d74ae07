//! The accounts capability's store ports: users, sign-in sessions and states, installations (connected
//! repositories), and the management API's reads. Each returns domain values, never storage rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::accounts::github::GitHubUser;
use crate::accounts::model::{
    DeliveryView, EventFilter, EventView, Installation, Page, Paged, RetryOutcome, ReviewView,
    RunView, Scope, User,
};
use crate::codehost::AccessToken;
use crate::error::Result;
use crate::webhook::values::{RepoFullName, WebhookSecret};

/// Users and their GitHub tokens (sealed at rest).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates or updates the user GitHub says signed in, with `token` sealed. Returns the user's id.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached; `Permanent` when no encryption key is configured.
    async fn upsert_user(&self, user: &GitHubUser, token: &AccessToken) -> Result<i64>;
    /// The user's GitHub token, opened; `None` when none is stored (or there is no such user).
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached; `Permanent` when the stored token does not open
    /// (a token is never used as it is stored).
    async fn user_token(&self, user_id: i64) -> Result<Option<AccessToken>>;
}

/// Sign-in sessions and single-use OAuth states, kept as SHA-256 hashes: the store never holds a
/// usable cookie or state.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Starts a session; sessions that ran out are swept on the way.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The user of a session live at `now`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;
    /// Ends a session; one that does not exist is not an error.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Stores a sign-in state until `expires_at`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn create_oauth_state(&self, state_hash: &str, expires_at: DateTime<Utc>) -> Result<()>;
    /// Uses up a state: `true` exactly once for a stored state not expired at `now`. Expired states
    /// are cleared on the way.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn take_oauth_state(&self, state_hash: &str, now: DateTime<Utc>) -> Result<bool>;
}

/// Connected repositories: at most one active installation per repository (in any letter case).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait InstallationRegistry: Send + Sync {
    /// The repository's active installation, whoever connected it.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn active_installation(&self, repository: &RepoFullName) -> Result<Option<Installation>>;
    /// The active installations of these repository keys (`owner/name` in lower case).
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn active_installations(&self, keys: &[String]) -> Result<Vec<Installation>>;
    /// Stores a new active installation with `secret` sealed; returns its id.
    ///
    /// # Errors
    /// `Duplicate` when the repository already has an active installation; `Transient` when the store
    /// cannot be reached; `Permanent` when no encryption key is configured.
    async fn create_installation(
        &self,
        user_id: i64,
        repository: &RepoFullName,
        webhook_id: Option<u64>,
        secret: &WebhookSecret,
    ) -> Result<i64>;
    /// Marks an installation inactive: its deliveries are no longer accepted with its secret.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn deactivate_installation(&self, id: i64) -> Result<()>;
    /// Makes `secret` current; the one it replaces stays accepted until `grace_until`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached; `Permanent` when no encryption key is configured.
    async fn rotate_installation_secret(
        &self,
        id: i64,
        secret: &WebhookSecret,
        grace_until: DateTime<Utc>,
    ) -> Result<()>;
    /// The repositories `user_id` has connected: what their management reads are limited to.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn scope_of(&self, user_id: i64) -> Result<Scope>;
}

/// What the management API reads, always within a [`Scope`], and its one action: queueing a failed or
/// skipped event again.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ManagementStore: Send + Sync {
    /// Events of the scope's repositories matching `filter`, newest first.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn events(
        &self,
        scope: &Scope,
        filter: &EventFilter,
        page: Page,
    ) -> Result<Paged<EventView>>;
    /// The event, when it belongs to the scope.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn event(&self, scope: &Scope, id: i64) -> Result<Option<EventView>>;
    /// The runs of an event, oldest first.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn runs(&self, event_id: i64) -> Result<Vec<RunView>>;
    /// Queues an event again as new ([`crate::queue::transition::REQUEUE`]: attempts from zero, due
    /// at `now`), announcing it to every process.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn requeue(&self, id: i64, now: DateTime<Utc>) -> Result<RetryOutcome>;
    /// Runs that posted a review, newest first, with their events.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn reviews(&self, scope: &Scope, page: Page) -> Result<Paged<ReviewView>>;
    /// The delivery log of the scope's repositories, newest first.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn deliveries(&self, scope: &Scope, page: Page) -> Result<Paged<DeliveryView>>;
    /// One delivery, when it belongs to the scope.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn delivery(&self, scope: &Scope, id: i64) -> Result<Option<DeliveryView>>;
}
