//! The worker runtime: a dispatcher claims due work from the durable queue, as many jobs per
//! statement as it has free worker slots (up to `CLAIM_BATCH`), and runs each as its own task with a
//! lease it keeps extending, recording what became of it (attempts finishing together share one
//! transaction: the store's group commit). New work wakes an idle dispatcher at once; polling is the
//! fallback. On shutdown it stops claiming, lets in-flight work finish within a grace period and
//! releases the rest for another process.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::queue::{Job, JobHandler, JobResult, RetryPolicy, ReviewQueue, WorkSignal};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep, sleep_until};
use tracing::Instrument;

/// How long the dispatcher waits for more workers to come free before claiming for only a few.
const CLAIM_LINGER: Duration = Duration::from_millis(2);

/// How workers run.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `WORKERS`: concurrent jobs in this process.
    pub workers: usize,
    /// `LEASE_SECONDS`: a job not heard of for this long is reclaimed by any worker.
    pub lease: Duration,
    /// `POLL_INTERVAL_MS`: how often an idle worker looks for due work without being woken.
    pub poll_interval: Duration,
    /// `SHUTDOWN_GRACE_SECONDS`: how long in-flight work may take to finish at shutdown.
    pub grace: Duration,
    pub retry: RetryPolicy,
    /// `CLAIM_BATCH`: jobs claimed in one statement at most (never more than the free workers).
    pub claim_batch: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            grace: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            claim_batch: 32,
        }
    }
}

/// A running pool of workers.
#[derive(Debug)]
pub struct WorkerPool {
    shutdown: watch::Sender<bool>,
    dispatcher: JoinHandle<()>,
}

/// Claims work for free worker slots and starts an attempt for each job.
struct Dispatcher {
    prefix: String,
    queue: Arc<dyn ReviewQueue>,
    handler: Arc<dyn JobHandler>,
    config: WorkerConfig,
    signal: Arc<dyn WorkSignal>,
    shutdown: watch::Receiver<bool>,
    /// Claims made so far: each names its lease owner `{prefix}-{n}`.
    claims: u64,
}

/// One job's attempt: runs its handler, keeps its lease, records its outcome.
struct Attempt {
    /// The lease owner the job was claimed as.
    name: String,
    queue: Arc<dyn ReviewQueue>,
    handler: Arc<dyn JobHandler>,
    config: WorkerConfig,
    shutdown: watch::Receiver<bool>,
}

impl WorkerPool {
    /// Starts a pool running up to `config.workers` jobs at once; each claim's lease owner is named
    /// `{prefix}-{n}`. An idle pool waits for `signal` (work queued in this process, or announced by
    /// another through the database) or its poll interval.
    pub fn start(
        prefix: &str,
        queue: Arc<dyn ReviewQueue>,
        handler: Arc<dyn JobHandler>,
        config: WorkerConfig,
        signal: Arc<dyn WorkSignal>,
    ) -> Self {
        let (shutdown, receiver) = watch::channel(false);
        tracing::info!(
            workers = config.workers,
            claim_batch = config.claim_batch,
            "review workers started"
        );
        let dispatcher = Dispatcher {
            prefix: prefix.to_owned(),
            queue,
            handler,
            config,
            signal,
            shutdown: receiver,
            claims: 0,
        };
        Self {
            shutdown,
            dispatcher: tokio::spawn(dispatcher.run()),
        }
    }

    /// Stops claiming, waits for in-flight work up to the grace period, releases what is left.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.dispatcher.await;
        tracing::info!("review workers stopped");
    }
}

/// Runs due jobs one after another, exactly as a pool's worker would (lease, heartbeat, outcome),
/// until none is due, and returns how many ran. For tools and tests that need the queue drained
/// deterministically instead of waiting for a pool.
pub async fn run_until_idle(
    queue: Arc<dyn ReviewQueue>,
    handler: Arc<dyn JobHandler>,
    config: WorkerConfig,
) -> usize {
    let (_stop, shutdown) = watch::channel(false);
    let attempt = Attempt {
        name: format!("drain-{}", std::process::id()),
        queue,
        handler,
        config,
        shutdown,
    };
    let mut ran = 0;
    loop {
        let now = Utc::now();
        if let Err(e) = attempt
            .queue
            .reclaim_expired(now, attempt.config.retry)
            .await
        {
            tracing::warn!(error = %e, "reclaiming expired leases failed");
        }
        match attempt
            .queue
            .claim(&attempt.name, now, attempt.config.lease, 1)
            .await
        {
            Ok(jobs) if !jobs.is_empty() => {
                for job in jobs {
                    attempt.run_job(job).await;
                    ran += 1;
                }
            }
            Ok(_) => return ran,
            Err(e) => {
                tracing::warn!(error = %e, "claiming work failed");
                return ran;
            }
        }
    }
}

/// A random number in `[0, 1]` for backoff jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match SystemRandom::new().fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

