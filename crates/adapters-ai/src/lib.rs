//! Reviewer adapters. They will implement the domain's `Reviewer` port: built-in offline rules (the default),
//! the Anthropic Messages API and OpenAI-compatible chat completions. Nothing is implemented yet, and no part
//! of nectr depends on this crate so far.
