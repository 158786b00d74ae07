//! Group commit: the writes that arrive together share one transaction.
//!
//! Recording a delivery (its event and its log row), logging a refused one, and finishing a job's
//! attempt are each sent to a writer task instead of opening a transaction of their own. A writer
//! takes every write waiting (up to [`WriteBatching::max_writes`], after lingering up to
//! [`WriteBatching::max_wait`] for more), applies them one after another in one transaction, in the
//! order they arrived and exactly as each would be applied alone (its own conflicts, supersedes and
//! lease check), commits once, and only then answers each: no write is acknowledged before its
//! commit. When the shared transaction fails, each write of it is applied again in a transaction of
//! its own, so one write's failure never fails another's.
//!
//! The commit (on SQLite, its `fsync`) is what a lone write waits for most; sharing it is what lets
//! one SQLite writer keep up with many concurrent deliveries. Under light load every batch holds one
//! write and nothing waits: batching only happens when writes queue up behind a commit anyway.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::queue::{Finish, Job};
use domain::webhook::delivery::DeliveryRecord;
use domain::webhook::ports::{NewEvent, Recorded};
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::entities::{deliveries, event_runs};
use crate::{DbError, Result};

/// How writes are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBatching {
    /// `WRITE_BATCH_MAX` (64): writes in one transaction at most.
    pub max_writes: usize,
    /// `WRITE_BATCH_WAIT_US` (0): how long a writer holding fewer than `max_writes` waits for more
    /// before it begins. 0 takes what is waiting: batches then form only while a commit is under way.
    pub max_wait: Duration,
    /// `WRITE_BATCH_WRITERS` (1): transactions in flight at once on PostgreSQL. SQLite has one
    /// writer whatever this says. On two cores one writer with larger batches stores the most
    /// (1,336 deliveries/s against 983 with four, `just bench-ingest`); more may pay on more cores.
    pub writers: usize,
}

impl Default for WriteBatching {
    fn default() -> Self {
        Self {
            max_writes: 64,
            max_wait: Duration::ZERO,
            writers: 1,
        }
    }
}

/// A write for the group commit, and where its outcome goes once committed.
pub(crate) enum Write {
    /// An accepted delivery: its event (or which rule refused it) and its log row.
    Record {
        event: Box<NewEvent>,
        /// Its body, taken out of `event` and packed for storing.
        body: crate::body::Body,
        delivery: DeliveryRecord,
        reply: oneshot::Sender<Result<Recorded>>,
    },
    /// A delivery-log row alone (a refused delivery); answered with the row's id.
    Append {
        delivery: DeliveryRecord,
        reply: oneshot::Sender<Result<i64>>,
    },
    /// The end of a job's attempt; answered whether the worker still held it.
    Finish {
        job: Job,
        worker: String,
        started_at: DateTime<Utc>,
        finish: Finish,
        reply: oneshot::Sender<Result<bool>>,
    },
}

/// What a write came to, before its reply is sent.
enum Outcome {
    Recorded(Recorded),
    Appended(i64),
    Finished(bool),
}

impl Write {
    fn answer(self, outcome: Result<Outcome>) {
        // A caller that stopped waiting (its request timed out) is not told: what committed stays.
        match self {
            Write::Record { reply, .. } => {
                let _ = reply.send(outcome.and_then(|o| match o {
                    Outcome::Recorded(r) => Ok(r),
                    _ => Err(mismatch()),
                }));
            }
            Write::Append { reply, .. } => {
                let _ = reply.send(outcome.and_then(|o| match o {
                    Outcome::Appended(id) => Ok(id),
                    _ => Err(mismatch()),
                }));
            }
            Write::Finish { reply, .. } => {
                let _ = reply.send(outcome.and_then(|o| match o {
                    Outcome::Finished(held) => Ok(held),
                    _ => Err(mismatch()),
                }));
            }
        }
    }
}

fn mismatch() -> DbError {
    DbError::Race("the group commit answered a write with another kind's outcome".into())
}

/// The handle writes are sent through; the writer tasks stop when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Batcher {
    sender: mpsc::Sender<Write>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field(
                "waiting",
                &(self.sender.max_capacity() - self.sender.capacity()),
            )
            .finish()
    }
}

impl Batcher {
    /// Starts `writers` writer tasks on `conn` (one on SQLite, whose writer pool has one connection).
    pub(crate) fn start(conn: DatabaseConnection, config: WriteBatching, writers: usize) -> Self {
        let max_writes = config.max_writes.max(1);
        let writers = writers.max(1);
        // Room for a few batches per writer; past it, callers wait for room (backpressure).
        let (sender, receiver) = mpsc::channel(max_writes * writers * 4);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers {
            let (conn, receiver, max_wait) = (conn.clone(), receiver.clone(), config.max_wait);
            // A writer that panics (a bug) is replaced, so that deliveries are not refused until a
            // restart; the writes of its batch are answered with an error (nothing was committed
            // unless they had been answered already).
            tokio::spawn(async move {
                loop {
                    let task =
                        tokio::spawn(writer(conn.clone(), receiver.clone(), max_writes, max_wait));
                    match task.await {
                        Err(e) if e.is_panic() => {
                            tracing::error!(error = %e, "a group-commit writer panicked; starting another");
                        }
                        // Every handle dropped, or the runtime shutting down.
                        _ => return,
                    }
                }
            });
        }
        Self { sender }
    }

