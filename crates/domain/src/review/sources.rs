//! Context a review is given from beyond the code host and the knowledge graph: the project memory,
//! the tickets the pull request refers to (Linear) and the production errors in its files (Sentry).
//! Each is optional; each failure is logged and the review goes on without it. After a model's
//! review, the memories it proposes are kept (`pending` unless the repository auto-accepts).

use std::sync::Arc;

use crate::memory::{
    MemoryKind, MemorySource, MemoryStatus, NewMemory, ProjectMemory, Recalled, Remembered, recall,
};
use crate::review::prepare::Target;
use crate::review::{ReviewDraft, ReviewRequest};
use crate::tickets::{
    ErrorTracker, FileErrors, MAX_ERROR_FILES, Ticket, TicketSource, ticket_refs,
};
use crate::webhook::values::RepoFullName;

/// Memories a model may propose per review, at most.
pub const MAX_PROPOSED: usize = 4;

/// Which repositories take a model's proposed memories as active at once (else they wait,
/// `pending`, for a person).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AutoAccept {
    /// None: every proposal waits.
    #[default]
    Never,
    /// These repositories (lower-case keys).
    Repositories(Vec<String>),
    /// Every repository.
    All,
}

impl AutoAccept {
    /// `*` for all, else a comma-separated list of `owner/repo`; empty for none.
    pub fn parse(raw: &str) -> Self {
        let names: Vec<String> = raw
            .split(',')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        if names.iter().any(|n| n == "*") {
            Self::All
        } else if names.is_empty() {
            Self::Never
        } else {
            Self::Repositories(names)
        }
    }

    pub fn accepts(&self, repository: &RepoFullName) -> bool {
        match self {
            Self::Never => false,
            Self::All => true,
            Self::Repositories(keys) => keys.contains(&repository.key()),
        }
    }
}

/// Where a review's outside context comes from.
#[derive(Clone, Default)]
pub struct ReviewSources {
    pub memory: Option<Arc<dyn ProjectMemory>>,
    pub tickets: Option<Arc<dyn TicketSource>>,
    /// Linear team keys whose `KEY-123` identifiers are ticket references.
    pub team_keys: Vec<String>,
    pub errors: Option<Arc<dyn ErrorTracker>>,
    pub auto_accept: AutoAccept,
}

impl std::fmt::Debug for ReviewSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewSources")
            .field("memory", &self.memory.is_some())
            .field("tickets", &self.tickets.is_some())
            .field("team_keys", &self.team_keys)
            .field("errors", &self.errors.is_some())
            .field("auto_accept", &self.auto_accept)
            .finish()
    }
}

/// What the sources gave one review.
#[derive(Debug, Clone, Default)]
pub(super) struct Sourced {
    pub memory: Recalled,
    pub tickets: Vec<Ticket>,
    pub errors: Vec<FileErrors>,
    /// Sources that failed (named in the run's figures).
    pub failed: Vec<&'static str>,
}

impl Sourced {
    /// Fills the request's memory, rules, tickets and errors.
    pub fn fill(&self, request: &mut ReviewRequest) {
        request.memory = self.memory.prompt();
        request.rules = self.memory.forbid_rules();
        request.tickets.clone_from(&self.tickets);
        request.errors.clone_from(&self.errors);
    }

    /// The review body's lines about them: the memory used, the tickets, the files with errors.
    pub fn render(&self) -> Vec<String> {
        let mut lines = Vec::new();
        lines.extend(self.memory.summary());
        for t in &self.tickets {
            let state = t
                .state
                .as_deref()
                .map_or(String::new(), |s| format!(" ({s})"));
            let name = match &t.url {
                Some(url) => format!("[{}]({url})", t.identifier),
                None => t.identifier.clone(),
            };
            lines.push(format!("Ticket: {name} {}{state}", t.title));
        }
        for f in &self.errors {
            let n = f.errors.len();
            lines.push(format!(
                "`{}`: {n} unresolved {} in production",
                f.path,
                if n == 1 { "error" } else { "errors" }
            ));
        }
        lines
    }
}

