//! Reviewer adapters implementing the domain's `Reviewer` port: `builtin`, the offline, deterministic
//! reviewer (the default); `anthropic`, the Messages API; and `openai`, any OpenAI-compatible chat
//! completions server (OpenAI, Ollama, vLLM, llama.cpp). And the context reviews are given from
//! outside the repository: `linear` (tickets, the domain's `TicketSource`) and `sentry`
//! (production errors, its `ErrorTracker`).

pub mod anthropic;
pub mod builtin;
mod http;
pub mod linear;
pub mod openai;
mod prompt;
pub mod rules;
pub mod sentry;
pub mod syntax;

pub use anthropic::{AnthropicConfig, AnthropicReviewer};
pub use builtin::BuiltinReviewer;
pub use linear::{LinearConfig, LinearTickets};
pub use openai::{OpenAiConfig, OpenAiReviewer};
pub use sentry::{SentryConfig, SentryErrors};
