//! The team's controls on a review: the repository's `.nectr.toml` over its installation's defaults
//! (read from the base branch), pauses, costs and the monthly budget; the commit status and the
//! summary comment are in `status.rs`. Each is off unless [`ReviewControls`] turns it on, so an
//! embedder's review runs as before.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, TimeZone, Utc};

use crate::error::Result;
use crate::review::config::{CONFIG_FILE, ConfigError, RepoConfig, overlay, parse_table};
use crate::review::model::Usage;
use crate::review::prepare::Target;
use crate::review::service::{ReviewPullRequest, Stop, stop};
use crate::webhook::event::ReviewTriggers;
use crate::webhook::values::RepoFullName;

/// An installation's default `.nectr.toml` (its owner's policy), stored by nectr.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RepoDefaults: Send + Sync {
    /// The defaults' TOML text for `repository`, if its owner set any.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn defaults(&self, repository: &RepoFullName) -> Result<Option<String>>;
    /// Sets (or with `None` clears) them; `false` when the repository has no active installation.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn set_defaults(&self, repository: &RepoFullName, text: Option<String>) -> Result<bool>;
}

/// Pull requests whose automatic reviews are paused (`@nectr pause`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PauseStore: Send + Sync {
    /// Pauses automatic reviews of pull request `number` (again: nothing changes).
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn pause(
        &self,
        repository: &RepoFullName,
        number: u64,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Resumes them; `false` when they were not paused.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn resume(&self, repository: &RepoFullName, number: u64) -> Result<bool>;
    /// Who paused them, if they are paused.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn paused_by(&self, repository: &RepoFullName, number: u64) -> Result<Option<String>>;
}

/// What reviews cost, per repository and month.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds one review's tokens and cost to `repository`'s month starting at `month`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn add_usage(
        &self,
        repository: &RepoFullName,
        month: DateTime<Utc>,
        tokens: u64,
        usd: f64,
    ) -> Result<()>;
    /// `repository`'s tokens and cost in the month starting at `month`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn month_usage(
        &self,
        repository: &RepoFullName,
        month: DateTime<Utc>,
    ) -> Result<(u64, f64)>;
    /// `repository`'s months, newest first, at most `limit`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn months(&self, repository: &RepoFullName, limit: u64) -> Result<Vec<MonthUsage>>;
}

/// What one repository's reviews cost in one month.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthUsage {
    /// `YYYY-MM`.
    pub month: String,
    pub reviews: u64,
    pub tokens: u64,
    pub usd: f64,
}

/// Dollars per million input and output tokens, per model (a model's name matches the longest
/// entry it starts with, so `gpt-4.1-mini-2025-04-14` is `gpt-4.1-mini`).
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable(pub Vec<(String, f64, f64)>);

impl Default for PriceTable {
    fn default() -> Self {
        Self(
            [
                ("claude-opus-4", 15.0, 75.0),
                ("claude-sonnet-4", 3.0, 15.0),
                ("claude-haiku-4", 1.0, 5.0),
                ("gpt-4.1-nano", 0.10, 0.40),
                ("gpt-4.1-mini", 0.40, 1.60),
                ("gpt-4.1", 2.0, 8.0),
                ("gpt-4o-mini", 0.15, 0.60),
                ("gpt-4o", 2.50, 10.0),
            ]
            .into_iter()
            .map(|(m, i, o)| (m.to_owned(), i, o))
            .collect(),
        )
    }
}

impl PriceTable {
    /// `model=in/out,…` (dollars per million tokens) over the defaults.
    ///
    /// # Errors
    /// A message naming the entry that does not read.
    pub fn parse_over_defaults(raw: &str) -> std::result::Result<Self, String> {
        let mut table = Self::default();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parsed = entry.split_once('=').and_then(|(model, prices)| {
                let (i, o) = prices.split_once('/')?;
                Some((
                    model.trim().to_owned(),
                    i.trim().parse().ok()?,
                    o.trim().parse().ok()?,
                ))
            });
            match parsed {
                Some((model, i, o)) if i >= 0.0 && o >= 0.0 && !model.is_empty() => {
                    table.0.retain(|(m, _, _)| *m != model);
                    table.0.push((model, i, o));
                }
                _ => {
                    return Err(format!(
                        "'{entry}' is not model=input/output dollars per million tokens"
                    ));
                }
            }
        }
        Ok(table)
    }

    /// What `usage` cost on `model`; `None` for a model the table does not know (and zero for
    /// the built-in reviewer, which uses no model).
    pub fn cost(&self, model: Option<&str>, usage: Usage) -> Option<f64> {
        let Some(model) = model else {
            return Some(0.0);
        };
        let (_, input, output) = self
            .0
            .iter()
            .filter(|(m, _, _)| model.starts_with(m.as_str()))
            .max_by_key(|(m, _, _)| m.len())?;
        Some((usage.input_tokens as f64 * input + usage.output_tokens as f64 * output) / 1e6)
    }
}

