//! The accounts use cases: signing in with GitHub (a single-use state, the code exchanged for a token,
//! the user stored with the token sealed, a session started), connecting a repository (nectr's webhook
//! installed with a fresh secret, compensated when the store refuses), disconnecting it, rotating its
//! secret with a grace period, listing the user's repositories, and retrying an event of one's own.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::accounts::github::{OAuthClient, WebhookManager};
use crate::accounts::model::{Installation, RepositoryListing, RetryOutcome, Scope, User};
use crate::accounts::ports::{InstallationRegistry, ManagementStore, SessionStore, UserStore};
use crate::accounts::tokens;
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

type Result<T> = std::result::Result<T, AccountError>;

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
    ports: AccountPorts,
    policy: AccountPolicy,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn until(now: DateTime<Utc>, ttl: Duration, fallback: chrono::Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(fallback)
}

impl AccountService {
    pub fn new(ports: AccountPorts, policy: AccountPolicy) -> Self {
        Self { ports, policy }
    }

    pub fn policy(&self) -> &AccountPolicy {
        &self.policy
    }

    /// Starts a sign-in: a fresh single-use state, stored as its hash, and the GitHub page to send
    /// the browser to. Returns `(state, url)`.
    ///
    /// # Errors
    /// `NotConfigured` without an OAuth app; `Store` when the state cannot be made or stored.
    pub async fn start_sign_in(&self, now: DateTime<Utc>) -> Result<(String, String)> {
        let state = tokens::new_token()?;
        let url = self
            .ports
            .oauth
            .authorize_url(&state, SCOPES, self.policy.callback_url.clone())
            .ok_or(AccountError::NotConfigured(
                "GitHub sign-in is not configured: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET",
            ))?;
        let expires = until(now, self.policy.state_ttl, chrono::Duration::minutes(10));
        self.ports
            .sessions
            .create_oauth_state(&tokens::hash(&state), expires)
            .await?;
        Ok((state, url))
    }

