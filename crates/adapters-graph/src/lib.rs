//! Knowledge-graph adapters: the domain's `KnowledgeGraph` port (file experts, related pull
//! requests). [`SqlGraph`] keeps it in tables of nectr's own database (SQLite or PostgreSQL), the
//! default that needs nothing else to run; [`BoltGraph`] keeps it in a Cypher graph database over
//! Bolt (Neo4j 5, Memgraph, ArcadeDB), for teams that run one.

mod bolt;
mod related;
mod sql;

pub use bolt::{BoltConfig, BoltGraph};
pub use sql::SqlGraph;
