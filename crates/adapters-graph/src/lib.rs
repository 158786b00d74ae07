//! Knowledge-graph adapters: the domain's `KnowledgeGraph` port (file experts, related pull
//! requests). [`SqlGraph`] keeps it in tables of nectr's own database (SQLite or PostgreSQL), the
//! default that needs nothing else to run.

mod sql;

pub use sql::SqlGraph;