    /// Completes a sign-in: the state is used up whatever happens next, the code exchanged, the user
    /// stored with the token sealed, and a session started.
    ///
    /// # Errors
    /// `SignIn` for an unknown, used or expired state or a code GitHub refuses; `SignInUnavailable`
    /// when GitHub fails; `Store` when the store does.
    pub async fn finish_sign_in(
        &self,
        state: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedIn> {
        let sessions = &self.ports.sessions;
        if !sessions.take_oauth_state(&tokens::hash(state), now).await? {
            return Err(AccountError::SignIn(
                "unknown, used or expired sign-in state; start again at /auth/github".into(),
            ));
        }
        let oauth = &self.ports.oauth;
        let grant = match oauth
            .exchange_code(code, self.policy.callback_url.clone())
            .await
        {
            Ok(grant) => grant,
            Err(CodeHostError::Validation(message)) => {
                return Err(AccountError::SignIn(format!(
                    "GitHub refused the sign-in: {message}"
                )));
            }
            Err(e) => {
                tracing::warn!(error = %e, "OAuth code exchange failed");
                return Err(AccountError::SignInUnavailable(
                    "GitHub could not complete the sign-in",
                ));
            }
        };
        let user = oauth.user(&grant.token).await.map_err(|e| {
            tracing::warn!(error = %e, "reading the signed-in user failed");
            AccountError::SignInUnavailable("GitHub could not tell who signed in")
        })?;
        let user_id = self.ports.users.upsert_user(&user, &grant.token).await?;
        let session_token = tokens::new_token()?;
        let expires_at = until(now, self.policy.session_ttl, chrono::Duration::days(7));
        sessions
            .create_session(&tokens::hash(&session_token), user_id, expires_at)
            .await?;
        tracing::info!(user = %user.login, "signed in");
        Ok(SignedIn {
            login: user.login,
            session_token,
            expires_at,
        })
    }

    /// The user of a live session token.
    ///
    /// # Errors
    /// `Store` when the store fails.
    pub async fn session_user(&self, token: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        Ok(self
            .ports
            .sessions
            .session_user(&tokens::hash(token), now)
            .await?)
    }

    /// Ends the session of `token`.
    ///
    /// # Errors
    /// `Store` when the store fails.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        Ok(self
            .ports
            .sessions
            .delete_session(&tokens::hash(token))
            .await?)
    }

    /// The repositories the user's management reads are limited to.
    ///
    /// # Errors
    /// `Store` when the store fails.
    pub async fn scope(&self, user: &User) -> Result<Scope> {
        Ok(self.ports.installations.scope_of(user.id).await?)
    }

    /// The user's token; a token that does not open is an error, never used as it is stored.
    async fn token_of(&self, user: &User) -> Result<AccessToken> {
        self.ports
            .users
            .user_token(user.id)
            .await?
            .ok_or(AccountError::NoToken)
    }

    /// The user's GitHub repositories, and which of them nectr reviews (and whether they connected
    /// it themselves).
    ///
    /// # Errors
    /// `NoToken`, `GitHub` for GitHub's refusals, `Store`.
    pub async fn repositories(&self, user: &User) -> Result<Vec<RepositoryListing>> {
        let token = self.token_of(user).await?;
        let repos = self
            .ports
            .hooks
            .user_repositories(Some(token))
            .await
            .map_err(|error| AccountError::GitHub {
                repository: None,
                error,
            })?;
        let keys: Vec<String> = repos
            .iter()
            .filter_map(|r| RepoFullName::parse(&r.full_name).ok())
            .map(|r| r.key())
            .collect();
        let installed = self.ports.installations.active_installations(&keys).await?;
        Ok(repos
            .into_iter()
            .map(|repo| {
                let key = repo.full_name.to_ascii_lowercase();
                let installation = installed.iter().find(|i| i.repository.key() == key);
                RepositoryListing {
                    connected: installation.is_some(),
                    connected_by_you: installation.is_some_and(|i| i.user_id == user.id),
                    full_name: repo.full_name,
                    private: repo.private,
                    html_url: repo.html_url,
                    admin: repo.admin,
                }
            })
            .collect())
    }

    /// Connects `repo` for `user`: nectr's webhook installed with a fresh secret and the installation
    /// stored. Connecting a repository one connected already changes nothing. When the store refuses
    /// (someone connected it at the same moment) the webhook is removed again, so GitHub never
    /// delivers with a secret nobody knows.
    ///
    /// # Errors
    /// `ConnectedByAnother`, `NotConfigured` without `BACKEND_URL`, `NoToken`, `GitHub`, `Store`.
    pub async fn connect(&self, user: &User, repo: &RepoFullName) -> Result<Connected> {
        let installations = &self.ports.installations;
        match installations.active_installation(repo).await? {
            Some(existing) if existing.user_id == user.id => {
                return Ok(Connected {
                    installation: existing,
                    created: false,
                });
            }
            Some(_) => return Err(AccountError::ConnectedByAnother(repo.clone())),
            None => {}
        }
        let url = self
            .policy
            .webhook_url
            .as_deref()
            .ok_or(AccountError::NotConfigured(
                "BACKEND_URL is not set: nectr cannot tell GitHub where to deliver",
            ))?;
        let token = self.token_of(user).await?;
        let hooks = &self.ports.hooks;
        let hook = hooks
            .install_hook(Some(token.clone()), repo, url)
            .await
            .map_err(|error| github(repo, error))?;
        let stored = installations
            .create_installation(user.id, repo, Some(hook.id), &hook.secret)
            .await;
        let id = match stored {
            Ok(id) => id,
            Err(e) => {
                if let Err(undo) = hooks.uninstall_hook(Some(token), repo, hook.id).await {
                    tracing::warn!(error = %undo, repository = %repo, "could not remove the webhook just created");
                }
                return Err(match e {
                    Error::Duplicate(_) => AccountError::ConnectedByAnother(repo.clone()),
                    other => AccountError::Store(other),
                });
            }
        };
        tracing::info!(repository = %repo, installation = id, "repository connected");
        let installation = installations
            .active_installation(repo)
            .await?
            .ok_or_else(|| Error::Transient("the installation just stored is gone".into()))?;
        Ok(Connected {
            installation,
            created: true,
        })
    }

    /// The user's own active installation of `repo`.
    async fn own_installation(&self, user: &User, repo: &RepoFullName) -> Result<Installation> {
        match self.ports.installations.active_installation(repo).await? {
            Some(i) if i.user_id == user.id => Ok(i),
            // Another user's installation is not the caller's to see or change.
            _ => Err(AccountError::NotConnected(repo.clone())),
        }
    }

    /// Disconnects `repo`: nectr's webhook removed (one already gone on GitHub is fine) and the
    /// installation made inactive.
    ///
    /// # Errors
    /// `NotConnected`, `NoToken`, `GitHub`, `Store`.
    pub async fn disconnect(&self, user: &User, repo: &RepoFullName) -> Result<()> {
        let installation = self.own_installation(user, repo).await?;
        if let Some(hook_id) = installation.webhook_id {
            let token = self.token_of(user).await?;
            self.ports
                .hooks
                .uninstall_hook(Some(token), repo, hook_id)
                .await
                .map_err(|error| github(repo, error))?;
        }
        self.ports
            .installations
            .deactivate_installation(installation.id)
            .await?;
        tracing::info!(repository = %repo, "repository disconnected");
        Ok(())
    }

    /// Gives `repo`'s webhook a fresh secret; the old one stays accepted for the grace period, whose
    /// end is returned.
    ///
    /// # Errors
    /// `NotConnected`, `NoWebhookRecorded`, `NoToken`, `GitHub`, `Store` (then GitHub signs with the
    /// new secret and its deliveries are refused until a rotation is stored: GitHub keeps them for
    /// redelivery).
    pub async fn rotate_secret(
        &self,
        user: &User,
        repo: &RepoFullName,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>> {
        let installation = self.own_installation(user, repo).await?;
        let hook_id = installation
            .webhook_id
            .ok_or_else(|| AccountError::NoWebhookRecorded(repo.clone()))?;
        let token = self.token_of(user).await?;
        let secret = self
            .ports
            .hooks
            .rotate_hook_secret(Some(token), repo, hook_id)
            .await
            .map_err(|error| github(repo, error))?;
        let grace_until = until(now, self.policy.secret_grace, chrono::Duration::hours(1));
        if let Err(e) = self
            .ports
            .installations
            .rotate_installation_secret(installation.id, &secret, grace_until)
            .await
        {
            tracing::error!(error = %e, repository = %repo, "the rotated secret could not be stored");
            return Err(e.into());
        }
        tracing::info!(repository = %repo, "webhook secret rotated");
        Ok(grace_until)
    }

    /// Queues a failed or skipped event of the scope's repositories again and wakes a worker.
    ///
    /// # Errors
    /// `NoSuchEvent`, `NotRetryable` (another status, or a review of the commit already queued),
    /// `Store`.
    pub async fn retry_event(&self, scope: &Scope, id: i64, now: DateTime<Utc>) -> Result<()> {
        let management = &self.ports.management;
        if management.event(scope, id).await?.is_none() {
            return Err(AccountError::NoSuchEvent);
        }
        match management.requeue(id, now).await? {
            RetryOutcome::Queued => {
                self.ports.signal.work_queued();
                Ok(())
            }
            RetryOutcome::NotRetryable(status) => Err(AccountError::NotRetryable(format!(
                "only failed or skipped events are retried; this one is {status}"
            ))),
            RetryOutcome::AlreadyQueued => Err(AccountError::NotRetryable(
                "a review of this commit is already queued".into(),
            )),
        }
    }
}

fn github(repo: &RepoFullName, error: CodeHostError) -> AccountError {
    AccountError::GitHub {
        repository: Some(repo.clone()),
        error,
    }
}
