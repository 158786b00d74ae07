//! The built-in reviewer: real, deterministic checks on the lines a pull request adds. Leaked secrets,
//! merge-conflict markers, debug leftovers, `unwrap()`/`expect(` in non-test Rust, new TODO/FIXME notes
//! and very large new files; and the repository's own `forbid` rules from its project memory. No
//! network, no model.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::memory::ForbidRule;
use domain::review::diff::{FileDiff, FileStatus, LineKind};
use domain::review::{
    Category, Finding, ReviewDraft, ReviewError, ReviewRequest, Reviewer, Severity,
};
use regex::Regex;

/// A new file with more added lines than this is worth a note.
const LARGE_FILE_LINES: usize = 1000;

#[allow(clippy::expect_used)] // constant patterns, checked by the tests
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid pattern")
}

static TOKENS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    vec![
        ("AWS access key id", re(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
        (
            "GitHub token",
            re(r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b"),
        ),
        (
            "GitHub fine-grained token",
            re(r"\bgithub_pat_[A-Za-z0-9_]{60,}\b"),
        ),
        ("Slack token", re(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b")),
        (
            "private key",
            re(r"-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----"),
        ),
    ]
});
static SECRET_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)\b[a-z0-9_]*(secret|password|passwd|token|api_?key|access_?key|private_?key)[a-z0-9_]*\b\s*[:=]\s*["']([^"'\s]{12,})["']"#,
    )
});
static CONFLICT: LazyLock<Regex> = LazyLock::new(|| re(r"^(<{7} |={7}$|>{7} )"));
static TODO: LazyLock<Regex> = LazyLock::new(|| re(r"(//|#|/\*|--|<!--)\s*(TODO|FIXME|XXX)\b"));
static UNWRAP: LazyLock<Regex> = LazyLock::new(|| re(r"\.(unwrap\(\)|expect\()"));
static DBG: LazyLock<Regex> = LazyLock::new(|| re(r"\bdbg!\("));
static CONSOLE: LazyLock<Regex> = LazyLock::new(|| re(r"\bconsole\.(log|debug)\("));
static PY_PRINT: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*print\("));
static PDB: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(import pdb|pdb\.set_trace\(\)|breakpoint\(\))"));

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&k| -(k as f64 / n) * (k as f64 / n).log2())
        .sum()
}

fn extension(path: &str) -> &str {
    path.rsplit_once('.').map_or("", |(_, ext)| ext)
}

/// Test code, where `unwrap()`, prints and the like are fine.
fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.starts_with("tests/")
        || lower.contains("/tests/")
        || lower.contains("/benches/")
        || lower.contains("/examples/")
        || lower.ends_with("_test.rs")
        || lower.ends_with("_tests.rs")
        || lower.ends_with("/tests.rs")
        || lower.ends_with("_test.py")
        || lower
            .rsplit('/')
            .next()
            .is_some_and(|f| f.starts_with("test_"))
        || lower.contains(".test.")
        || lower.contains(".spec.")
}

/// The built-in, offline reviewer.
#[derive(Debug, Clone, Default)]
pub struct BuiltinReviewer;

struct Check<'a> {
    path: &'a str,
    line: u32,
    text: &'a str,
}

impl BuiltinReviewer {
    /// The first rule a line breaks, most severe first: leaked secrets, conflict markers, the
    /// project's own `forbid` rules, debug leftovers, `unwrap` in non-test Rust, new TODOs.
    fn check_line(
        &self,
        c: &Check<'_>,
        in_test: bool,
        rules: &[ForbidRule],
        findings: &mut Vec<Finding>,
    ) {
        let test_code = in_test || is_test_path(c.path);
        let hit = secret_hit(c.text)
            .or_else(|| conflict_hit(c.text))
            .or_else(|| project_rule_hit(c, rules))
            .or_else(|| hygiene_hit(c, test_code))
            .or_else(|| todo_hit(c.text));
        if let Some(hit) = hit {
            findings.push(Finding {
                path: c.path.to_owned(),
                line: c.line,
                end_line: None,
                severity: hit.severity,
                category: hit.category,
                title: hit.title,
                body: hit.body,
                suggestion: hit.suggestion,
            });
        }
    }

    fn check_file(&self, file: &FileDiff, rules: &[ForbidRule], findings: &mut Vec<Finding>) {
        let path = file.path();
        let rules: Vec<ForbidRule> = rules
            .iter()
            .filter(|r| r.applies_to(path))
            .cloned()
            .collect();
        let mut in_test = false;
        for hunk in &file.hunks {
            for line in &hunk.lines {
                // A test module starting anywhere before in the hunk makes the rest test code.
                if line.text.contains("#[cfg(test)]")
                    || line.text.trim_start().starts_with("mod tests")
                {
                    in_test = true;
                }
                if line.kind != LineKind::Added {
                    continue;
                }
                if let Some(n) = line.new_no {
                    self.check_line(
                        &Check {
                            path,
                            line: n,
                            text: &line.text,
                        },
                        in_test,
                        &rules,
                        findings,
                    );
                }
            }
        }
        if file.status == FileStatus::Added && file.additions() > LARGE_FILE_LINES {
            findings.push(Finding {
                path: path.to_owned(),
                line: 1,
                end_line: None,
                severity: Severity::Info,
                category: Category::Maintainability,
                title: "Very large new file".into(),
                body: format!(
                    "This new file adds {} lines; consider splitting it so it can be reviewed.",
                    file.additions()
                ),
                suggestion: None,
            });
        }
    }
}

