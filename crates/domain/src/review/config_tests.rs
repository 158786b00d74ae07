//! `.nectr.toml`'s rules: defaults, every key, what does not read, overlays, kept findings.

use super::*;

fn config(text: &str) -> RepoConfig {
    RepoConfig::from_table(&parse_table(CONFIG_FILE, text).unwrap())
}

#[test]
fn an_empty_file_is_the_defaults() {
    let c = config("");
    assert!(c.enabled && !c.drafts && c.warnings.is_empty());
    assert_eq!(c.on, ["opened", "synchronize"]);
    assert_eq!(c.min_severity, Severity::Info);
    assert_eq!(c.instruction_files.len(), 6);
}

#[test]
fn every_key_reads() {
    let c = config(
        r#"
[review]
enabled = true
on = ["opened"]
drafts = true
min_severity = "warning"
categories = { maintainability = false }
max_findings = 5
rules_off = ["rust-unwrap", "todo"]
[paths]
include = ["src/**"]
exclude = ["src/generated/**"]
[skip]
authors = ["dependabot[bot]"]
labels = ["no-review"]
title_patterns = ["^WIP"]
base_branches = ["legacy/*"]
head_branches = ["release/*"]
[instructions]
text = "Prefer small functions."
files = ["AGENTS.md"]
[budget]
monthly_tokens = 1000000
monthly_usd = 25
"#,
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        (c.on.len(), c.drafts, c.min_severity),
        (1, true, Severity::Warning)
    );
    assert!(!c.categories.contains(&Category::Maintainability));
    assert_eq!(c.max_findings, Some(5));
    assert_eq!(c.rules_off, ["rust-unwrap", "todo"]);
    assert_eq!(
        c.path_excluded("src/generated/a.rs"),
        Some("excluded by paths.exclude (.nectr.toml)")
    );
    assert_eq!(
        c.path_excluded("docs/a.md"),
        Some("not in paths.include (.nectr.toml)")
    );
    assert_eq!(c.path_excluded("src/lib.rs"), None);
    assert_eq!(
        (c.monthly_tokens, c.monthly_usd),
        (Some(1_000_000), Some(25.0))
    );
    assert_eq!(c.instruction_files, ["AGENTS.md"]);
}

#[test]
fn unknown_keys_and_wrong_types_are_named_and_defaults_apply() {
    let c = config(
        r#"
colour = "blue"
[review]
min_severity = "high"
max_findings = "ten"
enabled = "yes"
on = ["opened", "pushed"]
[paths]
exclude = "vendor/**"
[skip]
title_pattern = ["WIP"]
"#,
    );
    let w = c.warnings.join("\n");
    for expected in [
        "unknown section `colour`",
        "`review.min_severity` must be note, warning or critical, not `high`",
        "`review.max_findings` must be a whole number",
        "`review.enabled` must be true or false",
        "`review.on`: `pushed` is not an action",
        "`paths.exclude` must be a list of strings",
        "unknown key `skip.title_pattern`",
    ] {
        assert!(w.contains(expected), "{expected}\nnot in:\n{w}");
    }
    assert!(c.enabled && c.max_findings.is_none() && c.exclude_globs.is_empty());
    assert_eq!(c.on, ["opened"]);
}

#[test]
fn a_file_that_does_not_parse_names_its_line() {
    let e = parse_table(CONFIG_FILE, "[review]\nenabled = true\nmin_severity = \n").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    assert!(e.to_string().starts_with(".nectr.toml line 3: "), "{e}");
}

#[test]
fn a_repository_file_overrides_the_installation_s_defaults_key_by_key() {
    let defaults = parse_table(
        "defaults",
        "[review]\nmin_severity = \"warning\"\ndrafts = true\n",
    )
    .unwrap();
    let repo = parse_table(CONFIG_FILE, "[review]\nmin_severity = \"critical\"\n").unwrap();
    let c = RepoConfig::from_table(&overlay(defaults, repo));
    assert_eq!((c.min_severity, c.drafts), (Severity::Critical, true));
}

#[test]
fn findings_are_kept_by_severity_category_and_count() {
    let finding = |severity, category| Finding {
        path: "a.rs".into(),
        line: 1,
        end_line: None,
        severity,
        category,
        title: "t".into(),
        body: "b".into(),
        suggestion: None,
    };
    let c = config(
        "[review]\nmin_severity = \"warning\"\nmax_findings = 1\ncategories = { performance = false }\n",
    );
    let mut findings = vec![
        finding(Severity::Info, Category::Security),
        finding(Severity::Warning, Category::Correctness),
        finding(Severity::Critical, Category::Security),
        finding(Severity::Critical, Category::Performance),
    ];
    assert_eq!(c.keep_findings(&mut findings), 3);
    assert_eq!(findings[0].severity, Severity::Critical);
    assert_eq!(findings[0].category, Category::Security);
}
