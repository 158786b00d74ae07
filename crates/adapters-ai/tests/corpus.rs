//! The built-in reviewer against the repository's rule corpus (`tests/fixtures/review/`): for every
//! rule, diffs in each language it applies to whose every added line it must find
//! (`hits/<rule>.diff`), and near-misses where it must find nothing at all (`misses/<rule>*.diff`).
//! Recall on the hits is at least 95% and the near-misses raise no finding. A diff may come with the
//! files it changes, whole (`<name>/` beside `<name>.diff`): then the parse of those files decides
//! what is test code, a script, a docstring or a type's own `unwrap`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adapters_ai::BuiltinReviewer;
use adapters_ai::rules::{RULES, rule_of};
use domain::review::diff::{LineKind, parse};
use domain::review::{ReviewRequest, Reviewer};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/review")
}

/// The diffs of `kind` (`hits` or `misses`): each its name, its text, and the request that reviews
/// it. A directory beside a diff, of the same name, holds the files it changes as they are after it:
/// the request then carries them whole, as a worker's does.
fn diffs(kind: &str) -> Vec<(String, String, ReviewRequest)> {
    let dir = corpus().join(kind);
    let mut files: Vec<(String, String, ReviewRequest)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "diff"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let mut request = ReviewRequest::new("corpus", parse(&text));
            let whole = dir.join(&name);
            if whole.is_dir() {
                let mut sources = BTreeMap::new();
                for file in &request.files {
                    let source = std::fs::read_to_string(whole.join(file.path())).unwrap();
                    sources.insert(file.path().to_owned(), source);
                }
                request.sources = std::sync::Arc::new(sources);
            }
            (name, text, request)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

#[tokio::test]
async fn every_planted_line_is_found_and_no_near_miss_is() {
    // Per rule: (lines found with the rule, lines planted).
    let mut recall: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut missed = Vec::new();
    for (name, _, request) in diffs("hits") {
        // `rust-unwrap.whole` plants lines of `rust-unwrap`.
        let rule = name.split('.').next().unwrap().to_owned();
        assert!(!request.files.is_empty(), "{name}: no diff");
        let draft = BuiltinReviewer.review(&request).await.unwrap();
        for file in &request.files {
            for line in file.hunks.iter().flat_map(|h| &h.lines) {
                let (LineKind::Added, Some(n)) = (line.kind, line.new_no) else {
                    continue;
                };
                let entry = recall.entry(rule.clone()).or_default();
                entry.1 += 1;
                let found = draft.findings.iter().any(|f| {
                    f.path == file.path() && f.line == n && rule_of(&f.body) == Some(rule.as_str())
                });
                if found {
                    entry.0 += 1;
                } else {
                    missed.push(format!("{rule}: {}:{n}: {}", file.path(), line.text));
                }
            }
        }
    }
    let mut false_alarms = Vec::new();
    let mut near_misses = 0;
    for (name, text, request) in diffs("misses") {
        near_misses += parse(&text)
            .iter()
            .flat_map(|f| f.hunks.iter().flat_map(|h| &h.lines))
            .filter(|l| l.kind == LineKind::Added)
            .count();
        let draft = BuiltinReviewer.review(&request).await.unwrap();
        false_alarms.extend(
            draft
                .findings
                .iter()
                .map(|f| format!("{name}: {}:{}: {}", f.path, f.line, f.body)),
        );
    }
    let (found, planted) = recall
        .values()
        .fold((0, 0), |(f, p), (rf, rp)| (f + rf, p + rp));
    println!("rule corpus: {found} of {planted} planted lines found, {near_misses} near-misses");
    for (rule, (f, p)) in &recall {
        println!("  {rule:<24} {f:>3} / {p:<3}");
    }
    assert!(
        false_alarms.is_empty(),
        "near-misses flagged: {false_alarms:#?}"
    );
    assert!(
        found * 100 >= planted * 95,
        "recall {found}/{planted} under 95%; missed: {missed:#?}"
    );
    // Every rule of a line has planted lines and near-misses (a new file's size is a file's).
    for rule in RULES.iter().filter(|r| r.id != "large-new-file") {
        assert!(
            recall.contains_key(rule.id),
            "no planted lines for {}",
            rule.id
        );
        assert!(
            corpus().join(format!("misses/{}.diff", rule.id)).is_file(),
            "no near-misses for {}",
            rule.id
        );
    }
}
