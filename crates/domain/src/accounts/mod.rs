//! Accounts: signing in with GitHub, connecting a repository (installing nectr's webhook with a fresh
//! secret), disconnecting it and rotating its secret, and what a user may read through the management
//! API. The keyring ([`crypto`]) seals tokens and secrets at rest.

pub mod crypto;
pub mod github;

pub use crypto::Keyring;
pub use github::{OAuthClient, WebhookManager};

#[cfg(any(test, feature = "mocks"))]
pub use github::{MockOAuthClient, MockWebhookManager};
