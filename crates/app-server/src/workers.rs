//! The worker runtime: a pool of tasks that claim due review work from the durable queue, run it with a
//! lease they keep extending, and record what became of it. New work wakes an idle worker at once;
//! polling is the fallback. On shutdown workers stop claiming, let in-flight work finish within a grace
//! period and release the rest for another process.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::queue::{Job, JobHandler, JobResult, RetryPolicy, ReviewQueue, WorkSignal};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};
use tracing::Instrument;

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
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            grace: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// A running pool of workers.
#[derive(Debug)]
pub struct WorkerPool {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

struct Worker {
    name: String,
    queue: Arc<dyn ReviewQueue>,
    handler: Arc<dyn JobHandler>,
    config: WorkerConfig,
    signal: Arc<dyn WorkSignal>,
    shutdown: watch::Receiver<bool>,
}

impl WorkerPool {
    /// Starts `config.workers` workers named `{prefix}-{n}`. An idle worker waits for `signal` (work
    /// queued in this process, or announced by another through the database) or its poll interval.
    pub fn start(
        prefix: &str,
        queue: Arc<dyn ReviewQueue>,
        handler: Arc<dyn JobHandler>,
        config: WorkerConfig,
        signal: Arc<dyn WorkSignal>,
    ) -> Self {
        let (shutdown, receiver) = watch::channel(false);
        let tasks = (0..config.workers.max(1))
            .map(|n| {
                let worker = Worker {
                    name: format!("{prefix}-{n}"),
                    queue: queue.clone(),
                    handler: handler.clone(),
                    config: config.clone(),
                    signal: signal.clone(),
                    shutdown: receiver.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        tracing::info!(workers = config.workers, "review workers started");
        Self { shutdown, tasks }
    }

    /// Stops claiming, waits for in-flight work up to the grace period, releases what is left.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!("review workers stopped");
    }
}

/// A signal that never fires: a worker driven by [`run_until_idle`] never waits.
struct Never;

#[async_trait::async_trait]
impl WorkSignal for Never {
    fn work_queued(&self) {}

    async fn wait(&self) {
        std::future::pending::<()>().await;
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
    let mut worker = Worker {
        name: format!("drain-{}", std::process::id()),
        queue,
        handler,
        config,
        signal: Arc::new(Never),
        shutdown,
    };
    let mut ran = 0;
    loop {
        let now = Utc::now();
        if let Err(e) = worker.queue.reclaim_expired(now, worker.config.retry).await {
            tracing::warn!(error = %e, "reclaiming expired leases failed");
        }
        match worker
            .queue
            .claim(&worker.name, now, worker.config.lease, 1)
            .await
        {
            Ok(jobs) if !jobs.is_empty() => {
                for job in jobs {
                    worker.run_job(job).await;
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

impl Worker {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn run(mut self) {
        let mut next_reclaim = Instant::now();
        while !self.stopping() {
            if Instant::now() >= next_reclaim {
                if let Err(e) = self
                    .queue
                    .reclaim_expired(Utc::now(), self.config.retry)
                    .await
                {
                    tracing::warn!(worker = %self.name, error = %e, "reclaiming expired leases failed");
                }
                next_reclaim = Instant::now() + self.config.lease / 2;
            }
            match self
                .queue
                .claim(&self.name, Utc::now(), self.config.lease, 1)
                .await
            {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        self.run_job(job).await;
                    }
                }
                Ok(_) => self.idle().await,
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "claiming work failed");
                    self.idle().await;
                }
            }
        }
    }

    async fn idle(&mut self) {
        tokio::select! {
            () = self.signal.wait() => {}
            _ = sleep(self.config.poll_interval) => {}
            _ = self.shutdown.changed() => {}
        }
    }

    async fn run_job(&mut self, job: Job) {
        let span = tracing::info_span!("job", event_id = job.event_id, attempt = job.attempts, worker = %self.name);
        self.attempt(job).instrument(span).await;
    }

    async fn attempt(&mut self, job: Job) {
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
                _ = self.shutdown.changed(), if deadline.is_none() => {
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
