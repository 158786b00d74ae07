//! `Application`: builds every adapter from `Settings`, binds the listener, starts the review workers and
//! serves. Tests build the real thing on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use adapters_db::Db;
use adapters_github::{GitHub, GitHubPayloads};
use domain::accounts::{AccountPolicy, AccountPorts, AccountService, ManagementStore};
use domain::clock::SystemClock;
use domain::health::StoreHealth;
use domain::knowledge::{Backfill, IndexMergedPullRequest};
use domain::queue::{ByKind, JobHandler, WorkSignal};
use domain::review::service::ReviewPullRequest;
use domain::webhook::ingest::{IngestPorts, IngestService};
use secrecy::ExposeSecret;

use crate::keys::Keys;
use crate::routes;
use crate::settings::{AppEnv, Settings};
use crate::workers::WorkerPool;

/// What handlers share: services and ports behind `Arc`s, no adapter type and no generics.
#[derive(Clone)]
pub struct AppState {
    pub ingest: IngestService,
    pub accounts: AccountService,
    pub management: Arc<dyn ManagementStore>,
    pub store_health: Arc<dyn StoreHealth>,
    /// The knowledge graph the API answers from (the same the reviews use).
    pub graph: Arc<dyn domain::knowledge::KnowledgeGraph>,
    /// Fills the graph with a newly connected repository's merged pull requests.
    pub backfill: Backfill,
    /// The project memory the API reads and writes.
    pub memory: Arc<dyn domain::memory::ProjectMemory>,
    /// Receives Linear's webhooks.
    pub linear: domain::webhook::linear::LinearIngest,
    /// Installations' webhook secrets and delivery filters.
    pub installations: Arc<dyn domain::webhook::ports::InstallationStore>,
    /// Installations' default `.nectr.toml`.
    pub defaults: Arc<dyn domain::review::RepoDefaults>,
    /// What reviews cost, per repository and month.
    pub usage: Arc<dyn domain::review::UsageStore>,
    /// The webhook endpoint's body limit.
    pub max_body_bytes: usize,
    /// How long a webhook body may take to arrive.
    pub body_read_timeout: std::time::Duration,
    /// Bytes buffered across all in-flight webhook bodies.
    pub body_budget: Arc<crate::limits::BodyBudget>,
    /// How long a request waits on the store before it is answered `503`.
    pub store_timeout: std::time::Duration,
    /// Signs session cookies (`SESSION_KEY`).
    pub session_key: Arc<ring::hmac::Key>,
    /// Session cookies are `Secure` in production.
    pub secure_cookies: bool,
    /// Where the browser goes after signing in (`FRONTEND_URL`, else `/auth/me`).
    pub after_sign_in: String,
    /// nectr's own origin (`scheme://host[:port]` of `BACKEND_URL`), when known: the only `Origin`
    /// a state-changing request may come from. Without it, the request's `Host` is.
    pub own_origin: Option<String>,
    /// `METRICS_TOKEN`: the bearer token `/metrics` asks for, when set.
    pub metrics_token: Option<String>,
    /// What this server runs with (no secret), for the dashboard's settings page.
    pub about: Arc<Vec<(&'static str, String)>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("accounts", &self.accounts)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("after_sign_in", &self.after_sign_in)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] adapters_db::DbError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("GitHub client: {0}")]
    GitHub(#[from] domain::codehost::CodeHostError),
    #[error("reviewer: {0}")]
    Reviewer(String),
    #[error("keys: {0}")]
    Keys(String),
    #[error("knowledge graph: {0}")]
    Graph(String),
    #[error("review context: {0}")]
    Context(String),
}

/// The running server (and, unless turned off, its review workers).
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    workers: Option<WorkerPool>,
    /// The retention job (`crate::retention`): stopped when the application stops or is dropped.
    _retention: AbortOnDrop,
    signal: ShutdownSignal,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Connects to and migrates the database, with the keys tokens and secrets are sealed with.
async fn database(settings: &Settings, keys: &Keys) -> Result<Db, StartupError> {
    let db = Db::connect_with(
        settings.database.url.expose_secret(),
        Some(keys.keyring.clone()),
        settings.database.batching,
    )
    .await?;
    db.migrate().await?;
    Ok(db)
}

/// Starts workers on `db`: each queued review is reviewed with the configured reviewer
/// (`AI_PROVIDER`) and posted through the settings' GitHub client; each merged pull request is
/// indexed into the knowledge graph.
pub fn start_workers(
    settings: &Settings,
    db: &Db,
    signal: Arc<dyn WorkSignal>,
) -> Result<WorkerPool, StartupError> {
    let handler = job_handler(settings, db)?;
    let prefix = format!("{}-{}", hostname(), std::process::id());
    Ok(WorkerPool::start(
        &prefix,
        Arc::new(db.clone()),
        handler,
        settings.queue.clone(),
        signal,
    ))
}

/// Every kind of job as the workers run it: reviews with the settings' GitHub client and reviewer
/// (given the project memory and the configured Linear and Sentry context), index jobs into the
/// configured knowledge graph, comments' commands against the project memory; calls made with the
/// connecting user's token from `db`.
pub fn job_handler(settings: &Settings, db: &Db) -> Result<Arc<dyn JobHandler>, StartupError> {
    let github: Arc<GitHub> = Arc::new(GitHub::new(settings.github_config())?);
    let reviewer = settings
        .build_reviewer()
        .map_err(|e| StartupError::Reviewer(e.to_string()))?;
    let graph = crate::graph::knowledge_graph(settings, db)
        .map_err(|e| StartupError::Graph(e.to_string()))?;
    let tokens = Arc::new(db.clone());
    let sources = crate::context::review_sources(settings, db)?;
    let review = Arc::new(
        ReviewPullRequest::new(
            github.clone(),
            reviewer.clone(),
            tokens.clone(),
            settings.review.budget,
            graph.clone(),
        )
        .with_sources(sources)
        .with_controls(crate::context::review_controls(settings, db)),
    );
    Ok(Arc::new(ByKind {
        review: review.clone(),
        index: Arc::new(IndexMergedPullRequest::new(github.clone(), tokens, graph)),
        command: Arc::new(crate::context::answer_comment(github, db, review, reviewer)),
    }))
}

/// The backfill of past merged pull requests into the configured knowledge graph, reading GitHub
/// with the connecting user's token from `db` (else `GITHUB_PAT`).
pub fn backfill(settings: &Settings, db: &Db) -> Result<Backfill, StartupError> {
    let github = Arc::new(GitHub::new(settings.github_config())?);
    let graph = crate::graph::knowledge_graph(settings, db)
        .map_err(|e| StartupError::Graph(e.to_string()))?;
    Ok(Backfill::new(github, Arc::new(db.clone()), graph))
}

/// The services handlers share, wired from the settings.
fn app_state(
    settings: &Settings,
    db: &Db,
    keys: &Keys,
    work: Arc<dyn WorkSignal>,
) -> Result<AppState, StartupError> {
    let policy = settings.ingest_policy();
    let max_body_bytes = policy.max_body_bytes;
    let store = Arc::new(db.clone());
    let ingest = IngestService::new(
        IngestPorts {
            installations: store.clone(),
            events: store.clone(),
            log: store.clone(),
            payloads: Arc::new(GitHubPayloads),
            clock: Arc::new(SystemClock),
            signal: work.clone(),
        },
        policy,
    );
    let github = Arc::new(GitHub::new(settings.github_config())?);
    let accounts = AccountService::new(
        AccountPorts {
            users: store.clone(),
            sessions: store.clone(),
            installations: store.clone(),
            management: store.clone(),
            hooks: github.clone(),
            oauth: github.clone(),
            signal: work,
        },
        AccountPolicy {
            webhook_url: settings.webhook_url(),
            callback_url: settings.callback_url(),
            secret_grace: settings.accounts.secret_grace,
            session_ttl: settings.accounts.session_ttl,
            state_ttl: std::time::Duration::from_secs(600),
        },
    );
    // One graph (one Bolt pool, when it is a server) for the API and the backfill.
    let graph = crate::graph::knowledge_graph(settings, db)
        .map_err(|e| StartupError::Graph(e.to_string()))?;
    Ok(AppState {
        ingest,
        accounts,
        management: store.clone(),
        store_health: store.clone(),
        memory: store.clone(),
        defaults: store.clone(),
        usage: store.clone(),
        installations: store.clone(),
        linear: crate::context::linear_ingest(settings, db),
        backfill: Backfill::new(github, store, graph.clone()),
        graph,
        max_body_bytes,
        body_read_timeout: settings.server.body_read_timeout,
        body_budget: crate::limits::BodyBudget::new(settings.server.max_buffered_body_bytes),
        store_timeout: settings.database.timeout,
        session_key: keys.session.clone(),
        secure_cookies: settings.env == AppEnv::Production,
        after_sign_in: settings
            .server
            .frontend_url
            .clone()
            .unwrap_or_else(|| "/auth/me".to_owned()),
        own_origin: settings.server.backend_url.as_deref().map(origin_of),
        metrics_token: settings
            .server
            .metrics_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        about: Arc::new(crate::context::about(settings)),
    })
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{host}")
        }
        None => url.to_owned(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "nectr".to_owned())
}

impl Application {
    /// Connects to and migrates the database, wires the ports, starts the workers (unless
    /// `run_workers` is off) and binds `HOST:PORT` (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // The metrics recorder first, so nothing recorded at start-up is lost.
        crate::metrics::handle();
        crate::install_crypto_provider();
        let signal = ShutdownSignal::listen();
        let keys = crate::keys::load(&settings)?;
        let db = database(&settings, &keys).await?;
        // Values stored before encryption, or under a key since rotated out, are sealed anew.
        let sealed = db.seal_stored_secrets().await?;
        if sealed > 0 {
            tracing::info!(
                count = sealed,
                key = keys.keyring.current_id(),
                "secrets sealed with the current key"
            );
        }
        if settings.env == AppEnv::Production && settings.github.webhook_secret.is_none() {
            tracing::warn!(
                "GITHUB_WEBHOOK_SECRET is not set: deliveries for repositories without an installation will be refused"
            );
        }
        if settings.github.allow_unsigned_webhooks {
            tracing::warn!(
                "ALLOW_UNSIGNED_WEBHOOKS is on: unsigned deliveries are accepted when no secret applies (development only)"
            );
        }
        // On PostgreSQL this process listens for work any process queues.
        let work: Arc<dyn WorkSignal> = db.work_signal();
        let state = app_state(&settings, &db, &keys, work.clone())?;
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();
        let workers = if settings.server.run_workers {
            Some(start_workers(&settings, &db, work)?)
        } else {
            None
        };
        let server = serve(listener, state, settings.server.max_connections)?;
        let retention = AbortOnDrop(
            crate::retention::start(
                crate::retention::retention(&settings, Arc::new(db.clone())),
                settings.database.retention_interval,
            )
            .abort_handle(),
        );
        tracing::info!(port, env = ?settings.env, workers = workers.is_some(), "nectr listening");
        Ok(Self {
            port,
            server,
            db,
            workers,
            _retention: retention,
            signal,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database the application writes to (tests read rows through it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting, finishes in-flight requests, lets the
    /// workers finish or release their work, and returns.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let mut server = std::pin::pin!(self.server);
        tokio::select! {
            result = &mut server => {
                if let Some(workers) = self.workers {
                    workers.shutdown().await;
                }
                result
            }
            () = self.signal.recv() => {
                tracing::info!("shutting down");
                let workers = async {
                    if let Some(workers) = self.workers {
                        workers.shutdown().await;
                    }
                };
                // The server future must keep being polled for it to carry out the stop.
                let ((), (), result) = tokio::join!(handle.stop(true), workers, server);
                result
            }
        }
    }
}

/// Aborts a task when dropped, however the function holding it returns.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `app-server worker`: review workers only, no HTTP, until SIGINT or SIGTERM.
pub async fn run_workers_only(settings: Settings) -> Result<(), StartupError> {
    let mut signal = ShutdownSignal::listen();
    // Workers open the connecting users' tokens, so they need the same keys as the server.
    crate::install_crypto_provider();
    let keys = crate::keys::load(&settings)?;
    let db = database(&settings, &keys).await?;
    let workers = start_workers(&settings, &db, db.work_signal())?;
    signal.recv().await;
    tracing::info!("shutting down");
    workers.shutdown().await;
    Ok(())
}

/// SIGINT (Ctrl-C) and SIGTERM, listened for from the moment it is made: a signal that arrives while
/// the application is still starting is not lost (nor does it kill the process mid-start).
pub struct ShutdownSignal {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShutdownSignal")
    }
}

impl ShutdownSignal {
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = signal(SignalKind::terminate())
                .ok()
                .zip(signal(SignalKind::interrupt()).ok());
            Self { signals }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves at the first signal.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some((terminate, interrupt)) = &mut self.signals {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn serve(
    listener: TcpListener,
    state: AppState,
    max_connections: usize,
) -> Result<Server, StartupError> {
    // actix counts connections per server thread (one per core by default).
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = max_connections.div_ceil(threads).max(1);
    let state = web::Data::new(state);
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(crate::csrf::guard))
            .wrap(from_fn(crate::security::no_store))
            .wrap(crate::security::headers())
            .wrap(from_fn(crate::request_id::middleware))
            .app_data(state.clone())
            .app_data(routes::query_config())
            .app_data(routes::path_config())
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .workers(threads)
    .max_connections(per_thread)
    .listen(listener)
    .map_err(|source| StartupError::Bind { address, source })?
    .disable_signals()
    .shutdown_timeout(30)
    .run();
    Ok(server)
}
