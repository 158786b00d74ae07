//! nectr's database adapter (sea-orm): implements the domain's event store, delivery log and installation
//! store on SQLite (the default, a file created if missing) and PostgreSQL (production).

mod deliveries;
pub mod entities;
mod error;
mod events;
mod installations;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, DatabaseConnection, DbBackend};

pub use error::{DbError, Result};

/// How long SQLite waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection pool to nectr's database; every store port is implemented on it.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
}

impl Db {
    /// Connects to `url` (`sqlite://path.db`, `sqlite::memory:` or `postgres://...`). A SQLite file is created
    /// if missing and opened in WAL mode with a busy timeout, so readers never block the writer.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10));
        if url.starts_with("sqlite:") {
            options
                .max_connections(8)
                .min_connections(1)
                .map_sqlx_sqlite_opts(|o| {
                    o.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Full)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                });
        } else {
            options.max_connections(32).min_connections(2);
        }
        let conn = sea_orm::Database::connect(options)
            .await
            .map_err(DbError::Connect)?;
        Ok(Self { conn })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.conn, None)
            .await
            .map_err(DbError::Migrate)
    }

    /// Cheap liveness check for `/health`.
    pub async fn ping(&self) -> Result<()> {
        self.conn.ping().await.map_err(DbError::Query)
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// The underlying sea-orm connection, for tests and tools that read rows directly.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub async fn close(self) -> Result<()> {
        self.conn.close().await.map_err(DbError::Query)
    }
}
