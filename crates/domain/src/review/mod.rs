//! Reviewing a pull request: the diff ([`diff`]), which files deserve attention ([`classify`]), the
//! token budget ([`budget`]), context beyond the diff ([`context`]), findings, drafts and the
//! [`Reviewer`] contract ([`model`]), parallel agents ([`agents`]), rendering for GitHub ([`render`]),
//! the memory, ticket and error context ([`sources`]), the code host and token ports ([`codehost`], [`ports`]) and the review use case ([`service`]), whose
//! stages are `prepare` → `gather` → review chunks → `post` → record.

pub mod agents;
pub mod budget;
pub mod classify;
pub mod codehost;
pub mod config;
pub mod context;
pub mod controls;
pub mod diff;
mod gather;
pub mod model;
pub mod ondemand;
pub mod ports;
mod post;
mod prepare;
pub mod render;
pub mod service;
pub mod sources;
pub mod status;
pub mod walkthrough;

pub use codehost::CodeHost;
pub use controls::{MonthUsage, PriceTable, RepoDefaults, ReviewControls, UsageStore};
pub use model::{
    Category, Finding, Focus, LinkedIssue, MAX_SOURCE_BYTES, ReviewDraft, ReviewError,
    ReviewRequest, Reviewer, Severity, Sources, Usage,
};
pub use ports::{FallbackToken, RepositoryTokens};
pub use prepare::PROBE_BODY;
pub use service::ReviewPullRequest;
pub use sources::{AutoAccept, ReviewSources};

#[cfg(any(test, feature = "mocks"))]
pub use {codehost::MockCodeHost, model::MockReviewer, ports::MockRepositoryTokens};
