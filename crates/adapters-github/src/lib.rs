//! GitHub adapter: implements the domain's `CodeHost`, `WebhookManager`, `OAuthClient` and
//! `PayloadReader` (webhook JSON into domain values) ports on
//! octocrab (its HTTP client, auth and base-URL handling), against configurable base URLs so GitHub
//! Enterprise Server and local fakes work the same way.

mod cache;
mod client;
mod codehost;
mod error;
mod hooks;
mod oauth;
mod payload;
mod wire;

use std::time::Duration;

use domain::codehost::AccessToken;
use secrecy::SecretString;

pub use cache::PrCache;
pub use client::GitHub;
pub use payload::GitHubPayloads;

/// Where GitHub is and who nectr is to it.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// `GITHUB_API_URL`: `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    /// `GITHUB_OAUTH_URL`: `https://github.com`, or `https://HOST` for GitHub Enterprise Server.
    pub oauth_url: String,
    /// `GITHUB_PAT`: used when a call is not given the connecting user's token.
    pub pat: Option<AccessToken>,
    /// `GITHUB_CLIENT_ID` and `GITHUB_CLIENT_SECRET`: the OAuth app.
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// Per request: connecting and reading the answer each get this long.
    pub timeout: Duration,
    /// A warning is logged when fewer than this many requests remain in the rate-limit window.
    pub low_rate_limit_warning: u64,
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.github.com".to_owned(),
            oauth_url: "https://github.com".to_owned(),
            pat: None,
            client_id: None,
            client_secret: None,
            timeout: Duration::from_secs(30),
            low_rate_limit_warning: 100,
        }
    }
}
