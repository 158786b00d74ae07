//! The built-in reviewer's checks, for what they must find and what they must leave alone.

use domain::review::budget::{Budget, plan};
use domain::review::diff::parse;
use domain::review::service::review_in_chunks;
use domain::review::{Category, ReviewDraft, ReviewRequest, Reviewer, Severity};

use super::BuiltinReviewer;

/// A diff adding `lines` to `path` (a new file).
fn added(path: &str, lines: &[&str]) -> String {
    let mut diff = format!(
        "diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{} @@\n",
        lines.len()
    );
    for line in lines {
        diff.push('+');
        diff.push_str(line);
        diff.push('\n');
    }
    diff
}

/// The review of `diff` as the workers run it: planned (classified, budgeted), then reviewed.
async fn planned_review(diff: &str) -> ReviewDraft {
    let plan = plan(parse(diff), Budget::default());
    review_in_chunks(
        &BuiltinReviewer,
        &ReviewRequest::new("t", Vec::new()),
        &plan,
    )
    .await
    .unwrap()
}

async fn findings(diff: &str) -> Vec<(String, u32, Severity, Category, String)> {
    let request = ReviewRequest::new("t", parse(diff));
    let draft = BuiltinReviewer.review(&request).await.unwrap();
    draft
        .findings
        .into_iter()
        .map(|f| (f.path, f.line, f.severity, f.category, f.title))
        .collect()
}

