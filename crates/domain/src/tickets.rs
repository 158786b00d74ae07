//! Ticket and error context for a review: the Linear issues a pull request refers to, and the
//! unresolved production errors (Sentry) whose stack frames name a changed file. Both optional,
//! both behind ports; their text is the outside world's, so reviewers give it to models delimited
//! and marked as untrusted.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::error::Result;
use crate::review::context::truncate;
use crate::webhook::values::RepoFullName;

/// Tickets given to one review, at most.
pub const MAX_TICKETS: usize = 5;
/// Characters of a ticket's description given to the reviewer, at most.
pub const MAX_TICKET_CHARS: usize = 2_000;
/// How long a cached ticket is used before it is asked for again (Linear's webhooks refresh it
/// sooner).
pub const TICKET_TTL: Duration = Duration::minutes(10);
/// Files asked about in the error tracker, at most (the pull request's first).
pub const MAX_ERROR_FILES: usize = 10;
/// Errors named per file, at most.
pub const MAX_ERRORS_PER_FILE: usize = 3;

/// A ticket (a Linear issue) as a review is given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// `ENG-123`.
    pub identifier: String,
    /// The tracker's own id of it, when known.
    pub id: Option<String>,
    pub title: String,
    /// `In Progress`, `Done`, ...
    pub state: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
}

impl Ticket {
    /// The ticket with its description cut to [`MAX_TICKET_CHARS`].
    pub fn bounded(mut self) -> Self {
        self.description = self
            .description
            .map(|d| truncate(d.trim(), MAX_TICKET_CHARS));
        self
    }
}

/// The ticket identifiers a pull request refers to (in each text, its Linear URLs first), each once, at most [`MAX_TICKETS`]:
/// `linear.app/<workspace>/issue/ENG-123/...` URLs, and `ENG-123` where `ENG` is one of
/// `team_keys` (so `UTF-8`, `SHA-256` or `ISO-8601` never match), as a whole word, in any case
/// (branch names are lower case).
pub fn ticket_refs(texts: &[&str], team_keys: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let push = |id: String, found: &mut Vec<String>| {
        if found.len() < MAX_TICKETS && !found.contains(&id) {
            found.push(id);
        }
    };
    for text in texts {
        for (at, _) in text.match_indices("linear.app/") {
            let rest = &text[at + "linear.app/".len()..];
            let mut parts = rest.split('/');
            if let (Some(_workspace), Some("issue"), Some(id)) =
                (parts.next(), parts.next(), parts.next())
                && let Some(id) = identifier(id, None)
            {
                push(id, &mut found);
            }
        }
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            // `eng-123-fix-login` (a branch) starts with the identifier.
            let mut pieces = word.splitn(3, '-');
            if let (Some(team), Some(number)) = (pieces.next(), pieces.next())
                && let Some(id) = identifier(&format!("{team}-{number}"), Some(team_keys))
            {
                push(id, &mut found);
            }
        }
    }
    found
}

/// `TEAM-123` in upper case if `raw` is one (and its team is in `keys`, when given).
fn identifier(raw: &str, keys: Option<&[String]>) -> Option<String> {
    let (team, number) = raw.split_once('-')?;
    let number: String = number.chars().take_while(char::is_ascii_digit).collect();
    if team.is_empty()
        || team.len() > 10
        || !team.chars().all(|c| c.is_ascii_alphanumeric())
        || !team.starts_with(|c: char| c.is_ascii_alphabetic())
        || number.is_empty()
        || number.len() > 9
        || number.starts_with('0')
    {
        return None;
    }
    let team = team.to_ascii_uppercase();
    if let Some(keys) = keys
        && !keys.iter().any(|k| k.eq_ignore_ascii_case(&team))
    {
        return None;
    }
    Some(format!("{team}-{number}"))
}

/// Where tickets come from (Linear's API).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TicketSource: Send + Sync {
    /// The ticket `identifier` names; `None` when there is no such ticket (or the key may not see
    /// it).
    ///
    /// # Errors
    /// `Transient` for a timeout, a 5xx or a rate limit; `Permanent` for a refused key.
    async fn ticket(&self, identifier: &str) -> Result<Option<Ticket>>;
}

/// Tickets kept between reviews.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TicketCache: Send + Sync {
    /// The cached ticket and when it was fetched.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn cached(&self, identifier: &str) -> Result<Option<(Ticket, DateTime<Utc>)>>;
    /// Keeps `ticket` as fetched at `at`, replacing any older copy.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn keep(&self, ticket: &Ticket, at: DateTime<Utc>) -> Result<()>;
}

/// An unresolved production error whose stack names a changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionError {
    /// `BACKEND-3F`.
    pub short_id: String,
    pub title: String,
    pub culprit: Option<String>,
    /// Events in the period.
    pub count: u64,
    pub user_count: u64,
    pub last_seen: Option<DateTime<Utc>>,
    pub permalink: Option<String>,
}

/// The errors of one changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileErrors {
    pub path: String,
    pub errors: Vec<ProductionError>,
}

