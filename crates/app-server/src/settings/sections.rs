//! The settings sections, each parsed and validated by its own function.

use std::fmt;
use std::time::Duration;

use domain::review::budget::Budget;
use domain::webhook::retention::RetentionPolicy;
use domain::webhook::values::WebhookSecret;
use secrecy::SecretString;

use super::vars::{Vars, invalid};
use super::{AppEnv, SettingsError};
use crate::workers::WorkerConfig;

/// Where nectr listens, how it logs, and where it is reached from outside.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `HOST` (default `127.0.0.1`) and `PORT` (default 8000; 0 picks a free one).
    pub host: String,
    pub port: u16,
    /// `LOG_FORMAT`: `json` or `pretty`; JSON by default in production.
    pub log_json: bool,
    /// `BACKEND_URL`: nectr's public URL, which webhooks and the sign-in callback point at.
    pub backend_url: Option<String>,
    /// `FRONTEND_URL`: where sign-in returns to (default: `/auth/me`).
    pub frontend_url: Option<String>,
    /// Whether `serve` runs review workers beside the HTTP server (`serve --no-workers` turns it off).
    pub run_workers: bool,
    /// `BODY_READ_TIMEOUT_SECONDS` (10): a webhook body not read whole by then is answered `408`.
    pub body_read_timeout: Duration,
    /// `MAX_BUFFERED_BODY_BYTES` (128 MiB): bytes buffered across all in-flight bodies; past it, new
    /// bodies are answered `503` with `Retry-After`.
    pub max_buffered_body_bytes: usize,
    /// `MAX_CONNECTIONS` (10,000): open connections at most, across the server's threads; more wait
    /// in the listen backlog.
    pub max_connections: usize,
    /// `METRICS_TOKEN`: when set, `GET /metrics` asks for it as a bearer token.
    pub metrics_token: Option<SecretString>,
}

pub(super) fn server(vars: &Vars, env: AppEnv) -> Result<ServerSettings, SettingsError> {
    let port = match vars.get("PORT") {
        None => 8000,
        Some(p) => p
            .parse()
            .map_err(|_| invalid("PORT", format!("expected a port number, got '{p}'")))?,
    };
    let log_json = match vars.get("LOG_FORMAT").as_deref() {
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
    Ok(ServerSettings {
        host: vars.get("HOST").unwrap_or_else(|| "127.0.0.1".to_owned()),
        port,
        log_json,
        backend_url: vars.url("BACKEND_URL", None)?,
        frontend_url: vars.url("FRONTEND_URL", None)?,
        run_workers: true,
        body_read_timeout: Duration::from_secs(vars.number("BODY_READ_TIMEOUT_SECONDS", 10, 1)?),
        max_buffered_body_bytes: vars.number_usize(
            "MAX_BUFFERED_BODY_BYTES",
            128 * 1024 * 1024,
            1024,
        )?,
        max_connections: vars.number_usize("MAX_CONNECTIONS", 10_000, 1)?,
        metrics_token: vars.get("METRICS_TOKEN").map(SecretString::from),
    })
}

/// The SQLite file used when `DATABASE_URL` is not set: `nectr.db` in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://nectr.db";

/// `DATABASE_URL`: `sqlite://path.db` (the default, `nectr.db`) or `postgres://…`.
#[derive(Clone)]
pub struct DatabaseSettings {
    pub url: SecretString,
    /// `STORE_TIMEOUT_MS` (2500): how long a request waits on the database before it is answered
    /// `503`, so an outage never holds a request past GitHub's 10 s.
    pub timeout: Duration,
    /// `DELIVERY_RETENTION_DAYS` (30) and `PAYLOAD_RETENTION_DAYS` (7); `0` keeps them forever.
    pub retention: RetentionPolicy,
    /// `RETENTION_INTERVAL_SECONDS` (3600): how often `serve` purges what is past retention.
    pub retention_interval: Duration,
    /// `WRITE_BATCH_MAX` (64), `WRITE_BATCH_WAIT_US` (0), `WRITE_BATCH_WRITERS` (1): the group
    /// commit deliveries and finished jobs are written through (docs/operations.md#group-commit).
    pub batching: adapters_db::WriteBatching,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DatabaseSettings {{ url: [REDACTED], timeout: {:?}, retention: {:?}, retention_interval: {:?}, batching: {:?} }}",
            self.timeout, self.retention, self.retention_interval, self.batching
        )
    }
}

