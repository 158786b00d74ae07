//! The knowledge graph as reviews and the API use it: a Bolt server when `GRAPH_URL` names one, else
//! nectr's own database (`adapters-graph`), each call bounded by `GRAPH_TIMEOUT_MS`, so a graph that
//! is slow or down delays a review by that much at most and never fails it (the review says its
//! context was unavailable).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use adapters_db::Db;
use adapters_graph::{BoltGraph, SqlGraph};
use async_trait::async_trait;
use domain::knowledge::{
    Backfill, FileExpert, IndexedPullRequest, KnowledgeGraph, RelatedPullRequest,
};
use domain::webhook::values::RepoFullName;

use crate::settings::Settings;

/// A graph whose every call gives up after `limit`.
#[derive(Clone)]
pub struct TimedGraph {
    inner: Arc<dyn KnowledgeGraph>,
    limit: Duration,
}

impl std::fmt::Debug for TimedGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedGraph")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl TimedGraph {
    pub fn new(inner: Arc<dyn KnowledgeGraph>, limit: Duration) -> Self {
        Self { inner, limit }
    }

    async fn within<T>(&self, call: impl Future<Output = domain::Result<T>>) -> domain::Result<T> {
        tokio::time::timeout(self.limit, call)
            .await
            .unwrap_or_else(|_| {
                Err(domain::Error::Transient(format!(
                    "the knowledge graph did not answer within {} ms",
                    self.limit.as_millis()
                )))
            })
    }
}

/// Pull requests a newly connected repository's backfill looks at (`app-server graph backfill`
/// does more on demand).
pub const BACKFILL_ON_CONNECT: usize = 200;

/// Starts the backfill of a newly connected repository without holding up its answer. It is
/// best-effort: a process that stops meanwhile, or GitHub's rate limit, leaves it part-done, and
/// `app-server graph backfill` (or the next connect) goes on where it stopped, since pull requests
/// already indexed are skipped.
pub fn backfill_in_background(backfill: Backfill, repo: RepoFullName) {
    tokio::spawn(async move {
        match backfill.run(&repo, BACKFILL_ON_CONNECT).await {
            Ok(report) => tracing::info!(
                repository = %repo,
                merged = report.merged,
                indexed = report.indexed,
                "knowledge graph backfilled"
            ),
            Err(stopped) => tracing::warn!(
                repository = %repo,
                reason = %stopped,
                "knowledge graph backfill stopped; `app-server graph backfill` goes on from there"
            ),
        }
    });
}

/// The configured graph: the Bolt server of `GRAPH_URL`, else the tables of `db`; bounded by
/// `GRAPH_TIMEOUT_MS`.
///
/// # Errors
/// `Invalid` when the Bolt driver cannot use `GRAPH_URL` or its credentials.
pub fn knowledge_graph(
    settings: &Settings,
    db: &Db,
) -> Result<Arc<dyn KnowledgeGraph>, domain::Error> {
    let store: Arc<dyn KnowledgeGraph> = match &settings.review.graph_server {
        Some(server) => Arc::new(BoltGraph::new(server)?),
        None => Arc::new(SqlGraph::new(db.connection().clone(), db.writer().clone())),
    };
    Ok(Arc::new(TimedGraph::new(
        store,
        settings.review.graph_timeout,
    )))
}

#[async_trait]
impl KnowledgeGraph for TimedGraph {
    async fn index(&self, pull_request: &IndexedPullRequest) -> domain::Result<()> {
        self.within(self.inner.index(pull_request)).await
    }

    async fn file_experts(
        &self,
        repository: &RepoFullName,
        paths: &[String],
        exclude_author: Option<String>,
        limit: usize,
    ) -> domain::Result<Vec<FileExpert>> {
        self.within(
            self.inner
                .file_experts(repository, paths, exclude_author, limit),
        )
        .await
    }

    async fn related_pull_requests(
        &self,
        repository: &RepoFullName,
        paths: &[String],
        exclude_number: Option<u64>,
        limit: usize,
    ) -> domain::Result<Vec<RelatedPullRequest>> {
        self.within(
            self.inner
                .related_pull_requests(repository, paths, exclude_number, limit),
        )
        .await
    }

    async fn pull_request_paths(
        &self,
        repository: &RepoFullName,
        number: u64,
    ) -> domain::Result<Option<Vec<String>>> {
        self.within(self.inner.pull_request_paths(repository, number))
            .await
    }
}

#[cfg(test)]
mod tests {
    use domain::knowledge::MockKnowledgeGraph;

    use super::*;

    #[tokio::test]
    async fn a_stalled_graph_is_given_up_on_after_the_limit() {
        let mut quick_graph = MockKnowledgeGraph::new();
        quick_graph
            .expect_file_experts()
            .returning(|_, _, _, _| Ok(Vec::new()));
        let never = TimedGraph::new(Arc::new(Never), Duration::from_millis(50));
        let started = std::time::Instant::now();
        let repo = RepoFullName::parse("acme/api").unwrap_or_else(|e| panic!("{e}"));
        let answer = never
            .file_experts(&repo, &["src/a.rs".to_owned()], None, 3)
            .await;
        assert!(
            matches!(answer, Err(domain::Error::Transient(_))),
            "{answer:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        let quick = TimedGraph::new(Arc::new(quick_graph), Duration::from_millis(50));
        assert!(quick.file_experts(&repo, &[], None, 3).await.is_ok());
    }

    /// A graph that never answers (a stalled server).
    struct Never;

    #[async_trait]
    impl KnowledgeGraph for Never {
        async fn index(&self, _: &IndexedPullRequest) -> domain::Result<()> {
            std::future::pending().await
        }
        async fn file_experts(
            &self,
            _: &RepoFullName,
            _: &[String],
            _: Option<String>,
            _: usize,
        ) -> domain::Result<Vec<FileExpert>> {
            std::future::pending().await
        }
        async fn related_pull_requests(
            &self,
            _: &RepoFullName,
            _: &[String],
            _: Option<u64>,
            _: usize,
        ) -> domain::Result<Vec<RelatedPullRequest>> {
            std::future::pending().await
        }
        async fn pull_request_paths(
            &self,
            _: &RepoFullName,
            _: u64,
        ) -> domain::Result<Option<Vec<String>>> {
            std::future::pending().await
        }
    }
}