    /// Sends the write `make` builds and waits for its outcome, which comes only after its commit.
    pub(crate) async fn submit<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> Write,
    ) -> Result<T> {
        let (reply, outcome) = oneshot::channel();
        self.sender
            .send(make(reply))
            .await
            .map_err(|_| DbError::WriterStopped)?;
        outcome.await.map_err(|_| DbError::WriterStopped)?
    }
}

/// One writer: takes what is waiting, applies it, answers, again until every handle is gone.
async fn writer(
    conn: DatabaseConnection,
    receiver: Arc<Mutex<mpsc::Receiver<Write>>>,
    max_writes: usize,
    max_wait: Duration,
) {
    let mut batch = Vec::with_capacity(max_writes);
    loop {
        {
            // One writer gathers at a time; the others are applying theirs meanwhile.
            let mut receiver = receiver.lock().await;
            if receiver.recv_many(&mut batch, max_writes).await == 0 {
                return;
            }
            if !max_wait.is_zero() {
                let deadline = tokio::time::Instant::now() + max_wait;
                while batch.len() < max_writes {
                    let more = max_writes - batch.len();
                    match tokio::time::timeout_at(deadline, receiver.recv_many(&mut batch, more))
                        .await
                    {
                        Ok(n) if n > 0 => {}
                        _ => break,
                    }
                }
            }
        }
        metrics::histogram!("nectr_write_batch_size").record(batch.len() as f64);
        match apply(&conn, &batch).await {
            Ok(outcomes) => {
                for (write, outcome) in batch.drain(..).zip(outcomes) {
                    write.answer(Ok(outcome));
                }
            }
            Err(e) if batch.len() == 1 => {
                if let Some(write) = batch.pop() {
                    write.answer(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(writes = batch.len(), error = %e, "a shared transaction failed; applying its writes one by one");
                for write in batch.drain(..) {
                    let alone = apply(&conn, std::slice::from_ref(&write)).await;
                    write.answer(alone.and_then(|mut o| o.pop().ok_or_else(mismatch)));
                }
            }
        }
    }
}

/// Applies `writes` in one transaction, in order, and commits; their outcomes in the same order.
async fn apply(conn: &DatabaseConnection, writes: &[Write]) -> Result<Vec<Outcome>> {
    let txn = crate::events::begin_write(conn).await?;
    let mut outcomes = Vec::with_capacity(writes.len());
    let mut log_rows = Vec::with_capacity(writes.len());
    let mut runs = Vec::new();
    let mut finishes = Vec::new();
    let mut queued = false;
    let now = Utc::now();
    let events: Vec<(&NewEvent, &crate::body::Body)> = writes
        .iter()
        .filter_map(|w| match w {
            Write::Record { event, body, .. } => Some((event.as_ref(), body)),
            _ => None,
        })
        .collect();
    let mut recorded_all = crate::events::record_all(&txn, &events).await?.into_iter();
    for write in writes {
        match write {
            Write::Record {
                event, delivery, ..
            } => {
                let recorded = recorded_all.next().ok_or_else(mismatch)?;
                queued |= matches!(recorded, Recorded::Queued { .. });
                let mut delivery = delivery.clone();
                delivery.settle(event, &recorded);
                log_rows.push(crate::deliveries::row(delivery));
                outcomes.push(Outcome::Recorded(recorded));
            }
            Write::Append { delivery, .. } => {
                log_rows.push(crate::deliveries::row(delivery.clone()));
                // Its id is known once the rows are inserted below.
                outcomes.push(Outcome::Appended(0));
            }
            Write::Finish {
                job,
                worker,
                started_at,
                finish,
                ..
            } => {
                finishes.push(crate::finish::Ending {
                    job,
                    worker,
                    started_at: *started_at,
                    finish,
                });
                // Whether the worker still held it is known once they are all applied below.
                outcomes.push(Outcome::Finished(false));
            }
        }
    }
    if !finishes.is_empty() {
        // All in one statement, after the deliveries: as if they had arrived after them.
        let ended = crate::finish::finish_all(&txn, &finishes, now).await?;
        let mut ended = ended.into_iter();
        for (write, outcome) in writes.iter().zip(outcomes.iter_mut()) {
            if let (Write::Finish { .. }, Outcome::Finished(held)) = (write, outcome) {
                let run = ended.next().ok_or_else(mismatch)?;
                *held = run.is_some();
                runs.extend(run);
            }
        }
    }
    if queued {
        // Delivered at commit, to every process listening (their idle workers wake at once).
        crate::notify::announce(&txn).await?;
    }
    if !log_rows.is_empty() {
        let ids = deliveries::Entity::insert_many(log_rows)
            .exec_with_returning_keys(&txn)
            .await?;
        let mut ids = ids.into_iter();
        for (write, outcome) in writes.iter().zip(outcomes.iter_mut()) {
            match (write, outcome) {
                (Write::Append { .. }, Outcome::Appended(id)) => {
                    *id = ids.next().ok_or_else(mismatch)?;
                }
                (Write::Record { .. }, _) => {
                    ids.next();
                }
                _ => {}
            }
        }
    }
    if !runs.is_empty() {
        event_runs::Entity::insert_many(runs)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(outcomes)
}
