//! The rule catalogue's own checks; the corpus test (`tests/corpus.rs`) checks what each rule finds.

use super::*;

fn at(path: &str, text: &str) -> Option<&'static str> {
    check(&Line {
        language: Language::of(path),
        test_code: is_test_path(path),
        in_text: false,
        own_unwrap: false,
        script: is_script_path(path),
        text,
        above: &[],
    })
    .map(|r| r.id)
}

#[test]
fn every_rule_has_a_unique_id_a_title_and_a_why() {
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), RULES.len());
    for r in RULES {
        assert!(
            r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{}",
            r.id
        );
        assert!(!r.title.is_empty() && r.why.ends_with('.'), "{}", r.id);
    }
    // Every pattern compiles.
    std::sync::LazyLock::force(&matching::TOKENS);
}

#[test]
fn paths_of_tests_examples_and_benches_are_test_code() {
    for path in [
        "examples/basic.rs",
        "tests/it.rs",
        "crates/x/tests/it.rs",
        "benches/b.rs",
        "src/lib_test.go",
        "pkg/__tests__/a.js",
        "src/a.test.ts",
        "tests/test_api.py",
        "app/test_models.py",
        "build.rs",
        "conftest.py",
    ] {
        assert!(is_test_path(path), "{path}");
    }
    for path in [
        "src/lib.rs",
        "src/testing.rs",
        "src/examples.rs",
        "latest/x.py",
    ] {
        assert!(!is_test_path(path), "{path}");
    }
}

#[test]
fn comments_do_not_break_code_rules() {
    assert_eq!(at("a.go", "// InsecureSkipVerify: true is never set"), None);
    assert_eq!(
        at("a.go", "c := tls.Config{InsecureSkipVerify: true}"),
        Some("tls-verification-off")
    );
}