/// The first instant of `at`'s month (UTC).
pub fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(at)
}

/// Which controls a review applies.
#[derive(Clone, Default)]
pub struct ReviewControls {
    /// Read `.nectr.toml` (and the installation's defaults, when a store is given).
    pub config: bool,
    pub defaults: Option<Arc<dyn RepoDefaults>>,
    /// The server's own triggers: `review.on` and `review.drafts` can narrow them, not widen them.
    pub triggers: ReviewTriggers,
    /// Set the `nectr/review` commit status.
    pub statuses: bool,
    /// Where a status links: the event's page is `{status_url}/{event_id}`.
    pub status_url: Option<String>,
    /// Attempts before the queue fails an event: the last failing one sets the `error` status.
    pub max_attempts: u32,
    /// Keep one summary comment per pull request, edited on every review.
    pub summary: bool,
    pub prices: PriceTable,
    /// Record each review's cost, and skip reviews over the `[budget]`.
    pub usage: Option<Arc<dyn UsageStore>>,
    /// Pull requests paused by `@nectr pause`: their automatic reviews are skipped.
    pub pauses: Option<Arc<dyn PauseStore>>,
}

impl std::fmt::Debug for ReviewControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewControls")
            .field("config", &self.config)
            .field("statuses", &self.statuses)
            .field("summary", &self.summary)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

/// The configuration a review runs with.
#[derive(Debug, Clone, Default)]
pub(super) struct Loaded {
    pub config: RepoConfig,
    /// The file did not parse: the defaults applied.
    pub error: Option<ConfigError>,
    /// Whether the configuration is read at all (else nothing is skipped or filtered by it).
    pub applies: bool,
}

impl Loaded {
    /// The lines the review body lists under "Configuration", if any.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(e) = &self.error {
            notes.push(format!("{e}; the defaults applied"));
        }
        notes.extend(self.config.warnings.iter().cloned());
        notes
    }
}

