//! The built-in reviewer: real, deterministic checks on the lines a pull request adds, by the rules of
//! [`crate::rules`] (leaked secrets, TLS verification turned off, shell and SQL built from formatted
//! input, unsafe deserialisation, focused and skipped tests, conflict markers, debug leftovers,
//! `unwrap()` in non-test Rust, new TODOs, very large new files) and the repository's own `forbid`
//! rules from its project memory. No network, no model.

use async_trait::async_trait;
use domain::memory::ForbidRule;
use domain::review::diff::{FileDiff, FileStatus, LineKind};
use domain::review::{
    Category, Finding, ReviewDraft, ReviewError, ReviewRequest, Reviewer, Severity,
};

use crate::rules::{self, Language, Line, Rule, is_script_path, is_test_path};
use crate::syntax::{self, FileSyntax};

/// A new file with more added lines than this is worth a note.
const LARGE_FILE_LINES: usize = 1000;

/// Threads a review's files are parsed on, at most.
const PARSE_THREADS: usize = 4;

/// Lines above an added line a rule may look at (a length check above an `unwrap()`).
const LINES_ABOVE: usize = 3;

/// The built-in, offline reviewer.
#[derive(Debug, Clone, Default)]
pub struct BuiltinReviewer;

/// A finding of `rule` at `line` of `path`.
fn finding(path: &str, line: u32, rule: &Rule, body: String) -> Finding {
    Finding {
        path: path.to_owned(),
        line,
        end_line: None,
        severity: rule.severity,
        category: rule.category,
        title: rule.title.to_owned(),
        body: format!("{body} (rule `{}`)", rule.id),
        suggestion: (rule.id == "debug-leftover").then(String::new),
    }
}

/// Whether a hunk's header or a line opens Rust test code (`#[cfg(test)]`, `mod tests`) or a
/// Rust test function (`#[test]`, `#[tokio::test]`).
fn opens_test_code(text: &str) -> bool {
    let t = text.trim_start();
    t.contains("#[cfg(test)]")
        || t.starts_with("mod tests")
        || t.starts_with("pub mod tests")
        || t.starts_with("mod test ")
        || t.starts_with("#[test]")
        || t.starts_with("#[tokio::test")
}

impl BuiltinReviewer {
    /// Checks `file`'s added lines by `request`'s rules; `syntax`, the parse of its whole content
    /// when it could be read and parsed, says which lines are test code or inside a comment or
    /// string.
    fn check_file(
        &self,
        file: &FileDiff,
        syntax: Option<&FileSyntax>,
        request: &ReviewRequest,
        findings: &mut Vec<Finding>,
    ) {
        // The repository's `[review] rules_off` are not run.
        let on = |rule: &Rule| !request.rules_off.iter().any(|off| off == rule.id);
        let path = file.path();
        let language = Language::of(path);
        let test_path = is_test_path(path);
        let script = is_script_path(path);
        let rules: Vec<ForbidRule> = request
            .rules
            .iter()
            .filter(|r| r.applies_to(path))
            .cloned()
            .collect();
        for hunk in &file.hunks {
            // Rust test code that opens in the hunk's header or above a line makes the rest test code.
            let mut in_test = language == Language::Rust && opens_test_code(&hunk.section);
            let mut above: Vec<&str> = Vec::with_capacity(LINES_ABOVE + 1);
            for line in &hunk.lines {
                if line.kind == LineKind::Removed {
                    continue;
                }
                if language == Language::Rust && opens_test_code(&line.text) {
                    in_test = true;
                }
                if line.kind == LineKind::Added
                    && let Some(n) = line.new_no
                {
                    let context = Line {
                        language,
                        test_code: test_path || in_test || syntax.is_some_and(|s| s.is_test(n)),
                        in_text: syntax.is_some_and(|s| s.is_text(n)),
                        own_unwrap: syntax.is_some_and(|s| s.defines_unwrap),
                        script: script || syntax.is_some_and(|s| s.is_script(n)),
                        text: &line.text,
                        above: &above,
                    };
                    if let Some(hit) = project_rule_hit(path, n, &line.text, &rules) {
                        findings.push(hit);
                    } else if let Some(rule) = rules::check(&context).filter(|r| on(r)) {
                        findings.push(finding(path, n, rule, rule.why.to_owned()));
                    }
                }
                if above.len() == LINES_ABOVE {
                    above.remove(0);
                }
                above.push(&line.text);
            }
        }
        let large = rules::rule("large-new-file");
        if file.status == FileStatus::Added && file.additions() > LARGE_FILE_LINES && on(large) {
            let rule = large;
            findings.push(finding(
                path,
                1,
                rule,
                format!(
                    "This new file adds {} lines; consider splitting it so it can be reviewed.",
                    file.additions()
                ),
            ));
        }
    }
}