/// Where production errors come from (Sentry).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ErrorTracker: Send + Sync {
    /// The unresolved errors of the last 14 days whose stack frames name one of `paths` (at most
    /// [`MAX_ERROR_FILES`] asked, [`MAX_ERRORS_PER_FILE`] each), per file; files without errors
    /// are left out, and so is a repository the tracker has no project for.
    ///
    /// # Errors
    /// `Transient` for a timeout, a 5xx or a rate limit; `Permanent` for a refused token.
    async fn unresolved_errors(
        &self,
        repository: &RepoFullName,
        paths: &[String],
    ) -> Result<Vec<FileErrors>>;
}

/// Tickets through a cache: a ticket fetched within [`TICKET_TTL`] (or pushed by a webhook) is not
/// asked for again; one the source cannot give now is served stale rather than not at all.
#[derive(Clone)]
pub struct CachedTickets {
    pub source: std::sync::Arc<dyn TicketSource>,
    pub cache: std::sync::Arc<dyn TicketCache>,
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl std::fmt::Debug for CachedTickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachedTickets")
    }
}

#[async_trait]
impl TicketSource for CachedTickets {
    async fn ticket(&self, identifier: &str) -> Result<Option<Ticket>> {
        let now = self.clock.now();
        let cached = match self.cache.cached(identifier).await {
            Ok(cached) => cached,
            Err(e) => {
                tracing::warn!(error = %e, "ticket cache unavailable");
                None
            }
        };
        if let Some((ticket, at)) = &cached
            && now - *at < TICKET_TTL
        {
            return Ok(Some(ticket.clone()));
        }
        match self.source.ticket(identifier).await {
            Ok(Some(ticket)) => {
                let ticket = ticket.bounded();
                if let Err(e) = self.cache.keep(&ticket, now).await {
                    tracing::warn!(error = %e, "could not cache a ticket");
                }
                Ok(Some(ticket))
            }
            Ok(None) => Ok(None),
            Err(e) => match cached {
                Some((ticket, _)) => {
                    tracing::warn!(error = %e, "ticket source failed; using the cached copy");
                    Ok(Some(ticket))
                }
                None => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn keys() -> Vec<String> {
        vec!["ENG".into(), "OPS".into()]
    }

    #[test]
    fn configured_team_keys_and_linear_urls_are_references() {
        let found = ticket_refs(
            &[
                "Fix login (ENG-123), see https://linear.app/acme/issue/DES-7/new-logo and ops-9.",
                "eng-124-retry-payments",
                "UTF-8, SHA-256, ISO-8601, ENG-0, ENG-, XENG-5, ENG-123 again",
            ],
            &keys(),
        );
        assert_eq!(found, ["DES-7", "ENG-123", "OPS-9", "ENG-124"]);
    }

    #[test]
    fn without_team_keys_only_urls_count_and_there_is_a_cap() {
        assert!(ticket_refs(&["ENG-1 ENG-2"], &[]).is_empty());
        let many = (1..20)
            .map(|n| format!("ENG-{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(ticket_refs(&[&many], &keys()).len(), MAX_TICKETS);
    }

    fn ticket(title: &str) -> Ticket {
        Ticket {
            identifier: "ENG-1".into(),
            id: None,
            title: title.into(),
            state: None,
            description: Some("d".repeat(MAX_TICKET_CHARS * 2)),
            url: None,
        }
    }

    #[derive(Debug)]
    struct Fixed(DateTime<Utc>);
    impl crate::clock::Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    #[tokio::test]
    async fn a_fresh_copy_is_served_from_the_cache_and_a_stale_one_when_the_source_fails() {
        let now = Utc::now();
        let mut cache = MockTicketCache::new();
        cache
            .expect_cached()
            .returning(move |_| Ok(Some((ticket("cached"), now - Duration::minutes(1)))));
        let source = MockTicketSource::new(); // never asked
        let tickets = CachedTickets {
            source: Arc::new(source),
            cache: Arc::new(cache),
            clock: Arc::new(Fixed(now)),
        };
        assert_eq!(
            tickets.ticket("ENG-1").await.unwrap().unwrap().title,
            "cached"
        );

        let mut cache = MockTicketCache::new();
        cache
            .expect_cached()
            .returning(move |_| Ok(Some((ticket("old"), now - Duration::hours(2)))));
        let mut source = MockTicketSource::new();
        source
            .expect_ticket()
            .returning(|_| Err(crate::Error::Transient("timeout".into())));
        let tickets = CachedTickets {
            source: Arc::new(source),
            cache: Arc::new(cache),
            clock: Arc::new(Fixed(now)),
        };
        assert_eq!(tickets.ticket("ENG-1").await.unwrap().unwrap().title, "old");
    }

    #[tokio::test]
    async fn a_fetched_ticket_is_bounded_and_kept() {
        let mut cache = MockTicketCache::new();
        cache.expect_cached().returning(|_| Ok(None));
        cache
            .expect_keep()
            .withf(|t, _| t.description.as_ref().unwrap().chars().count() < MAX_TICKET_CHARS + 50)
            .times(1)
            .returning(|_, _| Ok(()));
        let mut source = MockTicketSource::new();
        source
            .expect_ticket()
            .returning(|_| Ok(Some(ticket("new"))));
        let tickets = CachedTickets {
            source: Arc::new(source),
            cache: Arc::new(cache),
            clock: Arc::new(Fixed(Utc::now())),
        };
        assert_eq!(tickets.ticket("ENG-1").await.unwrap().unwrap().title, "new");
    }
}
