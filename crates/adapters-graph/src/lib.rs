//! Knowledge-graph adapters. They will implement the domain's `KnowledgeGraph` port (file experts, related
//! pull requests) on SQL by default and on Neo4j for those who run one. Nothing is implemented yet, and no
//! part of nectr depends on this crate so far.
