//! Project memory: what a team (or a model, with the team's approval) told nectr about a repository
//! — rules, patterns, decisions, developers' habits — kept per repository, recalled for each review
//! and written by `@nectr remember` comments, the API and the model's proposals.
//!
//! - [`model`]: a memory, its kind, status and source, and the content hash that keeps one copy.
//! - [`rule`]: `forbid "<literal or /regex/>" in "<glob>": <why>`, a check the built-in reviewer
//!   applies offline.
//! - [`recall`]: what a review is given: every active rule (capped), the best full-text matches for
//!   the pull request, and its author's developer memories, in a bounded number of characters.
//! - `@nectr remember` is one of the comment commands ([`crate::commands`]).
//! - [`ports`]: the store.

pub mod model;
pub mod ports;
pub mod recall;
pub mod rule;

pub use model::{
    Memory, MemoryKind, MemoryPatch, MemorySource, MemoryStatus, NewMemory, ProposedMemory,
    Remembered,
};
pub use ports::{MemoryFilter, ProjectMemory};
pub use recall::{Recalled, recall, search_terms};
pub use rule::ForbidRule;

#[cfg(any(test, feature = "mocks"))]
pub use ports::MockProjectMemory;
