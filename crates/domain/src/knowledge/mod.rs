//! What nectr knows of a repository beyond one diff: who knows its files and which pull requests
//! touched them before ([`graph`]), kept in a knowledge graph behind a port, the job that keeps
//! merged pull requests in it ([`index`]), and the backfill of past ones ([`backfill`]).

pub mod backfill;
pub mod graph;
pub mod index;

pub use graph::{
    FileExpert, IndexedPullRequest, KnowledgeGraph, NoKnowledge, RelatedPullRequest, ReviewContext,
};

pub use backfill::{Backfill, BackfillReport, BackfillStopped};
pub use index::IndexMergedPullRequest;

#[cfg(any(test, feature = "mocks"))]
pub use graph::MockKnowledgeGraph;
