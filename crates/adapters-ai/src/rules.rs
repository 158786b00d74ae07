//! The built-in reviewer's rules. Each has a stable id (what `.nectr.toml` turns off and a finding
//! names), a category, a severity and a one-line why; [`check`] says which rule an added line breaks.
//!
//! Every rule reads one added line, with what is known around it: the file's language, whether the
//! line is test, example or bench code, and the lines just above it. Each is written to be precise
//! rather than thorough: a rule that cries wolf teaches a team to skip the review. The corpus in
//! `tests/fixtures/review/` holds, for every rule, lines it must find and near-misses it must leave.

use domain::review::{Category, Severity};

/// One rule of the built-in reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable: configuration and findings name rules by it.
    pub id: &'static str,
    pub category: Category,
    pub severity: Severity,
    /// The finding's title.
    pub title: &'static str,
    /// Why it matters and what to do, in one line: the finding's body.
    pub why: &'static str,
}

/// Every rule, most severe first (the order a line's rules are tried in).
pub const RULES: &[Rule] = &[
    Rule {
        id: "secret-token",
        category: Category::Security,
        severity: Severity::Critical,
        title: "Possible credential committed",
        why: "This line appears to contain a provider's credential. Revoke it, remove it, and load it from the environment or a secret store.",
    },
    Rule {
        id: "secret-private-key",
        category: Category::Security,
        severity: Severity::Critical,
        title: "Private key committed",
        why: "A private key is being committed. Revoke it and keep keys out of the repository.",
    },
    Rule {
        id: "secret-assignment",
        category: Category::Security,
        severity: Severity::Critical,
        title: "Hard-coded secret",
        why: "A high-entropy value is assigned to a secret-named variable. Read it from the environment or a secret store, and revoke the committed value.",
    },
    Rule {
        id: "secret-url-credentials",
        category: Category::Security,
        severity: Severity::Critical,
        title: "Credentials in a URL",
        why: "A URL carries a user name and password. Anyone who reads the code or logs the URL has them; pass them separately from the environment.",
    },
    Rule {
        id: "conflict-marker",
        category: Category::Correctness,
        severity: Severity::Critical,
        title: "Merge conflict marker",
        why: "An unresolved merge conflict marker was committed; the file will not build or behave as intended.",
    },
    Rule {
        id: "tls-verification-off",
        category: Category::Security,
        severity: Severity::Critical,
        title: "TLS certificate verification turned off",
        why: "Without verification anyone on the network path can impersonate the server. Trust the right CA instead (a CA bundle or a pinned certificate).",
    },
    Rule {
        id: "shell-injection",
        category: Category::Security,
        severity: Severity::Critical,
        title: "Shell command built from formatted input",
        why: "A shell runs a command string built with formatting: a value with `;`, `$()` or quotes runs commands of its own. Pass the arguments as a list, without a shell.",
    },
    Rule {
        id: "sql-injection",
        category: Category::Security,
        severity: Severity::Critical,
        title: "SQL built from formatted input",
        why: "A query string is built with formatting and executed: a value with a quote changes the query. Use the driver's bound parameters.",
    },
    Rule {
        id: "unsafe-deserialization",
        category: Category::Security,
        severity: Severity::Critical,
        title: "Unsafe deserialisation",
        why: "This loader can build arbitrary objects (and run code) from its input. Use a safe loader (`yaml.safe_load`, JSON) for anything not produced by this program.",
    },
    Rule {
        id: "focused-test",
        category: Category::Correctness,
        severity: Severity::Warning,
        title: "Focused test committed",
        why: "A focused test (`.only`, `fit`) makes the runner skip every other test in the suite. Remove the focus before merging.",
    },
    Rule {
        id: "skipped-test",
        category: Category::Correctness,
        severity: Severity::Info,
        title: "Test skipped without a reason",
        why: "A test is being skipped or ignored with no reason given. Say why (`#[ignore = \"…\"]`, `skip(reason=…)`, `t.Skip(\"…\")`), or track re-enabling it in an issue.",
    },
    Rule {
        id: "debug-leftover",
        category: Category::Maintainability,
        severity: Severity::Warning,
        title: "Debug leftover",
        why: "Debug output or a debugger call is being added; remove it or use the project's logger.",
    },
    Rule {
        id: "rust-unwrap",
        category: Category::Correctness,
        severity: Severity::Warning,
        title: "`unwrap()` in non-test code",
        why: "This panics on the error path. Propagate the error with `?` or handle it; where the invariant truly cannot fail, say why with `expect(\"…\")`.",
    },
    Rule {
        id: "todo",
        category: Category::Maintainability,
        severity: Severity::Info,
        title: "New TODO/FIXME",
        why: "A TODO or FIXME is being added; consider an issue to track it.",
    },
    Rule {
        id: "large-new-file",
        category: Category::Maintainability,
        severity: Severity::Info,
        title: "Very large new file",
        why: "This new file is very large; consider splitting it so it can be reviewed.",
    },
];