pub(super) fn database(vars: &Vars) -> Result<DatabaseSettings, SettingsError> {
    let url = vars
        .get("DATABASE_URL")
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    if !["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|p| url.starts_with(p))
    {
        return Err(invalid(
            "DATABASE_URL",
            "expected a sqlite: or postgres:// URL",
        ));
    }
    let batching = adapters_db::WriteBatching {
        max_writes: vars.number_usize("WRITE_BATCH_MAX", 64, 1)?,
        max_wait: Duration::from_micros(vars.number("WRITE_BATCH_WAIT_US", 0, 0)?),
        writers: vars.number_usize("WRITE_BATCH_WRITERS", 1, 1)?,
    };
    // One statement inserts a batch's log rows: keep it well inside SQLite's bound parameters.
    if batching.max_writes > 1000 {
        return Err(invalid("WRITE_BATCH_MAX", "expected at most 1000"));
    }
    if batching.max_wait > Duration::from_millis(100) {
        return Err(invalid(
            "WRITE_BATCH_WAIT_US",
            "expected at most 100000 (100 ms): every delivery waits for it",
        ));
    }
    Ok(DatabaseSettings {
        url: SecretString::from(url),
        timeout: Duration::from_millis(vars.number("STORE_TIMEOUT_MS", 2500, 100)?),
        retention: RetentionPolicy {
            deliveries: days_kept(vars, "DELIVERY_RETENTION_DAYS", 30)?,
            payloads: days_kept(vars, "PAYLOAD_RETENTION_DAYS", 7)?,
        },
        retention_interval: Duration::from_secs(vars.number(
            "RETENTION_INTERVAL_SECONDS",
            3600,
            1,
        )?),
        batching,
    })
}

/// A number of days to keep something; `0` keeps it forever.
fn days_kept(
    vars: &Vars,
    name: &'static str,
    default: u64,
) -> Result<Option<chrono::Duration>, SettingsError> {
    // 100 years at most, so the cut-off is a representable date.
    match vars.number(name, default, 0)? {
        0 => Ok(None),
        days if days <= 36_500 => Ok(Some(chrono::Duration::days(days as i64))),
        _ => Err(invalid(
            name,
            "expected at most 36500 days (0 keeps forever)",
        )),
    }
}

/// Where GitHub is, who nectr is to it, and how its deliveries are verified.
#[derive(Clone)]
pub struct GitHubSettings {
    /// `GITHUB_API_URL`: GitHub's REST API (GitHub Enterprise Server: `https://HOST/api/v3`).
    pub api_url: String,
    /// `GITHUB_OAUTH_URL`: where GitHub's OAuth pages live (`https://HOST` for Enterprise Server).
    pub oauth_url: String,
    /// `GITHUB_PAT`: the token used when a call has no user's token.
    pub pat: Option<SecretString>,
    /// `GITHUB_CLIENT_ID` and `GITHUB_CLIENT_SECRET`: the OAuth app users sign in with.
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// `GITHUB_WEBHOOK_SECRET`: verifies deliveries of repositories without an installation.
    pub webhook_secret: Option<SecretString>,
    /// `ALLOW_UNSIGNED_WEBHOOKS`, development only: accept unsigned deliveries when no secret
    /// applies. Refused in production.
    pub allow_unsigned_webhooks: bool,
}

impl fmt::Debug for GitHubSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<SecretString>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("GitHubSettings")
            .field("api_url", &self.api_url)
            .field("oauth_url", &self.oauth_url)
            .field("pat", &hidden(&self.pat))
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("webhook_secret", &hidden(&self.webhook_secret))
            .field("allow_unsigned_webhooks", &self.allow_unsigned_webhooks)
            .finish()
    }
}

