//! Waking idle workers: in this process through a `Notify`, and across processes on PostgreSQL through
//! `LISTEN`/`NOTIFY` on one channel (sent in the transaction that queues work, so it is delivered at
//! commit). Every process that runs workers on PostgreSQL listens: the signal is built only by
//! [`Db::work_signal`], which starts the listener.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::queue::WorkSignal;
use sea_orm::{ConnectionTrait, DbBackend};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::{Db, Result};

/// The PostgreSQL channel queued work is announced on.
const WORK_CHANNEL: &str = "nectr_work";

/// Announces queued work to every listening process, at commit. Nothing on SQLite (one machine,
/// usually one process: polling covers the others).
pub(crate) async fn announce(conn: &impl ConnectionTrait) -> Result<()> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_unprepared(&format!("NOTIFY {WORK_CHANNEL}"))
            .await?;
    }
    Ok(())
}

/// The [`WorkSignal`] of one process. Dropping the last handle stops its listener.
#[derive(Debug)]
pub struct DbWorkSignal {
    notify: Arc<Notify>,
    listener: Option<JoinHandle<()>>,
}

impl Drop for DbWorkSignal {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

impl Db {
    /// This process's work signal. On PostgreSQL it listens for work queued by any process (and
    /// reconnects after errors, polling meanwhile); on SQLite it wakes this process's workers only.
    /// Must be called inside a Tokio runtime.
    pub fn work_signal(&self) -> Arc<DbWorkSignal> {
        let notify = Arc::new(Notify::new());
        let listener = (self.backend() == DbBackend::Postgres).then(|| {
            let pool = self.reader.get_postgres_connection_pool().clone();
            tokio::spawn(listen(pool, notify.clone()))
        });
        Arc::new(DbWorkSignal { notify, listener })
    }
}

async fn listen(pool: sea_orm::sqlx::PgPool, notify: Arc<Notify>) {
    loop {
        let listener = async {
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(WORK_CHANNEL).await?;
            tracing::info!(channel = WORK_CHANNEL, "listening for queued work");
            loop {
                listener.recv().await?;
                notify.notify_waiters();
            }
            #[allow(unreachable_code)]
            Ok::<(), sea_orm::sqlx::Error>(())
        };
        if let Err(e) = listener.await {
            tracing::warn!(error = %e, "listening for queued work failed; polling until it reconnects");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[async_trait]
impl WorkSignal for DbWorkSignal {
    fn work_queued(&self) {
        self.notify.notify_one();
    }

    async fn wait(&self) {
        self.notify.notified().await;
    }
}
