//! Typed settings from environment variables, validated once at start-up, in sections: server,
//! database, github, ai, review, queue, accounts and context, each parsed and validated by its own function
//! ([`sections`]). Secrets are `SecretString`s: their `Debug` is redacted.

mod context;
mod sections;
mod vars;

use std::sync::Arc;

use domain::codehost::AccessToken;
use domain::review::Reviewer;
use domain::webhook::event::ReviewTriggers;
use domain::webhook::ingest::IngestPolicy;
use domain::webhook::values::WebhookSecret;
use secrecy::ExposeSecret;

pub use context::ContextSettings;
pub use sections::{
    AccountSettings, AiSettings, DEFAULT_DATABASE_URL, DatabaseSettings, GitHubSettings,
    ReviewSettings, ReviewerChoice, ServerSettings,
};

use crate::routes::webhooks::WEBHOOK_PATH;
use crate::workers::WorkerConfig;
use vars::{Vars, invalid};

/// `APP_ENV`: development (the default) or production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// A setting that is missing, malformed, or not allowed with the others.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {reason}")]
pub struct SettingsError {
    pub name: &'static str,
    pub reason: String,
}

/// Everything nectr reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub env: AppEnv,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub github: GitHubSettings,
    pub ai: AiSettings,
    pub review: ReviewSettings,
    pub queue: WorkerConfig,
    pub accounts: AccountSettings,
    pub context: ContextSettings,
}

fn app_env(vars: &Vars) -> Result<AppEnv, SettingsError> {
    match vars
        .get("APP_ENV")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("development" | "dev") => Ok(AppEnv::Development),
        Some("production" | "prod") => Ok(AppEnv::Production),
        Some(other) => Err(invalid(
            "APP_ENV",
            format!("expected development or production, got '{other}'"),
        )),
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads settings through `var`, so tests can supply their own environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let vars = Vars::new(&var);
        let env = app_env(&vars)?;
        Ok(Self {
            env,
            server: sections::server(&vars, env)?,
            database: sections::database(&vars)?,
            github: sections::github(&vars, env)?,
            ai: sections::ai(&vars)?,
            review: sections::review(&vars)?,
            queue: sections::queue(&vars)?,
            accounts: sections::accounts(&vars, env)?,
            context: context::context(&vars)?,
        })
    }

    /// The configured reviewer, as parallel agents when `PARALLEL_REVIEW_AGENTS` is on.
    pub fn build_reviewer(&self) -> Result<Arc<dyn Reviewer>, domain::review::ReviewError> {
        let reviewer: Arc<dyn Reviewer> = match &self.ai.reviewer {
            ReviewerChoice::Builtin => Arc::new(adapters_ai::BuiltinReviewer),
            ReviewerChoice::Anthropic(config) => {
                Arc::new(adapters_ai::AnthropicReviewer::new(config.clone())?)
            }
            ReviewerChoice::OpenAi(config) => {
                Arc::new(adapters_ai::OpenAiReviewer::new(config.clone())?)
            }
        };
        Ok(if self.ai.parallel_agents {
            Arc::new(domain::review::agents::ParallelAgents::new(reviewer))
        } else {
            reviewer
        })
    }

    /// Where GitHub is and how nectr authenticates to it.
    pub fn github_config(&self) -> adapters_github::GitHubConfig {
        let github = &self.github;
        adapters_github::GitHubConfig {
            api_url: github.api_url.clone(),
            oauth_url: github.oauth_url.clone(),
            pat: github
                .pat
                .as_ref()
                .map(|t| AccessToken::new(t.expose_secret())),
            client_id: github.client_id.clone(),
            client_secret: github.client_secret.clone(),
            ..adapters_github::GitHubConfig::default()
        }
    }

    /// The URL GitHub delivers webhooks to: `BACKEND_URL` + the webhook path.
    pub fn webhook_url(&self) -> Option<String> {
        let base = self.server.backend_url.as_ref()?;
        Some(format!("{base}{WEBHOOK_PATH}"))
    }

    /// Where GitHub sends the browser back after sign-in: `BACKEND_URL/auth/github/callback`.
    pub fn callback_url(&self) -> Option<String> {
        let base = self.server.backend_url.as_ref()?;
        Some(format!("{base}/auth/github/callback"))
    }

    /// The rules deliveries are judged by.
    pub fn ingest_policy(&self) -> IngestPolicy {
        IngestPolicy {
            global_secret: self
                .github
                .webhook_secret
                .as_ref()
                .and_then(|s| WebhookSecret::parse(s.expose_secret()).ok()),
            allow_unsigned: self.github.allow_unsigned_webhooks,
            triggers: ReviewTriggers {
                reopened: self.review.on_reopened,
                ready_for_review: self.review.on_ready_for_review,
            },
            ..IngestPolicy::default()
        }
    }
}

#[cfg(test)]
mod tests;
