//! Typed settings from environment variables, validated once at start-up.

use std::fmt;
use std::time::Duration;

use domain::codehost::AccessToken;
use domain::webhook::event::ReviewTriggers;
use domain::webhook::ingest::IngestPolicy;
use domain::webhook::values::WebhookSecret;
use secrecy::{ExposeSecret, SecretString};

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

fn invalid(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        name,
        reason: reason.into(),
    }
}

/// Everything nectr reads from its environment. Secrets are `SecretString`s: their `Debug` is redacted.
#[derive(Clone)]
pub struct Settings {
    pub env: AppEnv,
    pub host: String,
    pub port: u16,
    pub database_url: SecretString,
    pub github_webhook_secret: Option<SecretString>,
    /// Development only: accept unsigned deliveries when no secret applies. Refused in production.
    pub allow_unsigned_webhooks: bool,
    pub review_on_reopened: bool,
    pub review_on_ready_for_review: bool,
    /// `LOG_FORMAT`: `json` or `pretty`; JSON by default in production.
    pub log_json: bool,
    /// `GITHUB_API_URL`: GitHub's REST API (GitHub Enterprise Server: `https://HOST/api/v3`).
    pub github_api_url: String,
    /// `GITHUB_OAUTH_URL`: where GitHub's OAuth pages live (`https://HOST` for Enterprise Server).
    pub github_oauth_url: String,
    /// `GITHUB_PAT`: the token used when a call has no user's token.
    pub github_pat: Option<SecretString>,
    pub github_client_id: Option<String>,
    pub github_client_secret: Option<SecretString>,
    /// `BACKEND_URL`: nectr's public URL, which webhooks are pointed at.
    pub backend_url: Option<String>,
    /// Whether `serve` runs review workers beside the HTTP server (`serve --no-workers` turns it off).
    pub run_workers: bool,
    /// `AI_PROVIDER`: which reviewer reviews.
    pub reviewer: ReviewerChoice,
    /// `PARALLEL_REVIEW_AGENTS`: security, correctness/performance and maintainability reviews run
    /// concurrently and are merged.
    pub parallel_agents: bool,
    /// `REVIEW_CHUNK_TOKENS` and `REVIEW_MAX_CHUNKS`.
    pub review_budget: domain::review::budget::Budget,
    /// `SESSION_KEY`: signs session cookies (at least 32 characters). Required in production; in
    /// development a generated one is kept beside the database.
    pub session_key: Option<SecretString>,
    /// `ENCRYPTION_KEYS`: `id:base64key[,id:base64key…]`, newest first; seals access tokens and
    /// webhook secrets. Required in production; in development a generated one is kept beside the
    /// database.
    pub encryption_keys: Option<SecretString>,
    /// `WEBHOOK_SECRET_GRACE_SECONDS`: how long a rotated-out webhook secret is still accepted.
    pub secret_grace: Duration,
    /// `SESSION_TTL_HOURS`: how long a sign-in lasts.
    pub session_ttl: Duration,
    /// `FRONTEND_URL`: where sign-in returns to (default: `/auth/me`).
    pub frontend_url: Option<String>,
    pub workers: crate::workers::WorkerConfig,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("env", &self.env)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database_url", &"[REDACTED]")
            .field(
                "github_webhook_secret",
                &self.github_webhook_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("allow_unsigned_webhooks", &self.allow_unsigned_webhooks)
            .field("review_on_reopened", &self.review_on_reopened)
            .field(
                "review_on_ready_for_review",
                &self.review_on_ready_for_review,
            )
            .field("log_json", &self.log_json)
            .field("github_api_url", &self.github_api_url)
            .field("github_oauth_url", &self.github_oauth_url)
            .field(
                "github_pat",
                &self.github_pat.as_ref().map(|_| "[REDACTED]"),
            )
            .field("github_client_id", &self.github_client_id)
            .field(
                "github_client_secret",
                &self.github_client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("backend_url", &self.backend_url)
            .field("run_workers", &self.run_workers)
            .field("reviewer", &self.reviewer)
            .field("parallel_agents", &self.parallel_agents)
            .field("review_budget", &self.review_budget)
            .field(
                "session_key",
                &self.session_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field(
                "encryption_keys",
                &self.encryption_keys.as_ref().map(|_| "[REDACTED]"),
            )
            .field("secret_grace", &self.secret_grace)
            .field("session_ttl", &self.session_ttl)
            .field("frontend_url", &self.frontend_url)
            .field("workers", &self.workers)
            .finish()
    }
}

/// `AI_PROVIDER`: `builtin` (the default; offline), `anthropic` or `openai` (with their settings).
#[derive(Clone)]
pub enum ReviewerChoice {
    Builtin,
    Anthropic(adapters_ai::AnthropicConfig),
    OpenAi(adapters_ai::OpenAiConfig),
}

impl fmt::Debug for ReviewerChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin => f.write_str("Builtin"),
            Self::Anthropic(c) => {
                write!(f, "Anthropic(model={}, base_url={})", c.model, c.base_url)
            }
            Self::OpenAi(c) => {
                write!(f, "OpenAi(model={}, base_url={})", c.model, c.base_url)
            }
        }
    }
}

