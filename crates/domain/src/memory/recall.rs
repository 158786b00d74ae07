//! What a review recalls of the project memory: every active rule (capped), the best full-text
//! matches for the pull request's title, description and changed paths, and its author's
//! `developer` memories; given to the reviewer in a bounded number of characters and named in the
//! review's body.

use std::collections::HashSet;

use crate::error::Result;
use crate::memory::model::{Memory, MemoryKind, MemoryStatus};
use crate::memory::ports::{MemoryFilter, ProjectMemory};
use crate::memory::rule::ForbidRule;
use crate::webhook::values::RepoFullName;

/// Active rules given to one review, at most (the newest).
pub const MAX_RULES: u64 = 25;
/// Full-text matches given to one review, at most.
pub const MAX_MATCHES: u64 = 8;
/// The author's developer memories given to one review, at most.
pub const MAX_DEVELOPER: u64 = 4;
/// Characters of memory text in one review request, at most.
pub const MAX_MEMORY_CHARS: usize = 6_000;
/// Search terms made from a pull request, at most.
pub const MAX_TERMS: usize = 12;

const STOPWORDS: [&str; 40] = [
    "the", "and", "for", "with", "this", "that", "from", "into", "are", "was", "were", "will",
    "not", "but", "all", "any", "can", "has", "have", "had", "its", "our", "you", "your", "use",
    "add", "adds", "added", "fix", "fixes", "fixed", "update", "updates", "src", "lib", "mod",
    "main", "test", "tests", "rs",
];

/// Words to search the memory with: lower-case runs of letters and digits of 3 characters or more
/// from the title, the description and the changed paths' segments, stopwords out, each once, at
/// most [`MAX_TERMS`] (the title's first). Only words: never query syntax, whatever the text holds.
pub fn search_terms(title: &str, description: Option<&str>, paths: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut terms = Vec::new();
    let description = description.unwrap_or("");
    let description = &description[..description.floor_char_boundary(2_000)];
    let texts = std::iter::once(title)
        .chain(paths.iter().map(String::as_str))
        .chain(std::iter::once(description));
    for text in texts {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            let word = word.to_lowercase();
            if word.chars().count() < 3
                || word.chars().all(|c| c.is_ascii_digit())
                || STOPWORDS.contains(&word.as_str())
                || !seen.insert(word.clone())
            {
                continue;
            }
            terms.push(word);
            if terms.len() == MAX_TERMS {
                return terms;
            }
        }
    }
    terms
}

/// What a review recalled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recalled {
    /// Every active rule (at most [`MAX_RULES`]).
    pub rules: Vec<Memory>,
    /// Active patterns and decisions matching the pull request.
    pub related: Vec<Memory>,
    /// The author's active developer memories.
    pub developer: Vec<Memory>,
    /// The memory store failed: the review went on without it.
    pub unavailable: bool,
}

impl Recalled {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.related.is_empty() && self.developer.is_empty()
    }

    /// The rules written as `forbid "…" in "…": …`, for the built-in reviewer. One that does not
    /// parse (written before the check, or through the store directly) is left out.
    pub fn forbid_rules(&self) -> Vec<ForbidRule> {
        self.rules
            .iter()
            .filter(|m| ForbidRule::looks_like_one(&m.content))
            .filter_map(|m| ForbidRule::parse(m.id, &m.content).ok())
            .collect()
    }

    /// The memory as the model reads it, rules first, at most [`MAX_MEMORY_CHARS`] characters
    /// (whole memories only); `None` when nothing was recalled.
    pub fn prompt(&self) -> Option<String> {
        let mut text = String::new();
        let mut left = MAX_MEMORY_CHARS;
        let sections = [
            ("Rules (always apply)", &self.rules),
            ("Patterns and decisions", &self.related),
            ("About the author", &self.developer),
        ];
        for (heading, memories) in sections {
            let mut section = String::new();
            for m in memories.iter() {
                let line = format!("- [{}] {}: {}\n", m.kind.as_str(), m.title, m.content);
                let size = line.chars().count();
                if size > left {
                    continue;
                }
                left -= size;
                section.push_str(&line);
            }
            if !section.is_empty() {
                text.push_str(&format!("{heading}:\n{section}"));
            }
        }
        (!text.is_empty()).then_some(text)
    }

    /// The line the review's body names the memory with: `Project memory: 3 rules applied, 2
    /// memories recalled`; `None` when nothing was recalled.
    pub fn summary(&self) -> Option<String> {
        if self.unavailable {
            return Some("Project memory: unavailable for this review".to_owned());
        }
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        if !self.rules.is_empty() {
            parts.push(format!(
                "{} applied",
                plural(self.rules.len(), "rule", "rules")
            ));
        }
        let others = self.related.len() + self.developer.len();
        if others > 0 {
            parts.push(format!("{} recalled", plural(others, "memory", "memories")));
        }
        (!parts.is_empty()).then(|| format!("Project memory: {}", parts.join(", ")))
    }
}

