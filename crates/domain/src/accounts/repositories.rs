//! Connecting repositories: the user's GitHub repositories, connecting one (nectr's webhook installed
//! with a fresh secret, compensated when the store refuses), disconnecting it, rotating its secret with
//! a grace period, and retrying an event of one's own.

use chrono::{DateTime, Utc};

use crate::accounts::github::HOOK_EVENTS;
use crate::accounts::model::{Installation, RepositoryListing, RetryOutcome, Scope, User};
use crate::accounts::service::{AccountError, AccountService, Connected, Result, until};
use crate::codehost::CodeHostError;
use crate::error::Error;
use crate::webhook::values::RepoFullName;

impl AccountService {
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
        // A webhook installed by an older version learns the events added since (comments), before
        // the secret changes: a failure here leaves the old secret working.
        self.ports
            .hooks
            .subscribe_events(Some(token.clone()), repo, hook_id)
            .await
            .map_err(|error| github(repo, error))?;
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

    /// Subscribes `repo`'s webhook to every event nectr reads ([`HOOK_EVENTS`]), keeping its secret;
    /// returns them.
    ///
    /// # Errors
    /// `NotConnected`, `NoWebhookRecorded`, `NoToken`, `GitHub`.
    pub async fn subscribe_events(
        &self,
        user: &User,
        repo: &RepoFullName,
    ) -> Result<&'static [&'static str]> {
        let installation = self.own_installation(user, repo).await?;
        let hook_id = installation
            .webhook_id
            .ok_or_else(|| AccountError::NoWebhookRecorded(repo.clone()))?;
        let token = self.token_of(user).await?;
        self.ports
            .hooks
            .subscribe_events(Some(token), repo, hook_id)
            .await
            .map_err(|error| github(repo, error))?;
        tracing::info!(repository = %repo, "webhook subscribed to nectr's events");
        Ok(&HOOK_EVENTS)
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
