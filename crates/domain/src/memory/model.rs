//! A memory and the values it is made of. Every memory is one repository's; its content hash
//! (of the normalised content, per kind and developer) keeps a repository from holding the same
//! memory twice, whoever writes it.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::webhook::values::RepoFullName;

/// The longest title kept.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest content kept.
pub const MAX_CONTENT_CHARS: usize = 4_000;

/// What a memory is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    /// Always applied: every active rule is given to every review (and a `forbid` rule is checked
    /// by the built-in reviewer).
    Rule,
    /// How this code base does things.
    Pattern,
    /// Something decided before, and why.
    Decision,
    /// A developer's habits or strengths; recalled for their own pull requests.
    Developer,
}

impl MemoryKind {
    pub const ALL: [Self; 4] = [Self::Rule, Self::Pattern, Self::Decision, Self::Developer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Pattern => "pattern",
            Self::Decision => "decision",
            Self::Developer => "developer",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

/// Whether a memory is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryStatus {
    /// Recalled for reviews.
    Active,
    /// Proposed (by a model), waiting for a person to accept or reject it.
    Pending,
    /// Turned down; kept so the same proposal is not made again.
    Rejected,
}

impl MemoryStatus {
    pub const ALL: [Self; 3] = [Self::Active, Self::Pending, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

/// Where a memory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemorySource {
    /// Proposed by the model after reviewing a pull request.
    PullRequest,
    /// A member's `@nectr remember` comment.
    Comment,
    /// The management API.
    Api,
}

impl MemorySource {
    pub const ALL: [Self; 3] = [Self::PullRequest, Self::Comment, Self::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PullRequest => "pull_request",
            Self::Comment => "comment",
            Self::Api => "api",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A stored memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    pub id: i64,
    pub repository: RepoFullName,
    pub kind: MemoryKind,
    /// The developer a `developer` memory is about (a GitHub login).
    pub developer: Option<String>,
    pub title: String,
    pub content: String,
    pub source: MemorySource,
    /// Which pull request or comment it came from (`#12`, `comment 1234`), or who wrote it through
    /// the API.
    pub source_ref: Option<String>,
    pub status: MemoryStatus,
    pub content_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A memory to store, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMemory {
    pub repository: RepoFullName,
    pub kind: MemoryKind,
    pub developer: Option<String>,
    pub title: String,
    pub content: String,
    pub source: MemorySource,
    pub source_ref: Option<String>,
    pub status: MemoryStatus,
}

/// A memory a model proposes after a review (stored `pending` unless the repository auto-accepts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedMemory {
    pub kind: MemoryKind,
    pub title: String,
    pub content: String,
}

/// What storing a memory did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remembered {
    Created(Memory),
    /// The repository already holds this memory (same kind, developer and content): nothing stored.
    Exists(Memory),
}

impl Remembered {
    pub fn memory(&self) -> &Memory {
        match self {
            Self::Created(m) | Self::Exists(m) => m,
        }
    }
}

/// A change to a memory; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryPatch {
    pub title: Option<String>,
    pub content: Option<String>,
    pub status: Option<MemoryStatus>,
}

/// A GitHub login: 1 to 39 letters, digits and single hyphens (`[bot]` accounts too).
fn valid_login(login: &str) -> bool {
    let name = login.strip_suffix("[bot]").unwrap_or(login);
    !name.is_empty()
        && name.len() <= 39
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `text` trimmed, required and at most `max` characters.
pub fn checked_text(what: &'static str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(what, "must not be empty"));
    }
    let count = text.chars().count();
    if count > max {
        return Err(Error::invalid(
            what,
            format!("at most {max} characters, got {count}"),
        ));
    }
    Ok(text.to_owned())
}

/// A title from the content: its first line, cut to 80 characters.
pub fn title_of(content: &str) -> String {
    let line = content.trim().lines().next().unwrap_or("").trim();
    match line.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

impl NewMemory {
    /// A memory with its rules checked: a title and content within bounds (the title defaults to
    /// the content's first line), and a developer (a valid login) exactly for `developer` memories.
    ///
    /// # Errors
    /// `Invalid`, saying which rule was broken.
    #[allow(clippy::too_many_arguments)] // the fields of the value, each checked
    pub fn new(
        repository: RepoFullName,
        kind: MemoryKind,
        developer: Option<String>,
        title: Option<&str>,
        content: &str,
        source: MemorySource,
        source_ref: Option<String>,
        status: MemoryStatus,
    ) -> Result<Self> {
        let content = checked_text("memory content", content, MAX_CONTENT_CHARS)?;
        let title = match title {
            Some(title) => checked_text("memory title", title, MAX_TITLE_CHARS)?,
            None => title_of(&content),
        };
        let developer = developer
            .map(|d| d.trim().trim_start_matches('@').to_owned())
            .filter(|d| !d.is_empty());
        match (&developer, kind) {
            (None, MemoryKind::Developer) => {
                return Err(Error::invalid(
                    "memory",
                    "a developer memory names its developer (a GitHub login)",
                ));
            }
            (Some(login), MemoryKind::Developer) if !valid_login(login) => {
                return Err(Error::invalid(
                    "memory developer",
                    "not a GitHub login (letters, digits and hyphens, at most 39)",
                ));
            }
            (Some(_), kind) if kind != MemoryKind::Developer => {
                return Err(Error::invalid(
                    "memory",
                    "only a developer memory names a developer",
                ));
            }
            _ => {}
        }
        Ok(Self {
            repository,
            kind,
            developer,
            title,
            content,
            source,
            source_ref,
            status,
        })
    }

    /// The hash that keeps one copy per repository and kind: of the developer (lower case) and the
    /// content with case and runs of whitespace normalised, so re-wording the spacing or the title
    /// does not make a second memory.
    pub fn content_hash(&self) -> String {
        content_hash(self.developer.as_deref(), &self.content)
    }
}

/// See [`NewMemory::content_hash`]; also for an edited content.
pub fn content_hash(developer: Option<&str>, content: &str) -> String {
    let words: Vec<String> = content.split_whitespace().map(str::to_lowercase).collect();
    let developer = developer.unwrap_or("").to_ascii_lowercase();
    crate::digest::sha256_hex(format!("{developer}\n{}", words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> RepoFullName {
        RepoFullName::parse("acme/backend").unwrap()
    }

    fn new(kind: MemoryKind, developer: Option<&str>, content: &str) -> Result<NewMemory> {
        NewMemory::new(
            repo(),
            kind,
            developer.map(str::to_owned),
            None,
            content,
            MemorySource::Api,
            None,
            MemoryStatus::Active,
        )
    }

    #[test]
    fn the_hash_ignores_case_and_spacing_but_not_words_or_developer() {
        let a = new(MemoryKind::Rule, None, "Use  tracing,\nnot println").unwrap();
        let b = new(MemoryKind::Rule, None, "use tracing, not PRINTLN").unwrap();
        let c = new(MemoryKind::Rule, None, "use tracing, not eprintln").unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        assert_ne!(a.content_hash(), c.content_hash());
        let alice = new(MemoryKind::Developer, Some("alice"), "writes tests").unwrap();
        let bob = new(MemoryKind::Developer, Some("bob"), "writes tests").unwrap();
        assert_ne!(alice.content_hash(), bob.content_hash());
    }

    #[test]
    fn a_developer_memory_and_only_it_names_a_developer() {
        assert!(new(MemoryKind::Developer, None, "x").is_err());
        assert!(new(MemoryKind::Developer, Some("not a login!"), "x").is_err());
        assert!(new(MemoryKind::Rule, Some("alice"), "x").is_err());
        let ok = new(MemoryKind::Developer, Some("@alice"), "x").unwrap();
        assert_eq!(ok.developer.as_deref(), Some("alice"));
    }

    #[test]
    fn text_is_required_and_bounded_and_the_title_defaults_to_the_first_line() {
        assert!(new(MemoryKind::Rule, None, "  \n ").is_err());
        assert!(new(MemoryKind::Rule, None, &"x".repeat(MAX_CONTENT_CHARS + 1)).is_err());
        let m = new(MemoryKind::Decision, None, "  We chose SQLx.\nBecause.").unwrap();
        assert_eq!(
            (m.title.as_str(), m.content.as_str()),
            ("We chose SQLx.", "We chose SQLx.\nBecause.")
        );
        assert_eq!(title_of(&"é".repeat(100)).chars().count(), 81);
    }

    #[test]
    fn names_round_trip() {
        for k in MemoryKind::ALL {
            assert_eq!(MemoryKind::parse(k.as_str()), Some(k));
        }
        for s in MemoryStatus::ALL {
            assert_eq!(MemoryStatus::parse(s.as_str()), Some(s));
        }
        for s in MemorySource::ALL {
            assert_eq!(MemorySource::parse(s.as_str()), Some(s));
        }
        assert_eq!(MemoryKind::parse("nope"), None);
    }
}