/// The rule with `id`.
///
/// # Panics
/// When no rule has it: ids are constants of this module, checked by its tests.
#[allow(clippy::expect_used)]
pub fn rule(id: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.id == id)
        .expect("a rule of the catalogue")
}

/// The id of the rule a built-in finding names (its body ends with ``(rule `id`)``).
pub fn rule_of(body: &str) -> Option<&str> {
    body.rsplit_once("(rule `")?.1.strip_suffix("`)")
}

/// A file's language, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    /// JavaScript and TypeScript.
    Script,
    Go,
    /// Documentation and prose (Markdown, reStructuredText, text).
    Prose,
    Other,
}

impl Language {
    pub fn of(path: &str) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name.rsplit_once('.').map_or("", |(_, ext)| ext) {
            "rs" => Self::Rust,
            "py" | "pyi" => Self::Python,
            "js" | "jsx" | "mjs" | "cjs" | "ts" | "tsx" | "mts" | "cts" => Self::Script,
            "go" => Self::Go,
            "md" | "markdown" | "rst" | "txt" | "adoc" => Self::Prose,
            _ => Self::Other,
        }
    }
}

/// Test, example or bench code: where prints, `unwrap()`, focused tests' absence and such are fine.
/// By path: `tests/`, `test/`, `__tests__/`, `examples/`, `benches/` (at the root or below),
/// `*_test.go`, `*_test.rs`, `*_tests.rs`, `tests.rs`, `test_*.py`, `*_test.py`, `conftest.py`,
/// `*.test.*`, `*.spec.*`, and a Rust crate's `build.rs`.
pub fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let dirs = [
        "tests",
        "test",
        "__tests__",
        "testdata",
        "examples",
        "example",
        "benches",
        "bench",
    ];
    let mut parts: Vec<&str> = lower.split('/').collect();
    let file = parts.pop().unwrap_or("");
    parts.iter().any(|dir| dirs.contains(dir))
        || file.ends_with("_test.go")
        || file.ends_with("_test.rs")
        || file.ends_with("_tests.rs")
        || file == "tests.rs"
        || file == "build.rs"
        || file == "conftest.py"
        || (file.starts_with("test_") && file.ends_with(".py"))
        || file.ends_with("_test.py")
        || file.contains(".test.")
        || file.contains(".spec.")
}

/// A command-line script, where output to the console is what it is for: under `bin/`,
/// `scripts/`, `script/`, `tools/`, `tasks/` or `.github/`, or a file named `cli.*`.
pub fn is_script_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let mut parts: Vec<&str> = lower.split('/').collect();
    let file = parts.pop().unwrap_or("");
    parts.iter().any(|d| {
        matches!(
            *d,
            "bin" | "scripts" | "script" | "tools" | "tasks" | ".github"
        )
    }) || file.split('.').next() == Some("cli")
}

/// What is known of an added line besides its text.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub language: Language,
    /// In test, example or bench code (by path, or by the code around it).
    pub test_code: bool,
    /// Wholly inside a comment or a string that spans lines (a docstring, a block comment): no
    /// rule of code applies, though a secret or a conflict marker is still one.
    pub in_text: bool,
    /// The file defines its own `unwrap`/`expect` (read whole): an `.unwrap()` may be that.
    pub own_unwrap: bool,
    /// In a command-line script ([`is_script_path`]), where printing is the point.
    pub script: bool,
    pub text: &'a str,
    /// Up to a few lines just above it in the new file, nearest last.
    pub above: &'a [&'a str],
}

mod matching;

pub use matching::check;

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