pub(super) fn github(vars: &Vars, env: AppEnv) -> Result<GitHubSettings, SettingsError> {
    let webhook_secret = vars.get("GITHUB_WEBHOOK_SECRET");
    if let Some(secret) = &webhook_secret {
        WebhookSecret::parse(secret)
            .map_err(|e| invalid("GITHUB_WEBHOOK_SECRET", e.to_string()))?;
        if env == AppEnv::Production && secret.len() < 16 {
            return Err(invalid(
                "GITHUB_WEBHOOK_SECRET",
                "must be at least 16 characters in production",
            ));
        }
    }
    let allow_unsigned_webhooks = vars.flag("ALLOW_UNSIGNED_WEBHOOKS")?;
    if allow_unsigned_webhooks && env == AppEnv::Production {
        return Err(invalid(
            "ALLOW_UNSIGNED_WEBHOOKS",
            "is refused in production: every delivery must be signed",
        ));
    }
    Ok(GitHubSettings {
        api_url: vars
            .url("GITHUB_API_URL", Some("https://api.github.com"))?
            .unwrap_or_default(),
        oauth_url: vars
            .url("GITHUB_OAUTH_URL", Some("https://github.com"))?
            .unwrap_or_default(),
        pat: vars.get("GITHUB_PAT").map(SecretString::from),
        client_id: vars.get("GITHUB_CLIENT_ID"),
        client_secret: vars.get("GITHUB_CLIENT_SECRET").map(SecretString::from),
        webhook_secret: webhook_secret.map(SecretString::from),
        allow_unsigned_webhooks,
    })
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

/// Which reviewer reviews.
#[derive(Debug, Clone)]
pub struct AiSettings {
    pub reviewer: ReviewerChoice,
    /// `PARALLEL_REVIEW_AGENTS`: security, correctness/performance and maintainability reviews run
    /// concurrently and are merged.
    pub parallel_agents: bool,
}

fn anthropic(vars: &Vars) -> Result<ReviewerChoice, SettingsError> {
    let api_key = vars.get("ANTHROPIC_API_KEY").ok_or_else(|| {
        invalid(
            "ANTHROPIC_API_KEY",
            "is required when AI_PROVIDER=anthropic",
        )
    })?;
    Ok(ReviewerChoice::Anthropic(adapters_ai::AnthropicConfig {
        base_url: vars
            .url("ANTHROPIC_BASE_URL", Some("https://api.anthropic.com"))?
            .unwrap_or_default(),
        api_key: SecretString::from(api_key),
        model: vars
            .get("ANTHROPIC_MODEL")
            .unwrap_or_else(|| "claude-sonnet-4-6".to_owned()),
        max_tokens: vars.number_u32("ANTHROPIC_MAX_TOKENS", 4096, 256)?,
        timeout: Duration::from_secs(120),
    }))
}

fn openai(vars: &Vars) -> Result<ReviewerChoice, SettingsError> {
    let config = adapters_ai::OpenAiConfig {
        base_url: vars
            .url("OPENAI_BASE_URL", Some("https://api.openai.com/v1"))?
            .unwrap_or_default(),
        api_key: vars.get("OPENAI_API_KEY").map(SecretString::from),
        model: vars
            .get("OPENAI_MODEL")
            .unwrap_or_else(|| "gpt-4.1-mini".to_owned()),
        max_tokens: vars.number_u32("OPENAI_MAX_TOKENS", 4096, 256)?,
        timeout: Duration::from_secs(vars.number("OPENAI_TIMEOUT_SECONDS", 300, 1)?),
        context_tokens: match vars.get("OPENAI_CONTEXT_TOKENS") {
            None => None,
            Some(_) => Some(vars.number_u32("OPENAI_CONTEXT_TOKENS", 0, 512)?),
        },
    };
    if config.api_key.is_none() && config.base_url.starts_with("https://api.openai.com") {
        return Err(invalid(
            "OPENAI_API_KEY",
            "is required for api.openai.com (local servers set OPENAI_BASE_URL instead)",
        ));
    }
    Ok(ReviewerChoice::OpenAi(config))
}

pub(super) fn ai(vars: &Vars) -> Result<AiSettings, SettingsError> {
    let reviewer = match vars
        .get("AI_PROVIDER")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("builtin") => ReviewerChoice::Builtin,
        Some("anthropic") => anthropic(vars)?,
        Some("openai") => openai(vars)?,
        Some(other) => {
            return Err(invalid(
                "AI_PROVIDER",
                format!("expected builtin, anthropic or openai, got '{other}'"),
            ));
        }
    };
    Ok(AiSettings {
        reviewer,
        parallel_agents: vars.flag("PARALLEL_REVIEW_AGENTS")?,
    })
}

/// What is reviewed, and how much of it.
#[derive(Debug, Clone)]
pub struct ReviewSettings {
    /// `REVIEW_ON_REOPENED` and `REVIEW_ON_READY_FOR_REVIEW`: actions that ask for a review besides
    /// `opened` and `synchronize`.
    pub on_reopened: bool,
    pub on_ready_for_review: bool,
    /// `REVIEW_CHUNK_TOKENS` and `REVIEW_MAX_CHUNKS`.
    pub budget: Budget,
    /// `GRAPH_TIMEOUT_MS` (2000): how long a review waits on the knowledge graph before it goes on
    /// without its context.
    pub graph_timeout: Duration,
    /// `GRAPH_URL` (with `GRAPH_USER`, `GRAPH_PASSWORD`, `GRAPH_DATABASE`): a Bolt server (Neo4j 5,
    /// Memgraph, ArcadeDB) to keep the knowledge graph in; nectr's own database when unset.
    pub graph_server: Option<adapters_graph::BoltConfig>,
}

