//! SQLite's WAL checkpoints, off the writer's path.
//!
//! In WAL mode every commit appends to `nectr.db-wal`, and a checkpoint copies those pages back into
//! `nectr.db` (and syncs it) so the log can start over. SQLite's own automatic checkpoint runs inside
//! the commit that crosses 1,000 pages: with 28 KB deliveries that was the group-commit writer
//! copying 4 MB and syncing the database file several times a second, every delivery of the batch
//! waiting for it. Here the writer never checkpoints (`wal_autocheckpoint=0` on every connection);
//! a task on a connection of its own does instead:
//! - every [`Checkpoints::interval`] a `PASSIVE` checkpoint copies what has been committed, beside
//!   the writer and the readers, blocking neither;
//! - the log starts over only when a checkpoint has copied all of it and no commit came in since,
//!   which a steady stream of deliveries rarely leaves room for. So once the log holds more than
//!   [`Checkpoints::restart_frames`] pages, a `RESTART` checkpoint holds new commits back while it
//!   copies the little the last passive one left and the log is rewound: one short pause per
//!   `restart_frames` pages written (128 MB by default), instead of one per 4 MB. It waits for a
//!   commit or a read under way at most [`Checkpoints::busy_timeout`], and is tried again at the next
//!   interval when it could not finish.
//!
//! The log file keeps its largest size (about `restart_frames` pages) once rewound: rewriting its
//! blocks costs less than growing it again. Closing the last connection checkpoints everything, as
//! SQLite always does.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tokio::task::JoinHandle;

use crate::Result;

/// When the checkpoint task copies the log into the database, and when it rewinds the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoints {
    /// How often a passive checkpoint runs (100 ms).
    pub interval: Duration,
    /// Log pages past which the log is rewound (32,768: 128 MB of 4 KB pages).
    pub restart_frames: i64,
    /// How long the rewind waits for a commit or a read under way (100 ms); commits wait for it
    /// meanwhile, so it is kept short.
    pub busy_timeout: Duration,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(100),
            restart_frames: 32_768,
            busy_timeout: Duration::from_millis(100),
        }
    }
}

/// What one `PRAGMA wal_checkpoint` reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checkpointed {
    /// Whether it could not finish (a commit or a read held it back).
    pub busy: bool,
    /// Pages in the log.
    pub log: i64,
    /// Pages of the log copied into the database.
    pub copied: i64,
}

/// Runs `PRAGMA wal_checkpoint(mode)` on `conn`.
pub(crate) async fn checkpoint(conn: &DatabaseConnection, mode: &str) -> Result<Checkpointed> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            format!("PRAGMA wal_checkpoint({mode})"),
        ))
        .await?;
    let Some(row) = row else {
        return Ok(Checkpointed {
            busy: false,
            log: 0,
            copied: 0,
        });
    };
    Ok(Checkpointed {
        busy: row.try_get_by_index::<i64>(0)? != 0,
        log: row.try_get_by_index(1)?,
        copied: row.try_get_by_index(2)?,
    })
}

/// The checkpoint task; it stops when this is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: JoinHandle<()>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Checkpointer {
    /// Starts checkpointing on `conn`, a connection of its own whose busy timeout is
    /// `config.busy_timeout`.
    pub(crate) fn start(conn: DatabaseConnection, config: Checkpoints) -> Self {
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(config.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticks.tick().await;
                match run_once(&conn, config.restart_frames).await {
                    Ok(_) => failing = false,
                    // Said once, not every interval, until it works again.
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "a WAL checkpoint failed; retrying");
                    }
                    Err(_) => {}
                }
            }
        });
        Self { task }
    }

    /// Stops the task (before its connection is closed).
    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}

