//! Rules a reviewer can apply without a model: a memory whose content reads
//! `forbid "<literal or /regex/>" in "<glob>": <why>` flags every added line of a matching file
//! that contains the literal (or matches the regex between slashes).

use globset::{GlobBuilder, GlobMatcher};
use regex::{Regex, RegexBuilder};

use crate::error::{Error, Result};

/// The most compiled size of a rule's regex (the regex crate's matching is linear in the text, so
/// this bounds memory, not time).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone)]
enum Pattern {
    Literal(String),
    Regex(Regex),
}

/// A parsed `forbid` rule.
#[derive(Debug, Clone)]
pub struct ForbidRule {
    /// The memory it was read from.
    pub memory_id: i64,
    /// The pattern as written (`println!`, `/\bunsafe\b/`).
    pub pattern: String,
    /// The glob as written (`src/**/*.rs`).
    pub glob: String,
    pub why: String,
    compiled: Pattern,
    matcher: GlobMatcher,
}

impl PartialEq for ForbidRule {
    fn eq(&self, other: &Self) -> bool {
        (self.memory_id, &self.pattern, &self.glob, &self.why)
            == (other.memory_id, &other.pattern, &other.glob, &other.why)
    }
}

impl Eq for ForbidRule {}

/// A double-quoted string at the start of `text` (`\"` and `\\` escaped), and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let rest = text.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => value.push(escaped),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => return None,
            },
            '"' => return Some((value, &rest[i + 1..])),
            c => value.push(c),
        }
    }
    None
}

/// `word` (case-insensitive) at the start of `text`, followed by whitespace; what follows.
fn keyword<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace))
        .then(|| rest.trim_start())
}

impl ForbidRule {
    /// Whether `text` is written as a rule at all (it starts with `forbid "`): such a text that
    /// does not parse is an error worth telling its author, not a plain memory.
    pub fn looks_like_one(text: &str) -> bool {
        keyword(text.trim_start(), "forbid").is_some_and(|rest| rest.starts_with('"'))
    }

    /// Reads `forbid "<pattern>" in "<glob>": <why>`.
    ///
    /// # Errors
    /// `Invalid`, saying what does not read: the shape, an empty pattern, a bad regex or glob, or
    /// a missing reason.
    pub fn parse(memory_id: i64, text: &str) -> Result<Self> {
        const SHAPE: &str = r#"write it as: forbid "<text or /regex/>" in "<glob>": <why>"#;
        let invalid = |why: String| Error::invalid("forbid rule", why);
        let rest = keyword(text.trim(), "forbid").ok_or_else(|| invalid(SHAPE.into()))?;
        let (pattern, rest) = quoted(rest).ok_or_else(|| invalid(SHAPE.into()))?;
        let rest = keyword(rest.trim_start(), "in").ok_or_else(|| invalid(SHAPE.into()))?;
        let (glob, rest) = quoted(rest).ok_or_else(|| invalid(SHAPE.into()))?;
        let why = rest
            .trim_start()
            .strip_prefix(':')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| invalid(format!("say why after a colon; {SHAPE}")))?;
        if pattern.is_empty() || glob.trim().is_empty() {
            return Err(invalid("the text and the glob must not be empty".into()));
        }
        let compiled = match pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
            Some(expression) if !expression.is_empty() => Pattern::Regex(
                RegexBuilder::new(expression)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| invalid(format!("the regex does not compile: {e}")))?,
            ),
            _ => Pattern::Literal(pattern.clone()),
        };
        let matcher = GlobBuilder::new(glob.trim())
            .literal_separator(true)
            .build()
            .map_err(|e| invalid(format!("the glob does not read: {e}")))?
            .compile_matcher();
        Ok(Self {
            memory_id,
            glob: glob.trim().to_owned(),
            pattern,
            why: why.to_owned(),
            compiled,
            matcher,
        })
    }

    /// Whether the rule covers `path`.
    pub fn applies_to(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }

    /// Whether an added `line` of `path` breaks the rule.
    pub fn breaks(&self, path: &str, line: &str) -> bool {
        self.applies_to(path)
            && match &self.compiled {
                Pattern::Literal(text) => line.contains(text.as_str()),
                Pattern::Regex(re) => re.is_match(line),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_s_rule_reads_and_matches_added_lines_under_src() {
        let rule =
            ForbidRule::parse(7, r#"forbid "println!" in "src/**/*.rs": use tracing"#).unwrap();
        assert_eq!(
            (rule.pattern.as_str(), rule.glob.as_str(), rule.why.as_str()),
            ("println!", "src/**/*.rs", "use tracing")
        );
        assert!(rule.breaks("src/main.rs", r#"    println!("hi");"#));
        assert!(rule.breaks("src/a/b/c.rs", "println!()"));
        assert!(
            !rule.breaks("tests/main.rs", "println!()"),
            "outside the glob"
        );
        assert!(!rule.breaks("src/main.rs", "tracing::info!()"));
        assert!(!rule.breaks("src/main.py", "println!()"));
    }

    #[test]
    fn slashes_make_a_regex_and_anything_else_is_literal() {
        let regex =
            ForbidRule::parse(1, r#"FORBID "/\bunsafe\s*\{/" in "**/*.rs": no unsafe"#).unwrap();
        assert!(regex.breaks("a.rs", "let x = unsafe { y };"));
        assert!(!regex.breaks("a.rs", "let not_unsafe = 1;"));
        let literal = ForbidRule::parse(1, r#"forbid "a.b(" in "*": dots are dots"#).unwrap();
        assert!(literal.breaks("x", "a.b("));
        assert!(!literal.breaks("x", "axb("), "a literal, not a regex");
        let quote = ForbidRule::parse(1, r#"forbid "say \"hi\"" in "*.md": no"#).unwrap();
        assert_eq!(quote.pattern, r#"say "hi""#);
    }

    #[test]
    fn what_does_not_read_says_why() {
        for (text, says) in [
            ("forbid println in src", "write it as"),
            (r#"forbid "x" in "src/*""#, "say why"),
            (r#"forbid "x" in "src/*":   "#, "say why"),
            (r#"forbid "" in "src/*": why"#, "must not be empty"),
            (r#"forbid "/(/" in "src/*": why"#, "regex does not compile"),
            (r#"forbid "x" in "src/[": why"#, "glob does not read"),
            (r#"forbid "x" in "src/*: why"#, "write it as"),
        ] {
            let e = ForbidRule::parse(1, text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert!(ForbidRule::looks_like_one(r#" forbid "x" anything"#));
        assert!(!ForbidRule::looks_like_one("forbidden words are fine"));
    }
}