impl ReviewerChoice {
    /// The configured reviewer.
    pub fn build(
        &self,
    ) -> Result<std::sync::Arc<dyn domain::review::Reviewer>, domain::review::ReviewError> {
        Ok(match self {
            Self::Builtin => std::sync::Arc::new(adapters_ai::BuiltinReviewer),
            Self::Anthropic(config) => {
                std::sync::Arc::new(adapters_ai::AnthropicReviewer::new(config.clone())?)
            }
            Self::OpenAi(config) => {
                std::sync::Arc::new(adapters_ai::OpenAiReviewer::new(config.clone())?)
            }
        })
    }
}

impl Settings {
    /// The configured reviewer, as parallel agents when `PARALLEL_REVIEW_AGENTS` is on.
    pub fn build_reviewer(
        &self,
    ) -> Result<std::sync::Arc<dyn domain::review::Reviewer>, domain::review::ReviewError> {
        let reviewer = self.reviewer.build()?;
        Ok(if self.parallel_agents {
            std::sync::Arc::new(domain::review::agents::ParallelAgents::new(reviewer))
        } else {
            reviewer
        })
    }
}

/// The SQLite file used when `DATABASE_URL` is not set: `nectr.db` in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://nectr.db";

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads settings through `var`, so tests can supply their own environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let flag = |name: &'static str| -> Result<bool, SettingsError> {
            match get(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("false" | "0" | "no" | "off") => Ok(false),
                Some("true" | "1" | "yes" | "on") => Ok(true),
                Some(other) => Err(invalid(
                    name,
                    format!("expected true or false, got '{other}'"),
                )),
            }
        };
        let env = match get("APP_ENV")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("development" | "dev") => AppEnv::Development,
            Some("production" | "prod") => AppEnv::Production,
            Some(other) => {
                return Err(invalid(
                    "APP_ENV",
                    format!("expected development or production, got '{other}'"),
                ));
            }
        };
        let port = match get("PORT") {
            None => 8000,
            Some(p) => p
                .parse()
                .map_err(|_| invalid("PORT", format!("expected a port number, got '{p}'")))?,
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| database_url.starts_with(p))
        {
            return Err(invalid(
                "DATABASE_URL",
                "expected a sqlite: or postgres:// URL",
            ));
        }
        let github_webhook_secret = get("GITHUB_WEBHOOK_SECRET");
        if let Some(secret) = &github_webhook_secret {
            WebhookSecret::parse(secret)
                .map_err(|e| invalid("GITHUB_WEBHOOK_SECRET", e.to_string()))?;
            if env == AppEnv::Production && secret.len() < 16 {
                return Err(invalid(
                    "GITHUB_WEBHOOK_SECRET",
                    "must be at least 16 characters in production",
                ));
            }
        }
        let allow_unsigned_webhooks = flag("ALLOW_UNSIGNED_WEBHOOKS")?;
        if allow_unsigned_webhooks && env == AppEnv::Production {
            return Err(invalid(
                "ALLOW_UNSIGNED_WEBHOOKS",
                "is refused in production: every delivery must be signed",
            ));
        }
        let log_json = match get("LOG_FORMAT").as_deref() {
            None => env == AppEnv::Production,
            Some("json") => true,
            Some("pretty") => false,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("expected json or pretty, got '{other}'"),
                ));
            }
        };
        let url =
            |name: &'static str, default: Option<&str>| -> Result<Option<String>, SettingsError> {
                match get(name).or_else(|| default.map(str::to_owned)) {
                    None => Ok(None),
                    Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                        Ok(Some(u.trim_end_matches('/').to_owned()))
                    }
                    Some(u) => Err(invalid(
                        name,
                        format!("expected an http(s):// URL, got '{u}'"),
                    )),
                }
            };
        let github_api_url =
            url("GITHUB_API_URL", Some("https://api.github.com"))?.unwrap_or_default();
        let github_oauth_url =
            url("GITHUB_OAUTH_URL", Some("https://github.com"))?.unwrap_or_default();
        let backend_url = url("BACKEND_URL", None)?;
        let number = |name: &'static str, default: u64, min: u64| -> Result<u64, SettingsError> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n >= min => Ok(n),
                    _ => Err(invalid(
                        name,
                        format!("expected a whole number of at least {min}, got '{v}'"),
                    )),
                },
            }
        };
        let workers = crate::workers::WorkerConfig {
            workers: usize::try_from(number("WORKERS", 2, 1)?).unwrap_or(2),
            lease: Duration::from_secs(number("LEASE_SECONDS", 60, 3)?),
            poll_interval: Duration::from_millis(number("POLL_INTERVAL_MS", 1000, 10)?),
            grace: Duration::from_secs(number("SHUTDOWN_GRACE_SECONDS", 30, 0)?),
            retry: domain::queue::RetryPolicy {
                max_attempts: u32::try_from(number("MAX_ATTEMPTS", 5, 1)?).unwrap_or(5),
                ..domain::queue::RetryPolicy::default()
            },
        };
        let reviewer = match get("AI_PROVIDER")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("builtin") => ReviewerChoice::Builtin,
            Some("anthropic") => {
                let api_key = get("ANTHROPIC_API_KEY").ok_or_else(|| {
                    invalid(
                        "ANTHROPIC_API_KEY",
                        "is required when AI_PROVIDER=anthropic",
                    )
                })?;
                ReviewerChoice::Anthropic(adapters_ai::AnthropicConfig {
                    base_url: url("ANTHROPIC_BASE_URL", Some("https://api.anthropic.com"))?
                        .unwrap_or_default(),
                    api_key: SecretString::from(api_key),
                    model: get("ANTHROPIC_MODEL").unwrap_or_else(|| "claude-sonnet-4-6".to_owned()),
                    max_tokens: u32::try_from(number("ANTHROPIC_MAX_TOKENS", 4096, 256)?)
                        .unwrap_or(4096),
                    timeout: Duration::from_secs(120),
                })
            }
            Some("openai") => ReviewerChoice::OpenAi(adapters_ai::OpenAiConfig {
                base_url: url("OPENAI_BASE_URL", Some("https://api.openai.com/v1"))?
                    .unwrap_or_default(),
                api_key: get("OPENAI_API_KEY")
                    .filter(|k| !k.is_empty())
                    .map(SecretString::from),
                model: get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4.1-mini".to_owned()),
                max_tokens: u32::try_from(number("OPENAI_MAX_TOKENS", 4096, 256)?).unwrap_or(4096),
                timeout: Duration::from_secs(number("OPENAI_TIMEOUT_SECONDS", 300, 1)?),
            }),
            Some(other) => {
                return Err(invalid(
                    "AI_PROVIDER",
                    format!("expected builtin, anthropic or openai, got '{other}'"),
                ));
            }
        };
        if let ReviewerChoice::OpenAi(config) = &reviewer
            && config.api_key.is_none()
            && config.base_url.starts_with("https://api.openai.com")
        {
            return Err(invalid(
                "OPENAI_API_KEY",
                "is required for api.openai.com (local servers set OPENAI_BASE_URL instead)",
            ));
        }
        let parallel_agents = flag("PARALLEL_REVIEW_AGENTS")?;
        let review_budget = domain::review::budget::Budget {
            chunk_tokens: usize::try_from(number("REVIEW_CHUNK_TOKENS", 24_000, 500)?)
                .unwrap_or(24_000),
            max_chunks: usize::try_from(number("REVIEW_MAX_CHUNKS", 8, 1)?).unwrap_or(8),
        };
        let session_key = get("SESSION_KEY").filter(|k| !k.is_empty());
        if let Some(key) = &session_key
            && key.len() < 32
        {
            return Err(invalid(
                "SESSION_KEY",
                "must be at least 32 characters (e.g. `openssl rand -base64 48`)",
            ));
        }
        let encryption_keys = get("ENCRYPTION_KEYS").filter(|k| !k.is_empty());
        if let Some(keys) = &encryption_keys {
            domain::accounts::crypto::Keyring::parse(keys)
                .map_err(|e| invalid("ENCRYPTION_KEYS", e.to_string()))?;
        }
        if env == AppEnv::Production {
            if session_key.is_none() {
                return Err(invalid(
                    "SESSION_KEY",
                    "is required in production (at least 32 random characters)",
                ));
            }
            if encryption_keys.is_none() {
                return Err(invalid(
                    "ENCRYPTION_KEYS",
                    "is required in production (`app-server keygen` prints one)",
                ));
            }
        }
        let frontend_url = url("FRONTEND_URL", None)?;
        Ok(Self {
            reviewer,
            parallel_agents,
            review_budget,
            session_key: session_key.map(SecretString::from),
            encryption_keys: encryption_keys.map(SecretString::from),
            secret_grace: Duration::from_secs(number("WEBHOOK_SECRET_GRACE_SECONDS", 3600, 0)?),
            session_ttl: Duration::from_secs(3600 * number("SESSION_TTL_HOURS", 168, 1)?),
            frontend_url,
            run_workers: true,
            workers,
            github_api_url,
            github_oauth_url,
            github_pat: get("GITHUB_PAT").map(SecretString::from),
            github_client_id: get("GITHUB_CLIENT_ID"),
            github_client_secret: get("GITHUB_CLIENT_SECRET").map(SecretString::from),
            backend_url,
            env,
            host: get("HOST").unwrap_or_else(|| "127.0.0.1".to_owned()),
            port,
            database_url: SecretString::from(database_url),
            github_webhook_secret: github_webhook_secret.map(SecretString::from),
            allow_unsigned_webhooks,
            review_on_reopened: flag("REVIEW_ON_REOPENED")?,
            review_on_ready_for_review: flag("REVIEW_ON_READY_FOR_REVIEW")?,
            log_json,
        })
    }

    /// Where GitHub is and how nectr authenticates to it.
    pub fn github_config(&self) -> adapters_github::GitHubConfig {
        adapters_github::GitHubConfig {
            api_url: self.github_api_url.clone(),
            oauth_url: self.github_oauth_url.clone(),
            pat: self
                .github_pat
                .as_ref()
                .map(|t| AccessToken::new(t.expose_secret())),
            client_id: self.github_client_id.clone(),
            client_secret: self.github_client_secret.clone(),
            ..adapters_github::GitHubConfig::default()
        }
    }

    /// The URL GitHub delivers webhooks to: `BACKEND_URL` + `/api/v1/webhooks/github`.
    pub fn webhook_url(&self) -> Option<String> {
        self.backend_url
            .as_ref()
            .map(|base| format!("{base}/api/v1/webhooks/github"))
    }

    /// The rules deliveries are judged by.
    pub fn ingest_policy(&self) -> IngestPolicy {
        IngestPolicy {
            global_secret: self
                .github_webhook_secret
                .as_ref()
                .and_then(|s| WebhookSecret::parse(s.expose_secret()).ok()),
            allow_unsigned: self.allow_unsigned_webhooks,
            triggers: ReviewTriggers {
                reopened: self.review_on_reopened,
                ready_for_review: self.review_on_ready_for_review,
            },
            ..IngestPolicy::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_gives_a_development_server_on_sqlite() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.env, AppEnv::Development);
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8000));
        assert_eq!(s.database_url.expose_secret(), DEFAULT_DATABASE_URL);
        assert!(!s.allow_unsigned_webhooks && !s.log_json);
        assert!(s.ingest_policy().global_secret.is_none());
    }

    #[test]
    fn production_refuses_unsigned_webhooks_and_weak_secrets() {
        let err = settings(&[
            ("APP_ENV", "production"),
            ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "ALLOW_UNSIGNED_WEBHOOKS");
        let err = settings(&[
            ("APP_ENV", "production"),
            ("GITHUB_WEBHOOK_SECRET", "short"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "GITHUB_WEBHOOK_SECRET");
        assert!(
            settings(&[("ALLOW_UNSIGNED_WEBHOOKS", "true")])
                .unwrap()
                .allow_unsigned_webhooks
        );
        assert!(
            settings(&[("APP_ENV", "production"), SESSION, KEYS])
                .unwrap()
                .log_json
        );
    }

    const SESSION: (&str, &str) = ("SESSION_KEY", "0123456789abcdef0123456789abcdef");
    const KEYS: (&str, &str) = (
        "ENCRYPTION_KEYS",
        "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    );

    #[test]
    fn production_refuses_to_start_without_strong_session_and_encryption_keys() {
        let prod = ("APP_ENV", "production");
        assert_eq!(settings(&[prod, KEYS]).unwrap_err().name, "SESSION_KEY");
        assert_eq!(
            settings(&[prod, SESSION]).unwrap_err().name,
            "ENCRYPTION_KEYS"
        );
        assert_eq!(
            settings(&[prod, KEYS, ("SESSION_KEY", "short")])
                .unwrap_err()
                .name,
            "SESSION_KEY"
        );
        assert_eq!(
            settings(&[prod, SESSION, ("ENCRYPTION_KEYS", "k1:c2hvcnQ=")])
                .unwrap_err()
                .name,
            "ENCRYPTION_KEYS",
            "a 5-byte key"
        );
        let s = settings(&[prod, SESSION, KEYS]).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("0123456789abcdef") && !shown.contains("AAECAwQF"));
        assert!(
            settings(&[]).unwrap().session_key.is_none(),
            "development generates its own"
        );
    }

    #[test]
    fn malformed_values_are_named() {
        for (name, value) in [
            ("PORT", "eighty"),
            ("APP_ENV", "staging"),
            ("DATABASE_URL", "mysql://x"),
            ("REVIEW_ON_REOPENED", "maybe"),
            ("WORKERS", "0"),
            ("MAX_ATTEMPTS", "many"),
            ("LEASE_SECONDS", "1"),
        ] {
            assert_eq!(settings(&[(name, value)]).unwrap_err().name, name);
        }
    }

    #[test]
    fn github_urls_default_to_github_com_and_may_point_elsewhere() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            (s.github_api_url.as_str(), s.github_oauth_url.as_str()),
            ("https://api.github.com", "https://github.com")
        );
        assert_eq!(s.webhook_url(), None);
        let s = settings(&[
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
            ("GITHUB_OAUTH_URL", "https://ghe.example.com"),
            ("BACKEND_URL", "https://nectr.example.com/"),
            ("GITHUB_PAT", "ghp_x"),
        ])
        .unwrap();
        let config = s.github_config();
        assert_eq!(config.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(config.pat.unwrap().expose(), "ghp_x");
        assert_eq!(
            s.webhook_url().as_deref(),
            Some("https://nectr.example.com/api/v1/webhooks/github")
        );
        assert_eq!(
            settings(&[("GITHUB_API_URL", "api.github.com")])
                .unwrap_err()
                .name,
            "GITHUB_API_URL"
        );
    }

    #[test]
    fn the_reviewer_is_builtin_unless_anthropic_is_configured() {
        assert!(matches!(
            settings(&[]).unwrap().reviewer,
            ReviewerChoice::Builtin
        ));
        assert_eq!(
            settings(&[("AI_PROVIDER", "anthropic")]).unwrap_err().name,
            "ANTHROPIC_API_KEY"
        );
        let s = settings(&[
            ("AI_PROVIDER", "anthropic"),
            ("ANTHROPIC_API_KEY", "sk-ant-secret"),
            ("ANTHROPIC_MODEL", "m"),
        ])
        .unwrap();
        let ReviewerChoice::Anthropic(config) = &s.reviewer else {
            panic!("anthropic expected")
        };
        assert_eq!(
            (config.model.as_str(), config.base_url.as_str()),
            ("m", "https://api.anthropic.com")
        );
        assert!(!format!("{s:?}").contains("sk-ant-secret"));
        assert_eq!(
            settings(&[("AI_PROVIDER", "openai")]).unwrap_err().name,
            "OPENAI_API_KEY",
            "OpenAI itself needs a key"
        );
        let s = settings(&[
            ("AI_PROVIDER", "openai"),
            ("OPENAI_BASE_URL", "http://localhost:11434/v1/"),
            ("OPENAI_MODEL", "qwen2.5-coder"),
        ])
        .unwrap();
        let ReviewerChoice::OpenAi(config) = &s.reviewer else {
            panic!("openai expected")
        };
        assert_eq!(
            (config.base_url.as_str(), config.api_key.is_none()),
            ("http://localhost:11434/v1", true),
            "a local server needs no key"
        );
        assert_eq!(
            settings(&[("AI_PROVIDER", "gemini")]).unwrap_err().name,
            "AI_PROVIDER"
        );
    }

    #[test]
    fn parallel_agents_and_the_review_budget_are_settings() {
        let s = settings(&[]).unwrap();
        assert!(!s.parallel_agents);
        assert_eq!(s.review_budget, domain::review::budget::Budget::default());
        let s = settings(&[
            ("PARALLEL_REVIEW_AGENTS", "true"),
            ("REVIEW_CHUNK_TOKENS", "8000"),
            ("REVIEW_MAX_CHUNKS", "3"),
        ])
        .unwrap();
        assert!(s.parallel_agents);
        assert_eq!(
            (s.review_budget.chunk_tokens, s.review_budget.max_chunks),
            (8000, 3)
        );
        assert_eq!(
            settings(&[("REVIEW_MAX_CHUNKS", "0")]).unwrap_err().name,
            "REVIEW_MAX_CHUNKS"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = settings(&[
            ("GITHUB_WEBHOOK_SECRET", "very-secret-value"),
            ("DATABASE_URL", "postgres://u:pw@h/db"),
            ("GITHUB_PAT", "ghp_secretpat"),
            ("GITHUB_CLIENT_SECRET", "oauth-client-secret"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        for secret in [
            "very-secret-value",
            "pw@",
            "ghp_secretpat",
            "oauth-client-secret",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