#[tokio::test]
async fn leaked_secrets_are_critical() {
    let diff = added(
        "config.py",
        &[
            "AWS_KEY = 'AKIA2OGYBAH6STMMNXNN'",
            "token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'",
            "-----BEGIN RSA PRIVATE KEY-----",
            "slack = 'xoxb-1234567890-abcdefghij'",
            "db_password = \"Zq8#vT2!mP9xLw4@Rk7s\"",
        ],
    );
    let found = findings(&diff).await;
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(
        found
            .iter()
            .all(|f| f.2 == Severity::Critical && f.3 == Category::Security)
    );
    assert_eq!(
        found.iter().map(|f| f.1).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    // The example key of AWS's own documentation is no leak.
    assert!(
        findings(&added(
            "docs/aws.md",
            &["aws_access_key_id = AKIAIOSFODNN7EXAMPLE"]
        ))
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn placeholders_and_low_entropy_values_are_not_secrets() {
    let diff = added(
        "settings.py",
        &[
            "password = 'changeme-changeme'",
            "api_key = '${API_KEY_FROM_ENV}'",
            "token = 'aaaaaaaaaaaaaaaaaaaa'",
            "secret_name = os.environ['SECRET']",
            "let tokenizer = Tokenizer::new();",
        ],
    );
    assert!(findings(&diff).await.is_empty());
}

#[tokio::test]
async fn merge_conflict_markers_are_critical() {
    let diff = added(
        "src/a.rs",
        &[
            "<<<<<<< HEAD",
            "let a = 1;",
            "=======",
            "let a = 2;",
            ">>>>>>> feature",
        ],
    );
    let found = findings(&diff).await;
    assert_eq!(found.iter().map(|f| f.1).collect::<Vec<_>>(), [1, 3, 5]);
    assert!(
        found
            .iter()
            .all(|f| f.2 == Severity::Critical && f.4 == "Merge conflict marker")
    );
    // Markdown rules and setext headings are not conflict markers.
    assert!(
        findings(&added("README.md", &["Title", "=====", "----"]))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn debug_leftovers_are_found_outside_tests_only() {
    let found = findings(&added(
        "src/app.ts",
        &["console.log(user);", "logger.info(user);"],
    ))
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].1, found[0].4.as_str()), (1, "Debug leftover"));
    assert!(
        findings(&added("src/app.test.ts", &["console.log(x);"]))
            .await
            .is_empty()
    );
    let py = findings(&added(
        "app/views.py",
        &["import pdb; pdb.set_trace()", "print(user)", "printer(x)"],
    ))
    .await;
    assert_eq!(py.iter().map(|f| f.1).collect::<Vec<_>>(), [1, 2]);
    assert!(
        findings(&added("tests/test_views.py", &["print(user)"]))
            .await
            .is_empty()
    );
    assert_eq!(
        findings(&added("src/lib.rs", &["let x = dbg!(y);"]))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn unwrap_is_flagged_in_non_test_rust_only() {
    let found = findings(&added(
        "src/lib.rs",
        &["let v = parse(s).unwrap();", "let w = parse(s)?;"],
    ))
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, 1);
    assert!(
        findings(&added("tests/api.rs", &["let v = parse(s).unwrap();"]))
            .await
            .is_empty()
    );
    let with_test_module = added(
        "src/lib.rs",
        &[
            "fn f() {}",
            "#[cfg(test)]",
            "mod tests {",
            "    fn t() { f().unwrap(); }",
            "}",
        ],
    );
    assert!(
        findings(&with_test_module).await.is_empty(),
        "unwrap inside a test module is fine"
    );
    assert!(
        findings(&added("src/lib.rs", &["let v = x.unwrap_or(0);"]))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn todos_are_notes_and_removed_lines_are_not_reviewed() {
    let found = findings(&added(
        "src/lib.rs",
        &["// TODO: handle retries", "let todo_list = vec![];"],
    ))
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].1, found[0].2), (1, Severity::Info));
    let removal = "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1,2 +1,1 @@\n-let v = x.unwrap();\n keep();\n";
    assert!(findings(removal).await.is_empty());
}

#[tokio::test]
async fn very_large_new_files_and_binaries_are_named() {
    let lines: Vec<String> = (0..1200).map(|i| format!("let v{i} = {i};")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut diff = added("src/generated_table.rs", &refs);
    diff.push_str("diff --git a/logo.png b/logo.png\nnew file mode 100644\nBinary files /dev/null and b/logo.png differ\n");
    let draft = planned_review(&diff).await;
    assert_eq!(draft.findings.len(), 1);
    assert_eq!(draft.findings[0].title, "Very large new file");
    assert_eq!(
        draft.not_covered,
        [("logo.png".to_owned(), "binary file".to_owned())]
    );
    assert!(
        draft.summary.contains("1 file(s) and 1200 added line(s)"),
        "{}",
        draft.summary
    );
}

#[tokio::test]
async fn lock_vendored_and_generated_files_are_left_out_and_named() {
    let mut diff = added("Cargo.lock", &["checksum = \"AKIAIOSFODNN7EXAMPLE\""]);
    diff.push_str(&added("vendor/lib/a.rs", &["let v = x.unwrap();"]));
    diff.push_str(&added("src/lib.rs", &["let v = x.unwrap();"]));
    let draft = planned_review(&diff).await;
    assert_eq!(draft.findings.len(), 1);
    assert_eq!(draft.findings[0].path, "src/lib.rs");
    assert_eq!(
        draft.not_covered,
        [
            ("Cargo.lock".to_owned(), "lock file".to_owned()),
            (
                "vendor/lib/a.rs".to_owned(),
                "vendored dependency".to_owned()
            )
        ]
    );
}

#[tokio::test]
async fn the_project_s_forbid_rules_flag_added_lines_in_matching_files_only() {
    let rule =
        domain::memory::ForbidRule::parse(12, r#"forbid "println!" in "src/**/*.rs": use tracing"#)
            .unwrap();
    let diff = [
        added(
            "src/pay/mod.rs",
            &["fn f() {", r#"    println!("paid");"#, "}"],
        ),
        added("examples/demo.rs", &[r#"println!("demo");"#]),
    ]
    .concat();
    let mut request = ReviewRequest::new("t", parse(&diff));
    request.rules = vec![rule];
    let draft = BuiltinReviewer.review(&request).await.unwrap();
    let found: Vec<(&str, u32, &str, &str)> = draft
        .findings
        .iter()
        .map(|f| (f.path.as_str(), f.line, f.title.as_str(), f.body.as_str()))
        .collect();
    assert_eq!(
        found,
        [(
            "src/pay/mod.rs",
            2,
            "Project rule: `println!` is not used in `src/**/*.rs`",
            "use tracing (the project's memory, rule #12)."
        )]
    );
    // Without the rule, nothing is said of it.
    let plain = BuiltinReviewer
        .review(&ReviewRequest::new("t", parse(&diff)))
        .await
        .unwrap();
    assert!(plain.findings.is_empty(), "{:?}", plain.findings);
}

/// The whole file, read at the head commit: a test module opening far above the hunk (which Git's
/// hunk header does not name) makes its `unwrap()` test code, and a docstring's text is no code.
#[tokio::test]
async fn whole_files_tell_test_code_and_docstrings_wherever_they_open() {
    let mut rust = String::from(
        "pub fn parse(s: &str) -> u32 {\n    s.len() as u32\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n",
    );
    for i in 0..40 {
        rust.push_str(&format!(
            "    fn helper_{i}() -> u32 {{\n        parse(\"x\")\n    }}\n\n"
        ));
    }
    rust.push_str("    fn added() {\n        let v = \"1\".parse::<u32>().unwrap();\n    }\n}\n");
    let added_at = rust.lines().count() as u32 - 2;
    let diff = format!(
        "diff --git a/src/budget.rs b/src/budget.rs\n--- a/src/budget.rs\n+++ b/src/budget.rs\n@@ -{0},2 +{0},3 @@ fn helper_39() -> u32 {{\n     fn added() {{\n+        let v = \"1\".parse::<u32>().unwrap();\n     }}\n",
        added_at - 1
    );
    let python = "def load(db, x):\n    \"\"\"Loads one row.\n\n    Never db.execute(\"SELECT * FROM t WHERE id = \" + x): bind it.\n    \"\"\"\n    return db.execute(\"SELECT * FROM t WHERE id = ?\", (x,))\n";
    let py_diff = "diff --git a/app/db.py b/app/db.py\n--- a/app/db.py\n+++ b/app/db.py\n@@ -3,0 +4,1 @@\n+    Never db.execute(\"SELECT * FROM t WHERE id = \" + x): bind it.\n";
    let files = parse(&format!("{diff}{py_diff}"));

    // Its lines alone: both look like findings.
    let alone = BuiltinReviewer
        .review(&ReviewRequest::new("t", files.clone()))
        .await
        .unwrap();
    assert_eq!(alone.findings.len(), 2, "{:?}", alone.findings);
    assert!(
        alone
            .summary
            .starts_with("Built-in checks ran on 2 file(s) and 2 added"),
        "{}",
        alone.summary
    );

    // Whole: neither is.
    let mut request = ReviewRequest::new("t", files);
    request.sources = std::sync::Arc::new(
        [
            ("src/budget.rs".to_owned(), rust.clone()),
            ("app/db.py".to_owned(), python.to_owned()),
        ]
        .into(),
    );
    let whole = BuiltinReviewer.review(&request).await.unwrap();
    assert!(whole.findings.is_empty(), "{:?}", whole.findings);
    assert!(
        whole.summary.contains("(every one parsed whole)"),
        "{}",
        whole.summary
    );

    // A file that could not be read is checked by its lines, and the summary says so.
    request.sources = std::sync::Arc::new([("src/budget.rs".to_owned(), rust)].into());
    let partly = BuiltinReviewer.review(&request).await.unwrap();
    assert_eq!(partly.findings.len(), 1);
    assert_eq!(partly.findings[0].path, "app/db.py");
    assert!(
        partly
            .summary
            .contains("(1 parsed whole, 1 by their lines alone)"),
        "{}",
        partly.summary
    );
}

/// A type's own `unwrap` (ripgrep's `GramQuery::unwrap`): in a file that defines one, an
/// `.unwrap()` may be it, so it is not flagged when the file is read whole.
#[tokio::test]
async fn a_file_defining_its_own_unwrap_is_not_flagged_for_calling_it() {
    let source = "impl GramQuery {\n    fn unwrap(self) -> GramQuery {\n        self\n    }\n\n    fn intersect(&mut self, q2: GramQuery) {\n        let q2 = q2.unwrap();\n    }\n}\n";
    let diff = "diff --git a/src/literal.rs b/src/literal.rs\n--- a/src/literal.rs\n+++ b/src/literal.rs\n@@ -6,2 +6,3 @@ impl GramQuery {\n     fn intersect(&mut self, q2: GramQuery) {\n+        let q2 = q2.unwrap();\n     }\n";
    let mut request = ReviewRequest::new("t", parse(diff));
    assert_eq!(
        BuiltinReviewer
            .review(&request)
            .await
            .unwrap()
            .findings
            .len(),
        1
    );
    request.sources =
        std::sync::Arc::new([("src/literal.rs".to_owned(), source.to_owned())].into());
    assert!(
        BuiltinReviewer
            .review(&request)
            .await
            .unwrap()
            .findings
            .is_empty()
    );
}

/// `[review] rules_off` in `.nectr.toml`: those rules raise nothing; an id of no rule is said.
#[tokio::test]
async fn rules_a_repository_turned_off_raise_nothing() {
    let diff = added(
        "src/a.rs",
        &["let v = parse().unwrap();", "// TODO: cache it"],
    );
    let mut request = ReviewRequest::new("t", parse(&diff));
    assert_eq!(
        BuiltinReviewer
            .review(&request)
            .await
            .unwrap()
            .findings
            .len(),
        2
    );
    request.rules_off = vec!["rust-unwrap".into(), "no-such-rule".into()];
    let draft = BuiltinReviewer.review(&request).await.unwrap();
    assert_eq!(draft.findings.len(), 1);
    assert!(draft.findings[0].body.ends_with("(rule `todo`)"));
    assert!(
        draft
            .summary
            .contains("`[review] rules_off` names `no-such-rule`, which no rule has"),
        "{}",
        draft.summary
    );
}
