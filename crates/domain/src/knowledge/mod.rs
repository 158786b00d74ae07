//! What nectr knows of a repository beyond one diff: who knows its files and which pull requests
//! touched them before ([`graph`]), kept in a knowledge graph behind a port.

pub mod graph;

pub use graph::{
    FileExpert, IndexedPullRequest, KnowledgeGraph, NoKnowledge, RelatedPullRequest, ReviewContext,
};

#[cfg(any(test, feature = "mocks"))]
pub use graph::MockKnowledgeGraph;
