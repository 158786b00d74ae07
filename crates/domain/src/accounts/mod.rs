//! Accounts: signing in with GitHub, connecting a repository (installing nectr's webhook with a fresh
//! secret), disconnecting it and rotating its secret, and what a user may read through the management
//! API. [`model`] holds the values, [`ports`] the stores, [`github`] the GitHub ports, [`service`] the
//! use cases, [`tokens`] session tokens and [`crypto`] the keyring that seals tokens and secrets.

pub mod crypto;
pub mod github;
pub mod model;
pub mod ports;
mod repositories;
pub mod service;
mod signin;
pub mod tokens;

pub use crypto::Keyring;
pub use github::{OAuthClient, WebhookManager};
pub use model::{Installation, Page, Paged, Scope, User};
pub use ports::{InstallationRegistry, ManagementStore, SessionStore, UserStore};
pub use service::{AccountError, AccountPolicy, AccountPorts, AccountService};

#[cfg(any(test, feature = "mocks"))]
pub use github::{MockOAuthClient, MockWebhookManager};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockInstallationRegistry, MockManagementStore, MockSessionStore, MockUserStore};
