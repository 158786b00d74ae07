//! Token budgeting: which changed files a reviewer sees, packed into requests that fit its budget, and
//! which it does not see and why. Changed source comes first, larger changes before smaller ones;
//! nothing is left out without being named.

use crate::classify::classify;
use crate::diff::{FileDiff, FileStatus};

/// How much a review may ask of the reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Estimated tokens of diff per request (`REVIEW_CHUNK_TOKENS`).
    pub chunk_tokens: usize,
    /// Requests per review (`REVIEW_MAX_CHUNKS`); what does not fit is named as not reviewed.
    pub max_chunks: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            chunk_tokens: 24_000,
            max_chunks: 8,
        }
    }
}

/// The files of a review, in the requests they go to, and the ones left out with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub chunks: Vec<Vec<FileDiff>>,
    pub not_covered: Vec<(String, String)>,
}

impl Plan {
    pub fn files(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }
}

/// About how many tokens a file's diff costs a model, as reviewers render it (about four bytes a
/// token, with a line-number column on every line).
pub fn estimate_tokens(file: &FileDiff) -> usize {
    let bytes: usize = file.path().len()
        + 24
        + file
            .hunks
            .iter()
            .map(|h| 24 + h.lines.iter().map(|l| l.text.len() + 8).sum::<usize>())
            .sum::<usize>();
    bytes.div_ceil(4)
}

const DOC_EXTENSIONS: [&str; 10] = [
    "md", "markdown", "rst", "txt", "adoc", "json", "yaml", "yml", "toml", "csv",
];

/// 0 for source code, 1 for tests, 2 for documentation and data: the order files are reviewed in.
fn rank(path: &str) -> u8 {
    let lower = path.to_ascii_lowercase();
    let extension = lower.rsplit_once('.').map_or("", |(_, e)| e);
    if DOC_EXTENSIONS.contains(&extension) || lower.starts_with("docs/") {
        2
    } else if lower.starts_with("tests/")
        || lower.contains("/tests/")
        || lower.contains("/test/")
        || lower.contains("_test.")
        || lower.contains(".test.")
        || lower.contains(".spec.")
        || lower.contains("_tests.")
    {
        1
    } else {
        0
    }
}

/// Plans a review of `files` within `budget`.
pub fn plan(files: Vec<FileDiff>, budget: Budget) -> Plan {
    let mut plan = Plan::default();
    let mut reviewable = Vec::new();
    for file in files {
        if file.status == FileStatus::Deleted {
            plan.not_covered
                .push((file.path().to_owned(), "deleted".to_owned()));
            continue;
        }
        if let Some(reason) = classify(&file).reason() {
            plan.not_covered
                .push((file.path().to_owned(), reason.to_owned()));
            continue;
        }
        if file.hunks.is_empty() {
            // A rename without changes has nothing to review; anything else had no patch to show.
            if file.status != FileStatus::Renamed {
                plan.not_covered.push((
                    file.path().to_owned(),
                    "no diff to review (binary, or too large for GitHub to show)".to_owned(),
                ));
            }
            continue;
        }
        let tokens = estimate_tokens(&file);
        reviewable.push((rank(file.path()), tokens, file));
    }
    reviewable.sort_by(|a, b| {
        (a.0, std::cmp::Reverse(a.1), a.2.path()).cmp(&(b.0, std::cmp::Reverse(b.1), b.2.path()))
    });
    let mut used: Vec<usize> = Vec::new();
    for (_, tokens, file) in reviewable {
        if tokens > budget.chunk_tokens {
            plan.not_covered.push((
                file.path().to_owned(),
                format!(
                    "its diff (about {tokens} tokens) is larger than one review request ({} tokens)",
                    budget.chunk_tokens
                ),
            ));
            continue;
        }
        // First fit: the earliest request with room, else a new one while the budget allows.
        if let Some(i) = used.iter().position(|u| u + tokens <= budget.chunk_tokens) {
            used[i] += tokens;
            plan.chunks[i].push(file);
        } else if plan.chunks.len() < budget.max_chunks {
            used.push(tokens);
            plan.chunks.push(vec![file]);
        } else {
            plan.not_covered.push((
                file.path().to_owned(),
                format!(
                    "over the review budget ({} requests of {} tokens)",
                    budget.max_chunks, budget.chunk_tokens
                ),
            ));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::parse;

    /// A modified file with `added` added lines of 40 bytes each.
    fn file(path: &str, added: usize) -> FileDiff {
        let body: String = (0..added)
            .map(|i| format!("+let value_{i:04} = compute_something(input);\n"))
            .collect();
        parse(&format!(
            "diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1,0 +1,{added} @@\n{body}"
        ))
        .pop()
        .unwrap()
    }

    #[test]
    fn source_comes_first_then_tests_then_docs_larger_changes_first() {
        let files = vec![
            file("README.md", 50),
            file("tests/api.rs", 10),
            file("src/small.rs", 2),
            file("src/big.rs", 30),
        ];
        let plan = plan(files, Budget::default());
        let order: Vec<&str> = plan.chunks[0].iter().map(FileDiff::path).collect();
        assert_eq!(
            order,
            ["src/big.rs", "src/small.rs", "tests/api.rs", "README.md"]
        );
        assert!(plan.not_covered.is_empty());
    }

    #[test]
    fn files_are_packed_into_requests_and_what_does_not_fit_is_named() {
        let one = estimate_tokens(&file("src/a0.rs", 10));
        let budget = Budget {
            chunk_tokens: one * 3,
            max_chunks: 2,
        };
        let files: Vec<FileDiff> = (0..8).map(|i| file(&format!("src/a{i}.rs"), 10)).collect();
        let plan = plan(files, budget);
        assert_eq!(plan.chunks.len(), 2);
        assert!(plan.chunks.iter().all(|c| c.len() == 3));
        assert_eq!(plan.files(), 6);
        assert_eq!(plan.not_covered.len(), 2);
        assert!(plan.not_covered[0].1.starts_with("over the review budget"));
    }

    #[test]
    fn a_file_larger_than_one_request_is_named_not_cut() {
        let budget = Budget {
            chunk_tokens: 100,
            max_chunks: 4,
        };
        let plan = plan(vec![file("src/huge.rs", 500), file("src/ok.rs", 2)], budget);
        assert_eq!(plan.files(), 1);
        assert_eq!(plan.not_covered[0].0, "src/huge.rs");
        assert!(
            plan.not_covered[0]
                .1
                .contains("larger than one review request")
        );
    }

    #[test]
    fn lock_deleted_and_patchless_files_are_named_and_pure_renames_are_not() {
        let diff = "diff --git a/Cargo.lock b/Cargo.lock\n--- a/Cargo.lock\n+++ b/Cargo.lock\n@@ -1 +1 @@\n-a\n+b\n\
diff --git a/gone.rs b/gone.rs\ndeleted file mode 100644\n--- a/gone.rs\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n\
diff --git a/logo.png b/logo.png\nBinary files a/logo.png and b/logo.png differ\n\
diff --git a/a.rs b/b.rs\nsimilarity index 100%\nrename from a.rs\nrename to b.rs\n\
diff --git a/big.rs b/big.rs\n";
        let plan = plan(parse(diff), Budget::default());
        assert!(plan.chunks.is_empty());
        let named: Vec<(&str, &str)> = plan
            .not_covered
            .iter()
            .map(|(p, w)| (p.as_str(), w.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("Cargo.lock", "lock file"),
                ("gone.rs", "deleted"),
                ("logo.png", "binary file"),
                (
                    "big.rs",
                    "no diff to review (binary, or too large for GitHub to show)"
                ),
            ]
        );
    }
}