/// The finding of the first of the project's `forbid` rules (from its memory) the line breaks.
fn project_rule_hit(path: &str, line: u32, text: &str, rules: &[ForbidRule]) -> Option<Finding> {
    let rule = rules.iter().find(|r| r.breaks(path, text))?;
    Some(Finding {
        path: path.to_owned(),
        line,
        end_line: None,
        severity: Severity::Warning,
        category: Category::Maintainability,
        title: format!(
            "Project rule: `{}` is not used in `{}`",
            rule.pattern, rule.glob
        ),
        body: format!(
            "{} (the project's memory, rule #{}).",
            rule.why.trim_end_matches('.'),
            rule.memory_id
        ),
        suggestion: None,
    })
}

#[async_trait]
impl Reviewer for BuiltinReviewer {
    fn name(&self) -> &str {
        "builtin"
    }

    /// It parses each file whole, to know test code and comments wherever they open.
    fn reads_sources(&self) -> bool {
        true
    }

    /// Parsing is CPU work: it runs off the async workers, its files spread over the cores.
    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError> {
        let (reviewer, request) = (self.clone(), request.clone());
        tokio::task::spawn_blocking(move || reviewer.review_now(&request))
            .await
            .map_err(|e| ReviewError::Permanent(format!("the built-in checks stopped: {e}")))
    }
}

impl BuiltinReviewer {
    fn review_now(&self, request: &ReviewRequest) -> ReviewDraft {
        let syntaxes = parse_all(request);
        let parsed = syntaxes.iter().flatten().count();
        let mut findings = Vec::new();
        // The plan classified the files already: every one is for a reviewer to read.
        for (file, syntax) in request.files.iter().zip(&syntaxes) {
            self.check_file(file, syntax.as_ref(), request, &mut findings);
        }
        // An id of `[review] rules_off` that names no rule is said in the summary.
        let unknown: Vec<&str> = request
            .rules_off
            .iter()
            .map(String::as_str)
            .filter(|id| !rules::RULES.iter().any(|r| r.id == *id))
            .collect();
        // As one of the parallel agents, it reports its focus only.
        if let Some(focus) = request.focus {
            findings.retain(|f| focus.covers(f.category));
        }
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let added: usize = request.files.iter().map(FileDiff::additions).sum();
        // Said only when some file was read whole: a local diff without its files reads as before.
        let whole = match request.files.len() - parsed {
            _ if parsed == 0 => String::new(),
            0 => " (every one parsed whole)".to_owned(),
            lines => format!(" ({parsed} parsed whole, {lines} by their lines alone)"),
        };
        let summary = format!(
            "Built-in checks ran on {} file(s){whole} and {added} added line(s): {} critical, {} warning(s), {} note(s).",
            request.files.len(),
            count(Severity::Critical),
            count(Severity::Warning),
            count(Severity::Info),
        );
        let summary = match unknown.as_slice() {
            [] => summary,
            ids => format!(
                "{summary} `[review] rules_off` names {}, which no rule has (see docs/reviews.md for the ids).",
                ids.iter()
                    .map(|id| format!("`{id}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        ReviewDraft {
            summary,
            findings,
            ..ReviewDraft::default()
        }
    }
}

/// Each file's parse around its added lines (`None` where it has no source or cannot be parsed),
/// in the order of `request.files`, the files shared out among up to [`PARSE_THREADS`] threads.
fn parse_all(request: &ReviewRequest) -> Vec<Option<FileSyntax>> {
    let parse = |file: &FileDiff| {
        let source = request.sources.get(file.path())?;
        let added: Vec<u32> = file.added_lines().filter_map(|l| l.new_no).collect();
        syntax::parse(file.path(), source, &added)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(PARSE_THREADS);
    if request.sources.is_empty() || threads < 2 || request.files.len() < 2 {
        return request.files.iter().map(parse).collect();
    }
    let share = request.files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = request
            .files
            .chunks(share)
            .map(|files| {
                let part = scope.spawn(move || files.iter().map(parse).collect::<Vec<_>>());
                (files.len(), part)
            })
            .collect();
        // A parse that panicked (a bug) leaves its files to be checked by their lines.
        parts
            .into_iter()
            .flat_map(|(len, part)| part.join().unwrap_or_else(|_| vec![None; len]))
            .collect()
    })
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
