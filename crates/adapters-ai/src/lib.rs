//! Reviewer adapters implementing the domain's `Reviewer` port: `builtin`, the offline, deterministic
//! reviewer (the default), and `anthropic`, the Messages API. The OpenAI-compatible reviewer comes next.

pub mod anthropic;
pub mod builtin;
mod prompt;

pub use anthropic::{AnthropicConfig, AnthropicReviewer};
pub use builtin::BuiltinReviewer;
