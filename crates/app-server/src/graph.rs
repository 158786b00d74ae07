//! The knowledge graph as reviews use it: nectr's SQL store (`adapters-graph`), each call bounded by
//! `GRAPH_TIMEOUT_MS`, so a graph that is slow or down delays a review by that much at most and never
//! fails it (the review says its context was unavailable).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use adapters_db::Db;
use adapters_graph::SqlGraph;
use async_trait::async_trait;
use domain::knowledge::{FileExpert, IndexedPullRequest, KnowledgeGraph, RelatedPullRequest};
use domain::webhook::values::RepoFullName;

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

/// The graph on nectr's own database, bounded by `limit`.
pub fn sql_graph(db: &Db, limit: Duration) -> Arc<dyn KnowledgeGraph> {
    let store = SqlGraph::new(db.connection().clone(), db.writer().clone());
    Arc::new(TimedGraph::new(Arc::new(store), limit))
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