impl ReviewSources {
    /// Asks every configured source about the pull request, at once.
    pub(super) async fn gather(&self, target: &Target, paths: &[String]) -> Sourced {
        let pr = &target.pr;
        let (memory, tickets, errors) = futures_util::future::join3(
            self.recall(target, paths),
            self.tickets(target),
            self.errors(&target.repo, paths),
        )
        .await;
        let mut failed = Vec::new();
        let memory = memory.unwrap_or_else(|| {
            failed.push("memory");
            Recalled {
                unavailable: true,
                ..Recalled::default()
            }
        });
        let tickets = tickets.unwrap_or_else(|| {
            failed.push("tickets");
            Vec::new()
        });
        let errors = errors.unwrap_or_else(|| {
            failed.push("errors");
            Vec::new()
        });
        tracing::debug!(pr = pr.number, ?failed, "review sources gathered");
        Sourced {
            memory,
            tickets,
            errors,
            failed,
        }
    }

    async fn recall(&self, target: &Target, paths: &[String]) -> Option<Recalled> {
        let Some(memory) = &self.memory else {
            return Some(Recalled::default());
        };
        let pr = &target.pr;
        match recall(
            memory.as_ref(),
            &target.repo,
            &pr.author,
            &pr.title,
            pr.body.as_deref(),
            paths,
        )
        .await
        {
            Ok(recalled) => Some(recalled),
            Err(e) => {
                tracing::warn!(error = %e, "project memory unavailable; reviewing without it");
                None
            }
        }
    }

    async fn tickets(&self, target: &Target) -> Option<Vec<Ticket>> {
        let Some(source) = &self.tickets else {
            return Some(Vec::new());
        };
        let pr = &target.pr;
        let refs = ticket_refs(
            &[&pr.title, pr.body.as_deref().unwrap_or(""), &pr.head_ref],
            &self.team_keys,
        );
        let mut tickets = Vec::new();
        for identifier in refs {
            match source.ticket(&identifier).await {
                Ok(Some(ticket)) => tickets.push(ticket.bounded()),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "ticket source unavailable; reviewing without it");
                    return None;
                }
            }
        }
        Some(tickets)
    }

    async fn errors(&self, repo: &RepoFullName, paths: &[String]) -> Option<Vec<FileErrors>> {
        let Some(tracker) = &self.errors else {
            return Some(Vec::new());
        };
        let paths = &paths[..paths.len().min(MAX_ERROR_FILES)];
        match tracker.unresolved_errors(repo, paths).await {
            Ok(errors) => Some(errors),
            Err(e) => {
                tracing::warn!(error = %e, "error tracker unavailable; reviewing without it");
                None
            }
        }
    }

    /// Keeps what the model proposed (at most [`MAX_PROPOSED`]): `pending` unless the repository
    /// auto-accepts. `developer` memories are about the pull request's author. Returns how many
    /// new ones were stored; a failure is logged, the review stands.
    pub(super) async fn keep_proposals(&self, target: &Target, draft: &ReviewDraft) -> usize {
        let Some(memory) = &self.memory else {
            return 0;
        };
        let status = if self.auto_accept.accepts(&target.repo) {
            MemoryStatus::Active
        } else {
            MemoryStatus::Pending
        };
        let mut stored = 0;
        for proposed in draft.memories.iter().take(MAX_PROPOSED) {
            let developer =
                (proposed.kind == MemoryKind::Developer).then(|| target.pr.author.clone());
            let new = NewMemory::new(
                target.repo.clone(),
                proposed.kind,
                developer,
                Some(&proposed.title),
                &proposed.content,
                MemorySource::PullRequest,
                Some(format!("#{}", target.pr.number)),
                status,
            );
            let Ok(new) = new else {
                continue;
            };
            match memory.remember(new, chrono::Utc::now()).await {
                Ok(Remembered::Created(_)) => stored += 1,
                Ok(Remembered::Exists(_)) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not keep the model's proposed memories");
                    break;
                }
            }
        }
        stored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_accept_reads_a_list_or_a_star() {
        let repo = RepoFullName::parse("Acme/Backend").unwrap();
        assert!(!AutoAccept::parse("").accepts(&repo));
        assert!(AutoAccept::parse("*").accepts(&repo));
        assert!(AutoAccept::parse(" acme/backend , x/y").accepts(&repo));
        assert!(!AutoAccept::parse("acme/web").accepts(&repo));
    }
}
