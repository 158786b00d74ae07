//! Signing in and connecting repositories: `/auth/*` and `/api/v1/repos/*`.

use chrono::{DateTime, Utc};
use domain::accounts::model::RepositoryListing;
use domain::accounts::{Installation, User};
use serde::{Deserialize, Serialize};

/// `GET /auth/github/callback?code=…&state=…` (or `?error=…` when the user declined).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// `GET /auth/me`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MeBody {
    pub id: i64,
    pub github_id: i64,
    pub login: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

impl From<User> for MeBody {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            github_id: u.github_id,
            login: u.login,
            name: u.name,
            email: u.email,
            avatar_url: u.avatar_url,
        }
    }
}

/// One of `GET /api/v1/repos`' items.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RepositoryBody {
    pub full_name: String,
    pub private: bool,
    pub html_url: String,
    pub admin: bool,
    pub connected: bool,
    pub connected_by_you: bool,
}

impl From<RepositoryListing> for RepositoryBody {
    fn from(r: RepositoryListing) -> Self {
        Self {
            full_name: r.full_name,
            private: r.private,
            html_url: r.html_url,
            admin: r.admin,
            connected: r.connected,
            connected_by_you: r.connected_by_you,
        }
    }
}

/// `GET /api/v1/repos`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RepositoriesBody {
    pub items: Vec<RepositoryBody>,
}

/// `POST /api/v1/repos/{owner}/{repo}/install`: the installation (201 when created, 200 when it was
/// the caller's already).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InstallationBody {
    pub id: i64,
    pub repository: String,
    pub webhook_id: Option<u64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

impl From<Installation> for InstallationBody {
    fn from(i: Installation) -> Self {
        Self {
            id: i.id,
            repository: i.repository.to_string(),
            webhook_id: i.webhook_id,
            active: i.active,
            created_at: i.created_at,
            previous_secret_valid_until: i.previous_secret_valid_until,
        }
    }
}

/// `DELETE /api/v1/repos/{owner}/{repo}/install`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DisconnectedBody {
    pub repository: String,
    pub connected: bool,
}

/// `POST /api/v1/repos/{owner}/{repo}/rotate-secret`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RotatedBody {
    pub repository: String,
    pub rotated: bool,
    pub previous_secret_valid_until: DateTime<Utc>,
}

/// `POST /api/v1/repos/{owner}/{repo}/webhook/events`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SubscribedBody {
    pub repository: String,
    /// Every event the webhook now delivers to nectr.
    pub events: Vec<String>,
}
