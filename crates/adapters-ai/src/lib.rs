//! Reviewer adapters implementing the domain's `Reviewer` port. So far: `builtin`, the offline,
//! deterministic reviewer (the default). The Anthropic and OpenAI-compatible reviewers come next.

pub mod builtin;

pub use builtin::BuiltinReviewer;