impl ReviewPullRequest {
    /// `.nectr.toml` from the base commit over the installation's defaults; a missing file is the
    /// defaults, a file that does not parse is the defaults and an error.
    pub(super) async fn load_config(&self, target: &Target) -> std::result::Result<Loaded, Stop> {
        let controls = &self.controls;
        if !controls.config {
            return Ok(Loaded::default());
        }
        let mut warnings = Vec::new();
        let mut table = toml::Table::new();
        if let Some(store) = &controls.defaults {
            match store.defaults(&target.repo).await {
                Ok(Some(text)) => match parse_table("the installation's defaults", &text) {
                    Ok(defaults) => table = defaults,
                    Err(e) => warnings.push(format!("{e}; they are ignored")),
                },
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "installation defaults unavailable");
                    warnings.push("the installation's defaults could not be read".into());
                }
            }
        }
        let pr = &target.pr;
        let base = if pr.base_sha.is_empty() {
            &pr.base_ref
        } else {
            &pr.base_sha
        };
        let mut error = None;
        match self
            .code_host
            .file_content(target.token.clone(), &target.repo, CONFIG_FILE, base)
            .await
        {
            Ok(file) => {
                let text = String::from_utf8_lossy(&file.bytes);
                match parse_table(CONFIG_FILE, &text) {
                    Ok(own) => table = overlay(table, own),
                    Err(e) => error = Some(e),
                }
            }
            Err(e) if e.is_retryable() => return Err(stop(e)),
            Err(_) => {}
        }
        let mut config = RepoConfig::from_table(&table);
        warnings.append(&mut config.warnings);
        let triggers = controls.triggers;
        // Without `review.on`, every action this server queues is reviewed.
        let on_set = table
            .get("review")
            .and_then(|r| r.as_table())
            .is_some_and(|r| r.contains_key("on"));
        if !on_set {
            config.on = ["opened", "synchronize"]
                .into_iter()
                .chain(triggers.reopened.then_some("reopened"))
                .chain(triggers.ready_for_review.then_some("ready_for_review"))
                .map(str::to_owned)
                .collect();
        }
        for (action, admitted, setting) in [
            ("reopened", triggers.reopened, "REVIEW_ON_REOPENED"),
            (
                "ready_for_review",
                triggers.ready_for_review,
                "REVIEW_ON_READY_FOR_REVIEW",
            ),
        ] {
            if !admitted && config.on.iter().any(|a| a == action) {
                warnings.push(format!(
                    "`review.on`: this server does not queue `{action}` deliveries ({setting} is off); ask its operator"
                ));
            }
        }
        if config.drafts {
            warnings.push(
                "`review.drafts`: this server does not queue drafts; they are reviewed when marked ready"
                    .into(),
            );
        }
        config.warnings = warnings;
        Ok(Loaded {
            config,
            error,
            applies: true,
        })
    }

    /// Who paused the pull request's automatic reviews, if anyone did (a store that fails pauses
    /// nothing).
    pub(super) async fn paused_by(&self, target: &Target) -> Option<String> {
        let pauses = self.controls.pauses.as_ref()?;
        match pauses.paused_by(&target.repo, target.pr.number).await {
            Ok(by) => by,
            Err(e) => {
                tracing::warn!(error = %e, "pauses unavailable; reviewing");
                None
            }
        }
    }

    /// The repository's spend this month, when a budget applies and is spent: why to skip.
    pub(super) async fn budget_spent(
        &self,
        target: &Target,
        config: &RepoConfig,
    ) -> Option<String> {
        let usage = self.controls.usage.as_ref()?;
        if config.monthly_tokens.is_none() && config.monthly_usd.is_none() {
            return None;
        }
        let (tokens, usd) = match usage
            .month_usage(&target.repo, month_start(Utc::now()))
            .await
        {
            Ok(spent) => spent,
            Err(e) => {
                tracing::warn!(error = %e, "usage unavailable; the budget is not checked");
                return None;
            }
        };
        let over_tokens = config.monthly_tokens.is_some_and(|max| tokens >= max);
        let over_usd = config.monthly_usd.is_some_and(|max| usd >= max);
        (over_tokens || over_usd).then(|| "budget exhausted".to_owned())
    }

    /// Records what the review cost; returns the cost when the model's price is known.
    pub(super) async fn record_usage(
        &self,
        repo: &RepoFullName,
        model: Option<&str>,
        usage: Usage,
    ) -> Option<f64> {
        let cost = self.controls.prices.cost(model, usage);
        if let Some(store) = &self.controls.usage {
            let tokens = usage.input_tokens + usage.output_tokens;
            if let Err(e) = store
                .add_usage(repo, month_start(Utc::now()), tokens, cost.unwrap_or(0.0))
                .await
            {
                tracing::warn!(error = %e, "could not record the review's usage");
            }
        }
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_match_the_longest_model_prefix_and_can_be_overridden() {
        let table = PriceTable::default();
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
        };
        assert_eq!(
            table.cost(Some("gpt-4.1-mini-2025-04-14"), usage),
            Some(2.0)
        );
        assert_eq!(table.cost(Some("gpt-4.1-2025-04-14"), usage), Some(10.0));
        assert_eq!(table.cost(Some("my-local-model"), usage), None);
        assert_eq!(table.cost(None, usage), Some(0.0));
        let mine = PriceTable::parse_over_defaults("my-local-model=0/0, gpt-4.1=1/2").unwrap();
        assert_eq!(mine.cost(Some("my-local-model"), usage), Some(0.0));
        assert_eq!(mine.cost(Some("gpt-4.1"), usage), Some(3.0));
        assert!(PriceTable::parse_over_defaults("x=1").is_err());
    }

    #[test]
    fn a_month_starts_on_its_first_day_at_midnight() {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 5, 30, 0).unwrap();
        assert_eq!(
            month_start(at),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
    }
}