impl Dispatcher {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn run(mut self) {
        let slots = Arc::new(Semaphore::new(self.config.workers.max(1)));
        let mut running = JoinSet::new();
        let mut next_reclaim = Instant::now();
        while !self.stopping() {
            while running.try_join_next().is_some() {}
            if Instant::now() >= next_reclaim {
                if let Err(e) = self
                    .queue
                    .reclaim_expired(Utc::now(), self.config.retry)
                    .await
                {
                    tracing::warn!(error = %e, "reclaiming expired leases failed");
                }
                next_reclaim = Instant::now() + self.config.lease / 2;
            }
            // With few workers free, wait a moment for more (attempts finishing together are
            // committed together): one claim then fills all their slots. With none free, wait
            // for one however long it takes.
            let enough = (self.config.workers.min(self.config.claim_batch) / 2).max(1);
            let until = Instant::now() + CLAIM_LINGER;
            while slots.available_permits() < enough && !running.is_empty() {
                tokio::select! {
                    _ = running.join_next() => {}
                    _ = sleep_until(until), if slots.available_permits() > 0 => break,
                    _ = self.shutdown.changed() => break,
                }
            }
            let free = slots.available_permits();
            if free == 0 {
                continue;
            }
            let wanted = free.min(self.config.claim_batch.max(1));
            self.claims += 1;
            let owner = format!("{}-{}", self.prefix, self.claims);
            let limit = u32::try_from(wanted).unwrap_or(u32::MAX);
            match self
                .queue
                .claim(&owner, Utc::now(), self.config.lease, limit)
                .await
            {
                Ok(jobs) => {
                    let claimed = jobs.len();
                    for job in jobs {
                        let Ok(slot) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let attempt = Attempt {
                            name: owner.clone(),
                            queue: self.queue.clone(),
                            handler: self.handler.clone(),
                            config: self.config.clone(),
                            shutdown: self.shutdown.clone(),
                        };
                        running.spawn(async move {
                            attempt.run_job(job).await;
                            drop(slot);
                        });
                    }
                    if claimed < wanted {
                        // Nothing more is due now.
                        self.idle().await;
                    }
                }
                Err(e) => {
                    tracing::warn!(worker = %owner, error = %e, "claiming work failed");
                    self.idle().await;
                }
            }
        }
        // Each attempt sees the shutdown itself: it finishes within the grace period or is released.
        while running.join_next().await.is_some() {}
    }

    async fn idle(&mut self) {
        tokio::select! {
            () = self.signal.wait() => {}
            _ = sleep(self.config.poll_interval) => {}
            _ = self.shutdown.changed() => {}
        }
    }
}

impl Attempt {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn run_job(&self, job: Job) {
        let span = tracing::info_span!("job", event_id = job.event_id, attempt = job.attempts, worker = %self.name);
        self.attempt(job).instrument(span).await;
    }

    async fn attempt(&self, job: Job) {
        let mut shutdown = self.shutdown.clone();
        let started_at = Utc::now();
        tracing::info!("work started");
        // The handler runs as its own task: a panic is a failed attempt, not a dead worker.
        let handler = self.handler.clone();
        let for_handler = job.clone();
        let begun = std::time::Instant::now();
        let mut work = tokio::spawn(async move { handler.handle(&for_handler).await });
        let mut beat = tokio::time::interval(self.config.lease / 3);
        beat.tick().await;
        let mut deadline = self.stopping().then(|| Instant::now() + self.config.grace);
        loop {
            tokio::select! {
                outcome = &mut work => {
                    let result = outcome.unwrap_or_else(|e| JobResult::Transient {
                        error: format!("the handler stopped: {e}"),
                        retry_at: None,
                    });
                    crate::metrics::job(&job, &result, begun.elapsed());
                    let finish = self.config.retry.finish(&job, result, Utc::now(), jitter());
                    tracing::info!(outcome = ?finish, "work finished");
                    if let Err(e) = self.queue.finish(&job, &self.name, started_at, finish).await {
                        // The lease will expire and the event be reclaimed: nothing is lost.
                        tracing::error!(error = %e, "recording the outcome failed");
                    }
                    return;
                }
                _ = beat.tick() => {
                    let until = Utc::now() + chrono::Duration::from_std(self.config.lease).unwrap_or_default();
                    match self.queue.heartbeat(&job, &self.name, until).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!("lease lost: another worker may run this event"),
                        Err(e) => tracing::warn!(error = %e, "extending the lease failed"),
                    }
                }
                _ = shutdown.changed(), if deadline.is_none() => {
                    deadline = Some(Instant::now() + self.config.grace);
                }
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    work.abort();
                    match self.queue.release(&job, &self.name).await {
                        Ok(_) => tracing::info!("grace period over: work released for another process"),
                        Err(e) => tracing::error!(error = %e, "releasing work failed; its lease will expire"),
                    }
                    return;
                }
            }
        }
    }
}