/// What a rule found on a line.
struct Hit {
    severity: Severity,
    category: Category,
    title: String,
    body: String,
    suggestion: Option<String>,
}

fn hit(severity: Severity, category: Category, title: &str, body: impl Into<String>) -> Hit {
    Hit {
        severity,
        category,
        title: title.to_owned(),
        body: body.into(),
        suggestion: None,
    }
}

/// A provider token, or a high-entropy value assigned to a secret-named variable.
fn secret_hit(text: &str) -> Option<Hit> {
    if let Some((kind, _)) = TOKENS.iter().find(|(_, pattern)| pattern.is_match(text)) {
        return Some(hit(
            Severity::Critical,
            Category::Security,
            &format!("Possible {kind} committed"),
            format!(
                "This line appears to contain a {kind}. Remove it, revoke it, and load it from the environment or a secret store instead."
            ),
        ));
    }
    let value = SECRET_ASSIGNMENT
        .captures(text)?
        .get(2)
        .map_or("", |v| v.as_str());
    let placeholder = [
        "changeme",
        "example",
        "placeholder",
        "your_",
        "xxxx",
        "${",
        "{{",
        "<",
    ]
    .iter()
    .any(|p| value.to_ascii_lowercase().contains(p));
    (!placeholder && entropy(value) >= 3.5).then(|| {
        hit(
            Severity::Critical,
            Category::Security,
            "Hard-coded secret",
            "A high-entropy value is assigned to a secret-named variable. Read it from the environment or a secret store, and revoke the committed value.",
        )
    })
}

/// The first of the project's `forbid` rules (from its memory) the line breaks.
fn project_rule_hit(c: &Check<'_>, rules: &[ForbidRule]) -> Option<Hit> {
    let rule = rules.iter().find(|r| r.breaks(c.path, c.text))?;
    Some(hit(
        Severity::Warning,
        Category::Maintainability,
        &format!(
            "Project rule: `{}` is not used in `{}`",
            rule.pattern, rule.glob
        ),
        format!(
            "{} (the project's memory, rule #{}).",
            rule.why.trim_end_matches('.'),
            rule.memory_id
        ),
    ))
}

fn conflict_hit(text: &str) -> Option<Hit> {
    CONFLICT.is_match(text).then(|| {
        hit(
            Severity::Critical,
            Category::Correctness,
            "Merge conflict marker",
            "An unresolved merge conflict marker was committed; the file will not build or behave as intended.",
        )
    })
}

/// Debug leftovers by language, and `unwrap()` in non-test Rust.
fn hygiene_hit(c: &Check<'_>, test_code: bool) -> Option<Hit> {
    let ext = extension(c.path);
    let debug = match ext {
        "rs" if DBG.is_match(c.text) => Some("`dbg!` left in"),
        "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" if !test_code && CONSOLE.is_match(c.text) => {
            Some("`console.log` left in")
        }
        "py" if !test_code && PDB.is_match(c.text) => Some("Debugger left in"),
        "py" if !test_code && PY_PRINT.is_match(c.text) => Some("`print` left in"),
        _ => None,
    };
    if let Some(title) = debug {
        return Some(Hit {
            suggestion: Some(String::new()),
            ..hit(
                Severity::Warning,
                Category::Maintainability,
                title,
                "Debug output or a debugger call is being added; remove it or use the project's logger.",
            )
        });
    }
    (ext == "rs" && !test_code && UNWRAP.is_match(c.text)).then(|| {
        hit(
            Severity::Warning,
            Category::Correctness,
            "`unwrap()`/`expect()` in non-test code",
            "This panics on the error path. Propagate the error with `?` or handle it, unless the invariant truly cannot fail (then say why in the message).",
        )
    })
}

fn todo_hit(text: &str) -> Option<Hit> {
    TODO.is_match(text).then(|| {
        hit(
            Severity::Info,
            Category::Maintainability,
            "New TODO/FIXME",
            "A TODO or FIXME is being added; consider an issue to track it.",
        )
    })
}

#[async_trait]
impl Reviewer for BuiltinReviewer {
    fn name(&self) -> &str {
        "builtin"
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError> {
        let mut findings = Vec::new();
        // The plan classified the files already: every one is for a reviewer to read.
        for file in &request.files {
            self.check_file(file, &request.rules, &mut findings);
        }
        // As one of the parallel agents, it reports its focus only.
        if let Some(focus) = request.focus {
            findings.retain(|f| focus.covers(f.category));
        }
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let added: usize = request.files.iter().map(FileDiff::additions).sum();
        let summary = format!(
            "Built-in checks ran on {} file(s) and {added} added line(s): {} critical, {} warning(s), {} note(s).",
            request.files.len(),
            count(Severity::Critical),
            count(Severity::Warning),
            count(Severity::Info),
        );
        Ok(ReviewDraft {
            summary,
            findings,
            ..ReviewDraft::default()
        })
    }
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
