//! Large webhook bodies are checked off the server's event loops. Reading the JSON to find the
//! repository (whose secret verifies the signature), hashing the body for the delivery log and the
//! HMAC itself are CPU work proportional to the body: for a 24 MiB body, tens of milliseconds that
//! would stall every other request the same server thread holds (`/livez`, `/health`, other
//! deliveries). Bodies over [`OFF_LOOP_BODY_BYTES`] are ingested on a small runtime of their own, so
//! the server threads keep answering while they are worked on.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// Bodies larger than this are ingested off the event loop. GitHub's pull-request payloads are
/// 10–60 KB; below this size the work takes well under a millisecond, less than handing it over.
pub const OFF_LOOP_BODY_BYTES: usize = 256 * 1024;

/// The runtime large bodies are ingested on: half the cores (at least one thread), at the lowest
/// scheduling priority (niceness 19), so that the server threads always get the CPU first and
/// large bodies the rest. Made once per process and never dropped.
fn handle() -> &'static Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            Builder::new_multi_thread()
                .worker_threads((cores / 2).max(1))
                .thread_name("nectr-large-body")
                .on_thread_start(|| {
                    // Where the system refuses (it never does for lowering), the threads simply
                    // keep the normal priority.
                    if let Err(e) = thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Min,
                    ) {
                        tracing::debug!(error = ?e, "large-body thread keeps its priority");
                    }
                })
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot start the large-body runtime: {e}"))
        })
        .handle()
}

/// Runs `work` on the large-body runtime and waits for it. `None` if the task panicked (the panic
/// is logged by the runtime; the caller answers as it would for a store failure).
pub async fn run<F>(work: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    handle().spawn(work).await.ok()
}