/// Recalls the memory for a pull request of `repository` by `author`.
///
/// # Errors
/// `Transient` when the store cannot be reached (the caller reviews without memory).
pub async fn recall(
    memory: &dyn ProjectMemory,
    repository: &RepoFullName,
    author: &str,
    title: &str,
    description: Option<&str>,
    paths: &[String],
) -> Result<Recalled> {
    let active = |kind, developer: Option<&str>| MemoryFilter {
        status: Some(MemoryStatus::Active),
        kind: Some(kind),
        developer: developer.map(str::to_owned),
    };
    let rules = memory
        .list(repository, &active(MemoryKind::Rule, None), MAX_RULES, 0)
        .await?;
    let terms = search_terms(title, description, paths);
    let mut related = if terms.is_empty() {
        Vec::new()
    } else {
        memory.search(repository, &terms, MAX_MATCHES).await?
    };
    let developer = memory
        .list(
            repository,
            &active(MemoryKind::Developer, Some(author)),
            MAX_DEVELOPER,
            0,
        )
        .await?;
    // A developer memory found by the search is given once, under the author (or not at all when
    // it is about someone else).
    related.retain(|m| m.kind != MemoryKind::Developer);
    Ok(Recalled {
        rules,
        related,
        developer,
        unavailable: false,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::memory::model::MemorySource;

    fn memory(id: i64, kind: MemoryKind, content: &str) -> Memory {
        Memory {
            id,
            repository: RepoFullName::parse("acme/backend").unwrap(),
            kind,
            developer: None,
            title: format!("m{id}"),
            content: content.into(),
            source: MemorySource::Api,
            source_ref: None,
            status: MemoryStatus::Active,
            content_hash: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn terms_are_plain_words_whatever_the_text_holds() {
        let terms = search_terms(
            r#"fix: "auth (token" OR NOT x*"#,
            Some("Refactors the payment retry; see UTF-8 and 2024."),
            &["src/payments/retry_policy.rs".into()],
        );
        assert_eq!(
            terms,
            [
                "auth",
                "token",
                "payments",
                "retry",
                "policy",
                "refactors",
                "payment",
                "see",
                "utf"
            ]
        );
        let many = (0..50)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(search_terms(&many, None, &[]).len(), MAX_TERMS);
    }

    #[test]
    fn the_prompt_is_bounded_and_rules_come_first() {
        let recalled = Recalled {
            rules: vec![memory(
                1,
                MemoryKind::Rule,
                r#"forbid "println!" in "src/**": log"#,
            )],
            related: (2..100)
                .map(|i| memory(i, MemoryKind::Decision, &"d".repeat(500)))
                .collect(),
            ..Recalled::default()
        };
        let text = recalled.prompt().unwrap();
        assert!(text.starts_with("Rules (always apply):\n- [rule] m1: forbid"));
        assert!(text.chars().count() <= MAX_MEMORY_CHARS + 100);
        assert_eq!(recalled.forbid_rules().len(), 1);
        assert_eq!(
            recalled.summary().as_deref(),
            Some("Project memory: 1 rule applied, 98 memories recalled")
        );
        assert_eq!(Recalled::default().summary(), None);
        assert_eq!(Recalled::default().prompt(), None);
    }
}
