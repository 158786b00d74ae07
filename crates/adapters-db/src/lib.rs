//! nectr's database adapter (sea-orm): implements every store port of the domain (events and their
//! queue, the delivery log, installations and repository tokens, users, sessions, the management
//! reads, store health) and the work signal, on SQLite (the default, a file created if missing) and
//! PostgreSQL (production). Its tables are its own: other crates see ports and domain values.

mod accounts;
mod batch;
mod body;
mod checkpoint;
mod controls;
mod deliveries;
// The tables are this crate's own: other crates see ports. Black-box tests read rows through them
// with the `test-support` feature.
#[cfg(feature = "test-support")]
pub mod entities;
#[cfg(not(feature = "test-support"))]
mod entities;
mod error;
mod events;
mod finish;
mod installations;
mod manage;
mod memory;
mod notify;
mod queue;
mod retention;
mod settings_cache;
mod stats;
mod tickets;

use std::sync::Arc;
use std::time::Duration;

use domain::accounts::crypto::Keyring;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, DatabaseConnection, DbBackend};

pub use batch::WriteBatching;
pub use checkpoint::Checkpoints;
pub use error::{DbError, Result};
pub use notify::DbWorkSignal;

/// How long a request waits for a connection (a free one, or a new one to an unreachable database)
/// before it is answered `503`: during an outage every request answers within it, well inside
/// GitHub's 10 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long SQLite waits for another writer (another process) before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection pools to nectr's database; every store port is implemented on them.
///
/// SQLite allows one writer at a time, and a writer that finds the lock taken sleeps and polls. So
/// on SQLite writes go through a pool of one connection, where they queue fairly in memory, and reads
/// through a pool of several (WAL lets them run beside the writer). On PostgreSQL both are one pool.
#[derive(Debug, Clone)]
pub struct Db {
    reader: DatabaseConnection,
    writer: DatabaseConnection,
    /// Seals and opens access tokens and webhook secrets; without it they cannot be stored or read.
    keyring: Option<Arc<Keyring>>,
    /// The group commit deliveries and finished jobs are written through.
    batcher: batch::Batcher,
    /// Installations' delivery settings as last read, for a moment.
    settings: Arc<settings_cache::SettingsCache>,
    /// SQLite's WAL checkpoints: the connection they run on and the task running them.
    checkpoints: Option<(DatabaseConnection, Arc<checkpoint::Checkpointer>)>,
}

impl Db {
    /// Connects to `url` (`sqlite://path.db`, `sqlite::memory:` or `postgres://...`). A SQLite file
    /// is created if missing and opened in WAL mode with a busy timeout. `keyring` seals and opens
    /// access tokens and webhook secrets; without one (migrations, tools that read rows) storing or
    /// reading them fails with `Permanent`.
    pub async fn connect(url: &str, keyring: Option<Arc<Keyring>>) -> Result<Self> {
        Self::connect_with(url, keyring, WriteBatching::default()).await
    }

    /// [`Db::connect`], with deliveries and finished jobs grouped into transactions as `batching`
    /// says. Starts the writer tasks, so it runs inside a Tokio runtime.
    pub async fn connect_with(
        url: &str,
        keyring: Option<Arc<Keyring>>,
        batching: WriteBatching,
    ) -> Result<Self> {
        Self::connect_tuned(url, keyring, batching, Checkpoints::default()).await
    }

    /// [`Db::connect_with`], with a SQLite file's WAL checkpointed as `checkpoints` says (see
    /// [`Checkpoints`]; PostgreSQL and in-memory SQLite have none).
    pub async fn connect_tuned(
        url: &str,
        keyring: Option<Arc<Keyring>>,
        batching: WriteBatching,
        checkpoints: Checkpoints,
    ) -> Result<Self> {
        let options = |max: u32| {
            let mut options = ConnectOptions::new(url.to_owned());
            options
                .sqlx_logging(false)
                .max_connections(max)
                .min_connections(1)
                .connect_timeout(CONNECT_TIMEOUT)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                // Ping only connections idle long enough to have been dropped, not every checkout.
                .test_before_acquire_if_idle_for(Duration::from_secs(30));
            options
        };
        let connect = |options| async {
            sea_orm::Database::connect(options)
                .await
                .map_err(DbError::Connect)
        };
        if url.starts_with("sqlite:") {
            let sqlite = |mut options: ConnectOptions| {
                options.map_sqlx_sqlite_opts(|o| {
                    o.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Full)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                        // Commits never checkpoint: the checkpoint task does (see `checkpoint`).
                        .pragma("wal_autocheckpoint", "0")
                });
                options
            };
            let writer = connect(sqlite(options(1))).await?;
            let reader = connect(sqlite(options(8))).await?;
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let checkpoints = if in_memory {
                None
            } else {
                let mut own = sqlite(options(1));
                let busy = checkpoints.busy_timeout;
                own.map_sqlx_sqlite_opts(move |o| o.busy_timeout(busy));
                let conn = connect(own).await?;
                let task = checkpoint::Checkpointer::start(conn.clone(), checkpoints);
                Some((conn, Arc::new(task)))
            };
            // One writer connection: one transaction at a time.
            let batcher = batch::Batcher::start(writer.clone(), batching, 1);
            Ok(Self {
                reader,
                writer,
                keyring,
                batcher,
                settings: Arc::default(),
                checkpoints,
            })
        } else {
            let pool = connect(options(32)).await?;
            let batcher = batch::Batcher::start(pool.clone(), batching, batching.writers);
            Ok(Self {
                reader: pool.clone(),
                writer: pool,
                keyring,
                batcher,
                settings: Arc::default(),
                checkpoints: None,
            })
        }
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.writer, None)
            .await
            .map_err(DbError::Migrate)
    }

    pub fn backend(&self) -> DbBackend {
        self.reader.get_database_backend()
    }

    /// The underlying sea-orm connection, for tests and tools that read rows directly.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.reader
    }

    /// The connection writes go through (on SQLite, the single writer they queue on), for other
    /// adapters that keep tables in the same database (the knowledge graph's SQL store).
    pub fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// The connection SQLite's WAL checkpoints run on (none on PostgreSQL or in memory).
    pub fn checkpoint_connection(&self) -> Option<&DatabaseConnection> {
        self.checkpoints.as_ref().map(|(conn, _)| conn)
    }

    pub async fn close(self) -> Result<()> {
        if let Some((conn, task)) = &self.checkpoints {
            task.stop();
            conn.close_by_ref().await.map_err(DbError::Query)?;
        }
        // On PostgreSQL both are the same pool; closing a closed pool is a no-op.
        self.reader.close().await.map_err(DbError::Query)?;
        self.writer.close().await.map_err(DbError::Query)
    }
}

#[async_trait::async_trait]
impl domain::health::StoreHealth for Db {
    async fn ping(&self) -> domain::Result<()> {
        Ok(self.reader.ping().await.map_err(DbError::Query)?)
    }

    async fn pending_migrations(&self) -> domain::Result<usize> {
        let pending = Migrator::get_pending_migrations(&self.reader)
            .await
            .map_err(DbError::Migrate)?;
        Ok(pending.len())
    }

    async fn stats(&self) -> domain::Result<domain::health::StoreStats> {
        stats::stats(self).await
    }
}
