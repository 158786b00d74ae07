//! GitHub as the accounts capability sees it: the user's repositories, nectr's webhook on them, and the
//! OAuth sign-in flow: the [`WebhookManager`] and [`OAuthClient`] ports the GitHub adapter implements.

use async_trait::async_trait;

use crate::codehost::{AccessToken, CodeHostResult};
use crate::webhook::values::{RepoFullName, WebhookSecret};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub full_name: String,
    pub private: bool,
    pub default_branch: Option<String>,
    pub html_url: String,
    /// Whether the token may administer it (create webhooks).
    pub admin: bool,
}

/// A webhook nectr created, with the secret it generated for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedHook {
    pub id: u64,
    pub secret: WebhookSecret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

/// What an OAuth code was exchanged for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthGrant {
    pub token: AccessToken,
    pub scopes: Vec<String>,
}

/// The repositories a user may connect, and installing, removing and re-keying nectr's webhook on one.
///
/// # Errors
/// Every method fails with a [`CodeHostError`](crate::codehost::CodeHostError): `Unauthorized` for a token GitHub no longer accepts,
/// `NotFound`/`Forbidden` where the token may not administer the repository, `Validation` with GitHub's
/// message, `RateLimited`, and `Transient` for timeouts and 5xx.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookManager: Send + Sync {
    /// The token owner's repositories, all pages: what the user may connect.
    async fn user_repositories(
        &self,
        token: Option<AccessToken>,
    ) -> CodeHostResult<Vec<Repository>>;
    /// Creates a webhook for the [`HOOK_EVENTS`] deliveries to `url`, with a fresh secret.
    async fn install_hook(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        url: &str,
    ) -> CodeHostResult<CreatedHook>;
    /// Deletes a webhook. One that is already gone is not an error.
    async fn uninstall_hook(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        hook_id: u64,
    ) -> CodeHostResult<()>;
    /// Gives the webhook a fresh secret and returns it.
    async fn rotate_hook_secret(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        hook_id: u64,
    ) -> CodeHostResult<WebhookSecret>;
    /// Adds any of the [`HOOK_EVENTS`] the webhook is not subscribed to yet (a webhook installed
    /// by an older version), keeping its other events.
    async fn subscribe_events(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        hook_id: u64,
    ) -> CodeHostResult<()>;
}

/// The events nectr's webhooks are subscribed to: pull requests (reviews, the knowledge graph),
/// issues, and comments (`@nectr` commands).
pub const HOOK_EVENTS: [&str; 3] = ["pull_request", "issues", "issue_comment"];

/// GitHub's OAuth web flow, server side.
///
/// # Errors
/// `Validation` when GitHub refuses the code (used, expired, wrong client), `Unauthorized` for a token
/// it does not accept, `Transient` for timeouts and 5xx.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OAuthClient: Send + Sync {
    /// Where to send a browser to sign in: GitHub's authorize page for nectr's OAuth app, asking for
    /// `scopes` and coming back with `state` (to `redirect_uri` when given). `None` when no OAuth app
    /// is configured.
    fn authorize_url(
        &self,
        state: &str,
        scopes: &str,
        redirect_uri: Option<String>,
    ) -> Option<String>;
    /// Exchanges the code GitHub redirected back with for an access token.
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: Option<String>,
    ) -> CodeHostResult<OAuthGrant>;
    /// The user the token belongs to.
    async fn user(&self, token: &AccessToken) -> CodeHostResult<GitHubUser>;
}
