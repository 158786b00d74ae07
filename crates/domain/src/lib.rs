//! nectr's domain: its rules and use cases, grouped by capability, with the ports adapters implement.
//! No IO and no framework types live here.
//!
//! - [`webhook`]: values with rules, `X-Hub-Signature-256`, what a delivery is about and whether it
//!   asks for a review, the delivery log's record, and the ingest use case.
//! - [`review`]: diffs, file classification, the token budget, context, findings and drafts, parallel
//!   agents, rendering, and the review use case a queued event runs.
//! - [`queue`]: jobs, the status an event is in and the named transitions between them, the retry
//!   policy, and the queue port.
//! - [`knowledge`]: the knowledge graph (file experts, related pull requests) behind its port.
//! - [`memory`]: project memory (rules, patterns, decisions, developers), recalled for each review
//!   and written by `@nectr remember` comments, the API and the model.
//! - [`commands`]: `@nectr …` commands in pull-request comments and the use case that answers them.
//! - [`tickets`]: the Linear issues a pull request refers to and the production errors (Sentry) in
//!   its files, as review context.
//! - [`accounts`]: signing in, connecting, disconnecting and re-keying repositories, the management
//!   reads, and the keyring secrets are sealed with.
//!
//! Shared by all of them: [`error`] (outcomes, not driver details), [`codehost`] (the token and the
//! failures of a code-host call), [`clock`], [`digest`] and [`health`].

pub mod accounts;
pub mod clock;
pub mod codehost;
pub mod commands;
pub mod digest;
pub mod error;
pub mod health;
pub mod knowledge;
pub mod memory;
pub mod queue;
pub mod review;
pub mod tickets;
pub mod webhook;

pub use error::{Error, Result};
