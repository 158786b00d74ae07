//! Token budgeting: which changed files a reviewer sees, packed into requests that fit its budget, and
//! which it does not see and why. Changed source comes first, larger changes before smaller ones;
//! nothing is left out without being named.

use crate::review::classify::classify;
use crate::review::diff::{FileDiff, FileStatus};

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

impl Budget {
    /// This budget, with requests no larger than `context` tokens of diff when that is known.
    pub fn fitting(self, context: Option<usize>) -> Self {
        Self {
            chunk_tokens: context.map_or(self.chunk_tokens, |c| self.chunk_tokens.min(c.max(1))),
            ..self
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
    /// How many files are reviewed (wholly or in part).
    pub fn files(&self) -> usize {
        let mut paths: Vec<&str> = self.chunks.iter().flatten().map(FileDiff::path).collect();
        paths.sort_unstable();
        paths.dedup();
        paths.len()
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

/// The file's path, with the lines it covers when it is a part of a split file.
fn described(part: &FileDiff) -> String {
    match (part.hunks.first(), part.hunks.last()) {
        (Some(first), Some(last)) if part.split => format!(
            "{} (lines {}–{})",
            part.path(),
            first.new_start,
            last.new_start + last.new_len.saturating_sub(1)
        ),
        _ => part.path().to_owned(),
    }
}

/// A file too large for one request, as parts of whole hunks that each fit. A single hunk larger
/// than a request is named in `not_covered`.
fn split_by_hunks(
    file: FileDiff,
    limit: usize,
    not_covered: &mut Vec<(String, String)>,
) -> Vec<FileDiff> {
    let empty = FileDiff {
        hunks: Vec::new(),
        split: true,
        ..file.clone()
    };
    let mut parts: Vec<FileDiff> = Vec::new();
    let mut current = empty.clone();
    for hunk in file.hunks {
        let alone = FileDiff {
            hunks: vec![hunk.clone()],
            ..empty.clone()
        };
        let hunk_tokens = estimate_tokens(&alone);
        if hunk_tokens > limit {
            not_covered.push((
                described(&alone),
                format!(
                    "one change (about {hunk_tokens} tokens) is larger than one review request ({limit} tokens)"
                ),
            ));
            continue;
        }
        current.hunks.push(hunk);
        if estimate_tokens(&current) > limit {
            let last = current.hunks.pop();
            parts.push(std::mem::replace(&mut current, empty.clone()));
            current.hunks.extend(last);
        }
    }
    if !current.hunks.is_empty() {
        parts.push(current);
    }
    parts
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
            // GitHub lists a new empty file as it lists a new binary one: no patch, no changes.
            let why = match file.status {
                FileStatus::Renamed => None,
                FileStatus::Added => {
                    Some("no diff to review (empty, binary, or too large for GitHub to show)")
                }
                _ => Some("no diff to review (binary, or too large for GitHub to show)"),
            };
            plan.not_covered
                .extend(why.map(|why| (file.path().to_owned(), why.to_owned())));
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
        let parts = if tokens > budget.chunk_tokens {
            split_by_hunks(file, budget.chunk_tokens, &mut plan.not_covered)
        } else {
            vec![file]
        };
        for part in parts {
            let tokens = estimate_tokens(&part);
            // First fit: the earliest request with room, else a new one while the budget allows.
            if let Some(i) = used.iter().position(|u| u + tokens <= budget.chunk_tokens) {
                used[i] += tokens;
                plan.chunks[i].push(part);
            } else if plan.chunks.len() < budget.max_chunks {
                used.push(tokens);
                plan.chunks.push(vec![part]);
            } else {
                plan.not_covered.push((
                    described(&part),
                    format!(
                        "over the review budget ({} requests of {} tokens)",
                        budget.max_chunks, budget.chunk_tokens
                    ),
                ));
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::diff::parse;

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
    fn a_known_context_narrows_requests_and_never_widens_them() {
        let budget = Budget::default();
        assert_eq!(budget.fitting(None), budget);
        assert_eq!(budget.fitting(Some(1_500)).chunk_tokens, 1_500);
        assert_eq!(budget.fitting(Some(100_000)).chunk_tokens, 24_000);
        assert_eq!(budget.fitting(Some(0)).chunk_tokens, 1);
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

    /// A modified file of `hunks` hunks, each adding `lines` lines, 100 lines apart.
    fn hunked(path: &str, hunks: u32, lines: u32) -> FileDiff {
        let mut text = format!("diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n");
        for h in 0..hunks {
            let start = 1 + h * 100;
            text.push_str(&format!("@@ -{start},0 +{start},{lines} @@\n"));
            for i in 0..lines {
                text.push_str(&format!("+let value_{h}_{i} = compute_something(input);\n"));
            }
        }
        parse(&text).pop().unwrap()
    }

    #[test]
    fn a_file_larger_than_one_request_is_reviewed_in_parts_of_whole_hunks() {
        let one_hunk = estimate_tokens(&hunked("a.rs", 1, 10));
        let budget = Budget {
            chunk_tokens: one_hunk * 2,
            max_chunks: 2,
        };
        let plan = plan(vec![hunked("src/huge.rs", 6, 10)], budget);
        assert_eq!(plan.chunks.len(), 2);
        let reviewed: usize = plan.chunks.iter().flatten().map(|p| p.hunks.len()).sum();
        assert!(reviewed >= 2, "{reviewed} hunks reviewed");
        assert_eq!(plan.files(), 1, "one file, in parts");
        assert!(
            plan.chunks
                .iter()
                .flatten()
                .all(|p| p.split && p.path() == "src/huge.rs")
        );
        // What did not fit is named by its lines.
        assert!(!plan.not_covered.is_empty());
        assert!(
            plan.not_covered
                .iter()
                .all(|(what, why)| what.starts_with("src/huge.rs (lines ")
                    && why.starts_with("over the review budget")),
            "{:?}",
            plan.not_covered
        );
    }

    #[test]
    fn a_single_change_larger_than_one_request_is_named_not_cut() {
        let budget = Budget {
            chunk_tokens: 100,
            max_chunks: 4,
        };
        let plan = plan(vec![file("src/huge.rs", 500), file("src/ok.rs", 2)], budget);
        assert_eq!(plan.files(), 1);
        assert_eq!(plan.not_covered[0].0, "src/huge.rs (lines 1–500)");
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
diff --git a/big.rs b/big.rs\n\
diff --git a/empty.py b/empty.py\nnew file mode 100644\n--- /dev/null\n+++ b/empty.py\n";
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
                // A new file without a patch may be empty: not said to be binary or too large.
                (
                    "empty.py",
                    "no diff to review (empty, binary, or too large for GitHub to show)"
                ),
            ]
        );
    }
}