/// One round: a passive checkpoint, then a rewind when the log has grown past `restart_frames`.
pub(crate) async fn run_once(
    conn: &DatabaseConnection,
    restart_frames: i64,
) -> Result<Checkpointed> {
    let passive = checkpoint(conn, "PASSIVE").await?;
    if passive.log < restart_frames {
        return Ok(passive);
    }
    let restarted = checkpoint(conn, "RESTART").await?;
    if restarted.busy {
        tracing::debug!(
            log = restarted.log,
            "the WAL could not be rewound yet; trying again"
        );
    }
    Ok(restarted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Db, WriteBatching};
    use sea_orm::TransactionTrait;

    async fn file_db(dir: &tempfile::TempDir, checkpoints: Checkpoints) -> Db {
        let url = format!("sqlite://{}", dir.path().join("nectr.db").display());
        let db = Db::connect_tuned(&url, None, WriteBatching::default(), checkpoints)
            .await
            .unwrap();
        db.migrate().await.unwrap();
        db
    }

    async fn fill(db: &Db, rows: usize) {
        db.writer()
            .execute_unprepared("CREATE TABLE IF NOT EXISTS filler (body TEXT NOT NULL)")
            .await
            .unwrap();
        let body = "x".repeat(20_000);
        for _ in 0..rows {
            db.writer()
                .execute_unprepared(&format!("INSERT INTO filler (body) VALUES ('{body}')"))
                .await
                .unwrap();
        }
    }

    fn wal_bytes(dir: &tempfile::TempDir) -> u64 {
        std::fs::metadata(dir.path().join("nectr.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn commits_leave_the_checkpoints_to_the_task() {
        let dir = tempfile::tempdir().unwrap();
        // A task that never comes round: whatever is copied, the writer copied.
        let never = Checkpoints {
            interval: Duration::from_secs(3600),
            ..Checkpoints::default()
        };
        let db = file_db(&dir, never).await;
        fill(&db, 300).await;
        // 300 rows of 20 KB: 1,500 pages and more, past SQLite's own 1,000-page trigger.
        let state = checkpoint(db.connection(), "PASSIVE").await.unwrap();
        assert!(state.log > 1_500, "{state:?}");
        assert!(wal_bytes(&dir) > 6_000_000, "{}", wal_bytes(&dir));
    }

    #[tokio::test]
    async fn the_task_copies_the_log_and_rewinds_it_past_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let config = Checkpoints {
            interval: Duration::from_millis(20),
            restart_frames: 400,
            busy_timeout: Duration::from_millis(100),
        };
        let db = file_db(&dir, config).await;
        fill(&db, 300).await;
        // Settled: everything committed is copied (the task's passive checkpoints) and, the log
        // being past its bound, rewound (its restart), so the next commit writes the log from its
        // start rather than after the 1,500 pages written.
        let mut state = checkpoint(db.connection(), "PASSIVE").await.unwrap();
        for _ in 0..100 {
            if state.copied == state.log {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            state = checkpoint(db.connection(), "PASSIVE").await.unwrap();
        }
        assert_eq!(state.copied, state.log, "{state:?}");
        let mut written = 300;
        let mut after = state;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            db.writer()
                .execute_unprepared("INSERT INTO filler (body) VALUES ('one more')")
                .await
                .unwrap();
            written += 1;
            after = checkpoint(db.connection(), "PASSIVE").await.unwrap();
            if after.log < 50 {
                break;
            }
        }
        assert!(after.log < 50, "{after:?}");
        // The rows are all there, read back through the readers.
        let count = db
            .connection()
            .query_one_raw(Statement::from_string(
                db.backend(),
                "SELECT COUNT(*) FROM filler",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        assert_eq!(count, written);
    }

    #[tokio::test]
    async fn a_rewind_held_back_by_a_read_is_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let never = Checkpoints {
            interval: Duration::from_secs(3600),
            ..Checkpoints::default()
        };
        let db = file_db(&dir, never).await;
        fill(&db, 100).await;
        // A read transaction pins the log as it is.
        let reader = db.connection().begin().await.unwrap();
        reader
            .query_one_raw(Statement::from_string(
                db.backend(),
                "SELECT COUNT(*) FROM filler",
            ))
            .await
            .unwrap();
        fill(&db, 10).await;
        let checkpoints = db.checkpoint_connection().unwrap();
        let held = run_once(checkpoints, 1).await.unwrap();
        assert!(held.busy, "{held:?}");
        reader.rollback().await.unwrap();
        let done = run_once(checkpoints, 1).await.unwrap();
        assert!(!done.busy, "{done:?}");
        assert_eq!(done.copied, done.log, "{done:?}");
    }
}
