//! Wiring of the project memory and the outside context (Linear, Sentry) from the settings: the
//! sources a review is given, the use case that answers `@nectr` commands, and Linear's webhook
//! endpoint.

use std::sync::Arc;

use adapters_ai::{LinearTickets, SentryErrors};
use adapters_db::Db;
use adapters_github::{GitHub, GitHubPayloads};
use domain::clock::SystemClock;
use domain::commands::AnswerComment;
use domain::review::service::ReviewPullRequest;
use domain::review::{ReviewControls, ReviewSources, Reviewer};
use domain::tickets::{CachedTickets, ErrorTracker, TicketSource};
use domain::webhook::linear::LinearIngest;

use crate::settings::Settings;
use crate::startup::StartupError;

/// The project memory (always, in `db`), Linear tickets through the cache in `db` (with
/// `LINEAR_API_KEY`) and Sentry errors (with `SENTRY_AUTH_TOKEN`) for each review.
pub fn review_sources(settings: &Settings, db: &Db) -> Result<ReviewSources, StartupError> {
    let context = &settings.context;
    let tickets = match &context.linear {
        Some(config) => {
            let linear = LinearTickets::new(config.clone())
                .map_err(|e| StartupError::Context(e.to_string()))?;
            Some(Arc::new(CachedTickets {
                source: Arc::new(linear),
                cache: Arc::new(db.clone()),
                clock: Arc::new(SystemClock),
            }) as Arc<dyn TicketSource>)
        }
        None => None,
    };
    let errors = match &context.sentry {
        Some(config) => Some(Arc::new(
            SentryErrors::new(config.clone()).map_err(|e| StartupError::Context(e.to_string()))?,
        ) as Arc<dyn ErrorTracker>),
        None => None,
    };
    Ok(ReviewSources {
        memory: Some(Arc::new(db.clone())),
        tickets,
        team_keys: context.linear_team_keys.clone(),
        errors,
        auto_accept: context.auto_accept.clone(),
    })
}

/// The team's controls every review applies: `.nectr.toml` over the installation's defaults, the
/// `nectr/review` commit status (linking to the event in the management API), one summary comment,
/// costs and budgets.
pub fn review_controls(settings: &Settings, db: &Db) -> ReviewControls {
    let triggers = settings.ingest_policy().triggers;
    ReviewControls {
        config: true,
        defaults: Some(Arc::new(db.clone())),
        triggers,
        statuses: true,
        status_url: settings
            .server
            .backend_url
            .as_ref()
            .map(|base| format!("{base}/api/v1/events")),
        max_attempts: settings.queue.retry.max_attempts,
        summary: true,
        prices: settings.context.prices.clone(),
        usage: Some(Arc::new(db.clone())),
        pauses: Some(Arc::new(db.clone())),
    }
}

/// Answers `@nectr` commands in pull requests' comments, replying through `github`; `@nectr review`
/// runs `reviews`, and `writer` (the configured reviewer) writes `ask`'s and `describe`'s prose.
pub fn answer_comment(
    github: Arc<GitHub>,
    db: &Db,
    reviews: Arc<ReviewPullRequest>,
    writer: Arc<dyn Reviewer>,
) -> AnswerComment {
    AnswerComment {
        payloads: Arc::new(db.clone()),
        reader: Arc::new(GitHubPayloads),
        code_host: github,
        tokens: Arc::new(db.clone()),
        memory: Arc::new(db.clone()),
        clock: Arc::new(SystemClock),
        reviews: Some(reviews),
        pauses: Some(Arc::new(db.clone())),
        writer: Some(writer),
    }
}

/// Receives Linear's webhooks into `db` (`LINEAR_WEBHOOK_SECRET` verifies them).
pub fn linear_ingest(settings: &Settings, db: &Db) -> LinearIngest {
    let store = Arc::new(db.clone());
    LinearIngest {
        events: store.clone(),
        log: store.clone(),
        tickets: store,
        clock: Arc::new(SystemClock),
        secret: settings.context.linear_webhook_secret.clone(),
    }
}

/// What this server runs with, for the dashboard's settings page: names, kinds and whether a
/// secret is set, never a secret (nor a URL's credentials).
pub fn about(settings: &Settings) -> Vec<(&'static str, String)> {
    use crate::settings::ReviewerChoice;
    use secrecy::ExposeSecret;
    let on = |set: bool| if set { "set" } else { "not set" }.to_owned();
    let reviewer = match &settings.ai.reviewer {
        ReviewerChoice::Builtin => "built-in (offline rules)".to_owned(),
        ReviewerChoice::Anthropic(c) => format!("Anthropic, {}", c.model),
        ReviewerChoice::OpenAi(c) => format!("OpenAI-compatible, {}", c.model),
    };
    let database = if settings.database.url.expose_secret().starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let context = &settings.context;
    vec![
        ("Reviewer", reviewer),
        (
            "Parallel agents",
            if settings.ai.parallel_agents {
                "on"
            } else {
                "off"
            }
            .to_owned(),
        ),
        ("Database", database.to_owned()),
        (
            "Knowledge graph",
            match &settings.review.graph_server {
                Some(_) => "a Cypher database over Bolt (GRAPH_URL)".to_owned(),
                None => "nectr's own database".to_owned(),
            },
        ),
        (
            "Linear issues",
            match &context.linear {
                Some(_) => format!("on; team keys: {}", context.linear_team_keys.join(", ")),
                None => "off".to_owned(),
            },
        ),
        (
            "Linear webhook secret",
            on(context.linear_webhook_secret.is_some()),
        ),
        (
            "Sentry errors",
            match &context.sentry {
                Some(c) => format!(
                    "on; organization {}, {} project(s)",
                    c.org,
                    c.projects.len()
                ),
                None => "off".to_owned(),
            },
        ),
        (
            "Model-proposed memories",
            match &context.auto_accept {
                domain::review::AutoAccept::Never => "wait for a person".to_owned(),
                domain::review::AutoAccept::All => "accepted at once".to_owned(),
                domain::review::AutoAccept::Repositories(r) => {
                    format!("accepted at once for {}", r.join(", "))
                }
            },
        ),
        (
            "Global webhook secret",
            on(settings.github.webhook_secret.is_some()),
        ),
        ("Metrics token", on(settings.server.metrics_token.is_some())),
        ("Workers per process", settings.queue.workers.to_string()),
    ]
}
