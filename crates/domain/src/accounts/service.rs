//! The accounts service: its ports, policy and errors. The use cases are in [`super::signin`] (signing
//! in with GitHub) and [`super::repositories`] (listing, connecting, disconnecting and re-keying
//! repositories, retrying an event).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::accounts::github::{OAuthClient, WebhookManager};
use crate::accounts::model::{Installation, Scope, User};
use crate::accounts::ports::{InstallationRegistry, ManagementStore, SessionStore, UserStore};
use crate::codehost::{AccessToken, CodeHostError};
use crate::error::Error;
use crate::queue::WorkSignal;
use crate::webhook::values::RepoFullName;

/// What GitHub is asked to let nectr do: read and review repositories, read the user.
pub const SCOPES: &str = "repo read:user user:email";

/// Why an account action did not happen, by what the caller should be told.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A setting the action needs is missing (GitHub sign-in, `BACKEND_URL`).
    #[error("{0}")]
    NotConfigured(&'static str),
    /// No GitHub token is stored for the user: they must sign in again.
    #[error("no GitHub token is stored for the user")]
    NoToken,
    /// The sign-in cannot complete as asked (unknown state, refused code); the text says why.
    #[error("{0}")]
    SignIn(String),
    /// GitHub could not complete a sign-in step; the text says which.
    #[error("{0}")]
    SignInUnavailable(&'static str),
    /// The user has not connected this repository (or another user has: not theirs to see).
    #[error("you have not connected {0}")]
    NotConnected(RepoFullName),
    /// Another user connected it.
    #[error("{0} is already connected to nectr by another user; its reviews keep working")]
    ConnectedByAnother(RepoFullName),
    /// The installation has no webhook id to act on.
    #[error("no webhook is recorded for {0}; disconnect and connect it again")]
    NoWebhookRecorded(RepoFullName),
    /// The event is not the user's, or does not exist.
    #[error("no such event")]
    NoSuchEvent,
    /// The event cannot be retried; the text says why.
    #[error("{0}")]
    NotRetryable(String),
    /// GitHub refused or failed a call about `repository` (the user's repositories when `None`).
    #[error("GitHub: {error}")]
    GitHub {
        repository: Option<RepoFullName>,
        error: CodeHostError,
    },
    /// The store (or the system's random number generator) failed.
    #[error(transparent)]
    Store(#[from] Error),
}

pub(super) type Result<T> = std::result::Result<T, AccountError>;

/// A signed-in user's new session: the token for the cookie (the store keeps only its hash).
#[derive(Debug)]
pub struct SignedIn {
    pub login: String,
    pub session_token: String,
    pub expires_at: DateTime<Utc>,
}

/// What connecting did: `created` is false when the caller had connected it already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub installation: Installation,
    pub created: bool,
}

/// How accounts behave.
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// Where GitHub delivers webhooks (`BACKEND_URL` + the webhook path), when known.
    pub webhook_url: Option<String>,
    /// Where GitHub sends the browser back after sign-in, when known.
    pub callback_url: Option<String>,
    /// How long a rotated-out webhook secret is still accepted.
    pub secret_grace: Duration,
    pub session_ttl: Duration,
    /// How long a sign-in may take between leaving for GitHub and coming back.
    pub state_ttl: Duration,
}

/// The stores and GitHub ports the accounts use cases run on.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // ports only
pub struct AccountPorts {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub installations: Arc<dyn InstallationRegistry>,
    pub management: Arc<dyn ManagementStore>,
    pub hooks: Arc<dyn WebhookManager>,
    pub oauth: Arc<dyn OAuthClient>,
    /// Told when a retried event is queued again.
    pub signal: Arc<dyn WorkSignal>,
}

/// Accounts and connected repositories.
#[derive(Clone)]
pub struct AccountService {
    pub(super) ports: AccountPorts,
    pub(super) policy: AccountPolicy,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

pub(super) fn until(
    now: DateTime<Utc>,
    ttl: Duration,
    fallback: chrono::Duration,
) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(fallback)
}

impl AccountService {
    pub fn new(ports: AccountPorts, policy: AccountPolicy) -> Self {
        Self { ports, policy }
    }

    pub fn policy(&self) -> &AccountPolicy {
        &self.policy
    }

    /// The repositories the user's management reads are limited to.
    ///
    /// # Errors
    /// `Store` when the store fails.
    pub async fn scope(&self, user: &User) -> Result<Scope> {
        Ok(self.ports.installations.scope_of(user.id).await?)
    }

    /// The user's token; a token that does not open is an error, never used as it is stored.
    pub(super) async fn token_of(&self, user: &User) -> Result<AccessToken> {
        self.ports
            .users
            .user_token(user.id)
            .await?
            .ok_or(AccountError::NoToken)
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
