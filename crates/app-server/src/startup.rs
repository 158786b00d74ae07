//! `Application`: builds every adapter from `Settings`, binds the listener and serves. Tests build the real
//! thing on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use adapters_db::Db;
use domain::ingest::IngestService;
use domain::ports::SystemClock;
use secrecy::ExposeSecret;

use crate::routes;
use crate::settings::{AppEnv, Settings};

/// What handlers share: ports behind `Arc`s, no generics.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub ingest: IngestService,
    pub max_body_bytes: usize,
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
}

/// The running server.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects to and migrates the database, wires the ports and binds `HOST:PORT` (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let db = Db::connect(settings.database_url.expose_secret()).await?;
        db.migrate().await?;
        if settings.env == AppEnv::Production && settings.github_webhook_secret.is_none() {
            tracing::warn!(
                "GITHUB_WEBHOOK_SECRET is not set: deliveries for repositories without an installation will be refused"
            );
        }
        if settings.allow_unsigned_webhooks {
            tracing::warn!(
                "ALLOW_UNSIGNED_WEBHOOKS is on: unsigned deliveries are accepted when no secret applies (development only)"
            );
        }
        let policy = settings.ingest_policy();
        let max_body_bytes = policy.max_body_bytes;
        let store = Arc::new(db.clone());
        let ingest = IngestService::new(
            store.clone(),
            store.clone(),
            store,
            Arc::new(SystemClock),
            policy,
        );
        let state = AppState {
            db: db.clone(),
            ingest,
            max_body_bytes,
        };

        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();
        let server = serve(listener, state)?;
        tracing::info!(port, env = ?settings.env, "nectr listening");
        Ok(Self { port, server, db })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database the application writes to (tests read rows through it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn serve(listener: TcpListener, state: AppState) -> Result<Server, StartupError> {
    let state = web::Data::new(state);
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(crate::request_id::middleware))
            .app_data(state.clone())
            .route("/health", web::get().to(routes::health::health))
            .route("/livez", web::route().to(routes::health::live))
            .service(
                web::resource("/api/v1/webhooks/github")
                    .route(web::post().to(routes::webhooks::github)),
            )
            .default_service(web::to(routes::not_found))
    })
    .listen(listener)
    .map_err(|source| StartupError::Bind { address, source })?
    .shutdown_timeout(30)
    .run();
    Ok(server)
}