pub(super) fn review(vars: &Vars) -> Result<ReviewSettings, SettingsError> {
    Ok(ReviewSettings {
        on_reopened: vars.flag("REVIEW_ON_REOPENED")?,
        on_ready_for_review: vars.flag("REVIEW_ON_READY_FOR_REVIEW")?,
        budget: Budget {
            chunk_tokens: vars.number_usize("REVIEW_CHUNK_TOKENS", 24_000, 500)?,
            max_chunks: vars.number_usize("REVIEW_MAX_CHUNKS", 8, 1)?,
        },
        graph_timeout: Duration::from_millis(vars.number("GRAPH_TIMEOUT_MS", 2000, 10)?),
        graph_server: graph_server(vars)?,
    })
}

/// `GRAPH_URL` and its credentials, when a graph database is used.
fn graph_server(vars: &Vars) -> Result<Option<adapters_graph::BoltConfig>, SettingsError> {
    let Some(url) = vars.get("GRAPH_URL") else {
        return Ok(None);
    };
    let address = ["bolt://", "neo4j://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .ok_or_else(|| {
            invalid(
                "GRAPH_URL",
                format!("expected bolt://host:port, got '{url}'"),
            )
        })?;
    if address.is_empty() {
        return Err(invalid("GRAPH_URL", "expected bolt://host:port"));
    }
    Ok(Some(adapters_graph::BoltConfig {
        url,
        user: vars.get("GRAPH_USER").unwrap_or_else(|| "neo4j".to_owned()),
        password: vars.get("GRAPH_PASSWORD").unwrap_or_default(),
        database: vars.get("GRAPH_DATABASE"),
    }))
}

/// `WORKERS`, `LEASE_SECONDS`, `POLL_INTERVAL_MS`, `SHUTDOWN_GRACE_SECONDS`, `MAX_ATTEMPTS`,
/// `CLAIM_BATCH`.
pub(super) fn queue(vars: &Vars) -> Result<WorkerConfig, SettingsError> {
    Ok(WorkerConfig {
        workers: vars.number_usize("WORKERS", 2, 1)?,
        lease: Duration::from_secs(vars.number("LEASE_SECONDS", 60, 3)?),
        poll_interval: Duration::from_millis(vars.number("POLL_INTERVAL_MS", 1000, 10)?),
        grace: Duration::from_secs(vars.number("SHUTDOWN_GRACE_SECONDS", 30, 0)?),
        retry: domain::queue::RetryPolicy {
            max_attempts: vars.number_u32("MAX_ATTEMPTS", 5, 1)?,
            ..domain::queue::RetryPolicy::default()
        },
        claim_batch: vars.number_usize("CLAIM_BATCH", 32, 1)?,
    })
}

/// Sessions, and the keys tokens and secrets are sealed with.
#[derive(Clone)]
pub struct AccountSettings {
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
}

impl fmt::Debug for AccountSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<SecretString>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("AccountSettings")
            .field("session_key", &hidden(&self.session_key))
            .field("encryption_keys", &hidden(&self.encryption_keys))
            .field("secret_grace", &self.secret_grace)
            .field("session_ttl", &self.session_ttl)
            .finish()
    }
}

pub(super) fn accounts(vars: &Vars, env: AppEnv) -> Result<AccountSettings, SettingsError> {
    let session_key = vars.get("SESSION_KEY");
    if let Some(key) = &session_key
        && key.len() < 32
    {
        return Err(invalid(
            "SESSION_KEY",
            "must be at least 32 characters (e.g. `openssl rand -base64 48`)",
        ));
    }
    let encryption_keys = vars.get("ENCRYPTION_KEYS");
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
    Ok(AccountSettings {
        session_key: session_key.map(SecretString::from),
        encryption_keys: encryption_keys.map(SecretString::from),
        secret_grace: Duration::from_secs(vars.number("WEBHOOK_SECRET_GRACE_SECONDS", 3600, 0)?),
        session_ttl: Duration::from_secs(
            vars.number("SESSION_TTL_HOURS", 168, 1)?
                .saturating_mul(3600),
        ),
    })
}
