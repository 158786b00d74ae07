//! The context section: project memory, Linear and Sentry, and model prices. All optional: without them reviews run
//! on the code alone (the project memory, in nectr's own database, is always on).

use std::collections::HashMap;
use std::time::Duration;

use adapters_ai::linear::DEFAULT_LINEAR_API_URL;
use adapters_ai::sentry::{DEFAULT_SENTRY_URL, parse_projects};
use adapters_ai::{LinearConfig, SentryConfig};
use domain::review::{AutoAccept, PriceTable};
use domain::webhook::values::WebhookSecret;
use secrecy::SecretString;

use super::SettingsError;
use super::vars::{Vars, invalid};

/// Where reviews' outside context comes from.
#[derive(Debug, Clone)]
pub struct ContextSettings {
    /// `MEMORY_AUTO_ACCEPT`: `*`, or `owner/repo,…` whose model-proposed memories are active at once
    /// (else `pending` until a person accepts them). Empty: none.
    pub auto_accept: AutoAccept,
    /// `LINEAR_API_KEY` (with `LINEAR_API_URL`): Linear issues the pull request refers to.
    pub linear: Option<LinearConfig>,
    /// `LINEAR_TEAM_KEYS=ENG,OPS`: which `KEY-123` identifiers are Linear references.
    pub linear_team_keys: Vec<String>,
    /// `LINEAR_WEBHOOK_SECRET`: verifies `POST /api/v1/webhooks/linear`; without it every
    /// delivery there is refused.
    pub linear_webhook_secret: Option<WebhookSecret>,
    /// `SENTRY_AUTH_TOKEN` with `SENTRY_ORG`, `SENTRY_PROJECTS` and `SENTRY_URL`.
    pub sentry: Option<SentryConfig>,
    /// `MODEL_PRICES=model=in/out,…` (dollars per million tokens) over the built-in table.
    pub prices: PriceTable,
}

fn team_keys(vars: &Vars) -> Result<Vec<String>, SettingsError> {
    let Some(raw) = vars.get("LINEAR_TEAM_KEYS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            let ok = k.len() <= 10
                && k.starts_with(|c: char| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphanumeric());
            ok.then(|| k.to_ascii_uppercase()).ok_or_else(|| {
                invalid(
                    "LINEAR_TEAM_KEYS",
                    format!("'{k}' is not a team key (letters and digits, e.g. ENG)"),
                )
            })
        })
        .collect()
}

fn sentry(vars: &Vars, timeout: Duration) -> Result<Option<SentryConfig>, SettingsError> {
    let Some(token) = vars.get("SENTRY_AUTH_TOKEN") else {
        return Ok(None);
    };
    let org = vars.get("SENTRY_ORG").ok_or_else(|| {
        invalid(
            "SENTRY_ORG",
            "is required with SENTRY_AUTH_TOKEN (the organization's slug)",
        )
    })?;
    let projects: HashMap<String, String> = match vars.get("SENTRY_PROJECTS") {
        Some(raw) => parse_projects(&raw).map_err(|e| invalid("SENTRY_PROJECTS", e))?,
        None => {
            return Err(invalid(
                "SENTRY_PROJECTS",
                "is required with SENTRY_AUTH_TOKEN: owner/repo=project-slug,…",
            ));
        }
    };
    Ok(Some(SentryConfig {
        url: vars
            .url("SENTRY_URL", Some(DEFAULT_SENTRY_URL))?
            .unwrap_or_default(),
        auth_token: SecretString::from(token),
        org,
        projects,
        timeout,
    }))
}

pub(super) fn context(vars: &Vars) -> Result<ContextSettings, SettingsError> {
    let timeout = Duration::from_millis(vars.number("CONTEXT_TIMEOUT_MS", 3000, 100)?);
    let linear = vars
        .get("LINEAR_API_KEY")
        .map(|key| -> Result<_, SettingsError> {
            Ok(LinearConfig {
                api_url: vars
                    .url("LINEAR_API_URL", Some(DEFAULT_LINEAR_API_URL))?
                    .unwrap_or_default(),
                api_key: SecretString::from(key),
                timeout,
            })
        });
    let linear_webhook_secret = match vars.get("LINEAR_WEBHOOK_SECRET") {
        None => None,
        Some(raw) => Some(
            WebhookSecret::parse(&raw)
                .map_err(|e| invalid("LINEAR_WEBHOOK_SECRET", e.to_string()))?,
        ),
    };
    Ok(ContextSettings {
        auto_accept: AutoAccept::parse(&vars.get("MEMORY_AUTO_ACCEPT").unwrap_or_default()),
        linear: linear.transpose()?,
        linear_team_keys: team_keys(vars)?,
        linear_webhook_secret,
        sentry: sentry(vars, timeout)?,
        prices: PriceTable::parse_over_defaults(&vars.get("MODEL_PRICES").unwrap_or_default())
            .map_err(|e| invalid("MODEL_PRICES", e))?,
    })
}
