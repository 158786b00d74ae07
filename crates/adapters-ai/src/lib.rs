//! Reviewer adapters implementing the domain's `Reviewer` port: `builtin`, the offline, deterministic
//! reviewer (the default); `anthropic`, the Messages API; and `openai`, any OpenAI-compatible chat
//! completions server (OpenAI, Ollama, vLLM, llama.cpp).

pub mod anthropic;
pub mod builtin;
mod http;
pub mod openai;
mod prompt;

pub use anthropic::{AnthropicConfig, AnthropicReviewer};
pub use builtin::BuiltinReviewer;
pub use openai::{OpenAiConfig, OpenAiReviewer};
