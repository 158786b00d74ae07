//! `.nectr.toml`: a repository's own review settings, read from the base branch (so a pull request
//! cannot loosen the rules it is reviewed by). Every key has a default; an unknown key or a value of
//! the wrong type never passes silently: it is named in [`RepoConfig::warnings`] (the review body
//! lists them) and the default applies. A file that does not parse is a [`ConfigError`] naming the
//! line: the review runs on the defaults and the commit status says so.

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use toml::{Table, Value};

use crate::review::codehost::PullRequest;
use crate::review::model::{Category, Finding, Severity};

/// Where the file is read from.
pub const CONFIG_FILE: &str = ".nectr.toml";

/// The instruction files read when `[instructions] files` is not set, first found first.
pub const DEFAULT_INSTRUCTION_FILES: [&str; 6] = [
    "AGENTS.md",
    "CLAUDE.md",
    ".github/copilot-instructions.md",
    ".cursorrules",
    ".nectr/instructions.md",
    ".github/nectr.md",
];

/// The actions that can trigger a review.
const ACTIONS: [&str; 4] = ["opened", "synchronize", "reopened", "ready_for_review"];

/// A file that does not parse as TOML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {message}")]
pub struct ConfigError {
    pub file: &'static str,
    pub line: usize,
    pub message: String,
}

/// Why a pull request is not reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Its action is not one the repository reviews: no review was asked for (no status is set).
    NotTriggered(String),
    /// A rule says not to review it (the `error` status says which).
    Rule(String),
}

impl Skip {
    pub fn reason(&self) -> &str {
        match self {
            Self::NotTriggered(reason) | Self::Rule(reason) => reason,
        }
    }
}

/// The settings a review runs with.
#[derive(Debug, Clone)]
pub struct RepoConfig {
    /// `[review] enabled`.
    pub enabled: bool,
    /// `[review] on`: the actions that trigger a review.
    pub on: Vec<String>,
    /// `[review] drafts`: review draft pull requests too.
    pub drafts: bool,
    /// `[review] min_severity`: findings below are not posted.
    pub min_severity: Severity,
    /// `[review] categories`: the categories whose findings are posted.
    pub categories: Vec<Category>,
    /// `[review] max_findings`: the most findings posted (the most severe first).
    pub max_findings: Option<usize>,
    /// `[review] rules_off`: the built-in reviewer's rules (by id, such as `rust-unwrap`) not run.
    pub rules_off: Vec<String>,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// `[paths]` as written, for the review body.
    pub include_globs: Vec<String>,
    pub exclude_globs: Vec<String>,
    skip_authors: Vec<String>,
    skip_labels: Vec<String>,
    skip_titles: Vec<Regex>,
    skip_base: Option<GlobSet>,
    skip_head: Option<GlobSet>,
    /// `[instructions] text`.
    pub instructions_text: Option<String>,
    /// `[instructions] files`.
    pub instruction_files: Vec<String>,
    /// `[budget] monthly_tokens`.
    pub monthly_tokens: Option<u64>,
    /// `[budget] monthly_usd`.
    pub monthly_usd: Option<f64>,
    /// What was wrong in the file (unknown keys, wrong types), each with the default that applied.
    pub warnings: Vec<String>,
}

impl Default for RepoConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            on: vec!["opened".into(), "synchronize".into()],
            drafts: false,
            min_severity: Severity::Info,
            categories: vec![
                Category::Security,
                Category::Correctness,
                Category::Performance,
                Category::Maintainability,
            ],
            max_findings: None,
            rules_off: Vec::new(),
            include: None,
            exclude: None,
            include_globs: Vec::new(),
            exclude_globs: Vec::new(),
            skip_authors: Vec::new(),
            skip_labels: Vec::new(),
            skip_titles: Vec::new(),
            skip_base: None,
            skip_head: None,
            instructions_text: None,
            instruction_files: DEFAULT_INSTRUCTION_FILES.map(str::to_owned).to_vec(),
            monthly_tokens: None,
            monthly_usd: None,
            warnings: Vec::new(),
        }
    }
}

/// Reads a TOML text into a table, or says which line does not parse.
///
/// # Errors
/// [`ConfigError`] with the 1-based line of the first error.
pub fn parse_table(file: &'static str, text: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| {
        let line = e.span().map_or(1, |span| {
            text[..span.start.min(text.len())].lines().count().max(1)
        });
        let message = e.message().trim().to_owned();
        ConfigError {
            file,
            line,
            message,
        }
    })
}

/// `over` laid on `base`, section by section: a key in `over` replaces the same key of `base`.
pub fn overlay(mut base: Table, over: Table) -> Table {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(mine)), Value::Table(theirs)) => {
                for (k, v) in theirs {
                    mine.insert(k, v);
                }
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
    base
}

/// Reads values of one section, noting what is wrong.
struct Section<'a> {
    name: &'static str,
    table: Option<&'a Table>,
    warnings: &'a mut Vec<String>,
}

impl Section<'_> {
    fn value(&self, key: &str) -> Option<&Value> {
        self.table?.get(key)
    }

    fn wrong(&mut self, key: &str, expected: &str, got: &Value) {
        self.warnings.push(format!(
            "`{}.{key}` must be {expected}, not `{got}`; the default applies",
            self.name
        ));
    }

    fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.value(key).cloned() {
            None => default,
            Some(Value::Boolean(b)) => b,
            Some(other) => {
                self.wrong(key, "true or false", &other);
                default
            }
        }
    }

    fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        let value = self.value(key)?.clone();
        let items = value.as_array().and_then(|items| {
            items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        });
        if items.is_none() {
            self.wrong(key, "a list of strings", &value);
        }
        items
    }

    fn count(&mut self, key: &str) -> Option<u64> {
        let value = self.value(key)?.clone();
        match value.as_integer().and_then(|n| u64::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                self.wrong(key, "a whole number", &value);
                None
            }
        }
    }

    fn string(&mut self, key: &str) -> Option<String> {
        let value = self.value(key)?.clone();
        match value.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                self.wrong(key, "a string", &value);
                None
            }
        }
    }

    /// Names keys of the section that are not `known`.
    fn unknown(&mut self, known: &[&str]) {
        let Some(table) = self.table else {
            return;
        };
        for key in table.keys().filter(|k| !known.contains(&k.as_str())) {
            self.warnings.push(format!(
                "unknown key `{}.{key}` (known: {}); it is ignored",
                self.name,
                known.join(", ")
            ));
        }
    }

    fn globs(&mut self, key: &str) -> (Vec<String>, Option<GlobSet>) {
        let Some(patterns) = self.strings(key) else {
            return (Vec::new(), None);
        };
        let mut builder = GlobSetBuilder::new();
        let mut kept = Vec::new();
        for pattern in patterns {
            match Glob::new(&pattern) {
                Ok(glob) => {
                    builder.add(glob);
                    kept.push(pattern);
                }
                Err(e) => self.warnings.push(format!(
                    "`{}.{key}`: `{pattern}` is not a glob ({e}); it is ignored",
                    self.name
                )),
            }
        }
        let set = (!kept.is_empty()).then(|| builder.build().ok()).flatten();
        (kept, set)
    }
}

fn severity(name: &str) -> Option<Severity> {
    match name {
        "note" | "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

fn category(name: &str) -> Option<Category> {
    [
        Category::Security,
        Category::Correctness,
        Category::Performance,
        Category::Maintainability,
    ]
    .into_iter()
    .find(|c| c.as_str() == name)
}

impl RepoConfig {
    /// The settings a table says, every problem noted in `warnings`.
    pub fn from_table(table: &Table) -> Self {
        let mut config = Self::default();
        let mut warnings = Vec::new();
        let sections = ["review", "paths", "skip", "instructions", "budget"];
        for (key, value) in table {
            if !sections.contains(&key.as_str()) {
                warnings.push(format!(
                    "unknown section `{key}` (known: {}); it is ignored",
                    sections.join(", ")
                ));
            } else if !value.is_table() {
                warnings.push(format!(
                    "`{key}` must be a table (`[{key}]`); the defaults apply"
                ));
            }
        }
        let section = |name: &'static str, warnings: &mut Vec<String>| -> Option<Table> {
            let _ = warnings;
            table.get(name).and_then(Value::as_table).cloned()
        };

        let review = section("review", &mut warnings);
        let mut s = Section {
            name: "review",
            table: review.as_ref(),
            warnings: &mut warnings,
        };
        s.unknown(&[
            "enabled",
            "on",
            "drafts",
            "min_severity",
            "categories",
            "max_findings",
            "rules_off",
        ]);
        config.enabled = s.bool("enabled", true);
        config.drafts = s.bool("drafts", false);
        if let Some(on) = s.strings("on") {
            let (known, unknown): (Vec<String>, Vec<String>) =
                on.into_iter().partition(|a| ACTIONS.contains(&a.as_str()));
            for action in unknown {
                s.warnings.push(format!(
                    "`review.on`: `{action}` is not an action ({}); it is ignored",
                    ACTIONS.join(", ")
                ));
            }
            config.on = known;
        }
        if let Some(name) = s.string("min_severity") {
            match severity(&name) {
                Some(level) => config.min_severity = level,
                None => s.warnings.push(format!(
                    "`review.min_severity` must be note, warning or critical, not `{name}`; the default (note) applies"
                )),
            }
        }
        if let Some(value) = s.value("categories").cloned() {
            match value.as_table() {
                Some(flags) => {
                    for (name, on) in flags {
                        match (category(name), on.as_bool()) {
                            (Some(c), Some(true)) if !config.categories.contains(&c) => {
                                config.categories.push(c)
                            }
                            (Some(c), Some(false)) => config.categories.retain(|k| *k != c),
                            (Some(_), Some(true)) => {}
                            (None, _) => s.warnings.push(format!(
                                "`review.categories.{name}` is not a category (security, correctness, performance, maintainability); it is ignored"
                            )),
                            (Some(_), None) => {
                                s.wrong(&format!("categories.{name}"), "true or false", on)
                            }
                        }
                    }
                }
                None => s.wrong(
                    "categories",
                    "a table of true or false per category",
                    &value,
                ),
            }
        }
        config.max_findings = s
            .count("max_findings")
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        config.rules_off = s.strings("rules_off").unwrap_or_default();

        let paths = section("paths", &mut warnings);
        let mut s = Section {
            name: "paths",
            table: paths.as_ref(),
            warnings: &mut warnings,
        };
        s.unknown(&["include", "exclude"]);
        (config.include_globs, config.include) = s.globs("include");
        (config.exclude_globs, config.exclude) = s.globs("exclude");

        let skip = section("skip", &mut warnings);
        let mut s = Section {
            name: "skip",
            table: skip.as_ref(),
            warnings: &mut warnings,
        };
        s.unknown(&[
            "authors",
            "labels",
            "title_patterns",
            "base_branches",
            "head_branches",
        ]);
        config.skip_authors = s.strings("authors").unwrap_or_default();
        config.skip_labels = s.strings("labels").unwrap_or_default();
        for pattern in s.strings("title_patterns").unwrap_or_default() {
            match Regex::new(&pattern) {
                Ok(re) => config.skip_titles.push(re),
                Err(_) => s.warnings.push(format!(
                    "`skip.title_patterns`: `{pattern}` is not a regular expression; it is ignored"
                )),
            }
        }
        config.skip_base = s.globs("base_branches").1;
        config.skip_head = s.globs("head_branches").1;

        let instructions = section("instructions", &mut warnings);
        let mut s = Section {
            name: "instructions",
            table: instructions.as_ref(),
            warnings: &mut warnings,
        };
        s.unknown(&["text", "files"]);
        config.instructions_text = s.string("text").filter(|t| !t.trim().is_empty());
        if let Some(files) = s.strings("files") {
            config.instruction_files = files;
        }

        let budget = section("budget", &mut warnings);
        let mut s = Section {
            name: "budget",
            table: budget.as_ref(),
            warnings: &mut warnings,
        };
        s.unknown(&["monthly_tokens", "monthly_usd"]);
        config.monthly_tokens = s.count("monthly_tokens");
        if let Some(value) = s.value("monthly_usd").cloned() {
            match value
                .as_float()
                .or_else(|| value.as_integer().map(|n| n as f64))
            {
                Some(usd) if usd >= 0.0 => config.monthly_usd = Some(usd),
                _ => s.wrong("monthly_usd", "a number of dollars", &value),
            }
        }
        config.warnings = warnings;
        config
    }

    /// Why this pull request is not reviewed, if it is not: an action not in `on` (not triggered),
    /// or turned off, a draft, or one of the `[skip]` rules.
    pub fn skip(&self, pr: &PullRequest, action: Option<&str>) -> Option<Skip> {
        if let Some(action) = action
            && ACTIONS.contains(&action)
            && !self.on.iter().any(|a| a == action)
        {
            return Some(Skip::NotTriggered(format!(
                "'{action}' is not in review.on (.nectr.toml)"
            )));
        }
        self.skip_rule(pr).map(Skip::Rule)
    }

    fn skip_rule(&self, pr: &PullRequest) -> Option<String> {
        if !self.enabled {
            return Some("reviews are turned off (.nectr.toml: review.enabled = false)".into());
        }
        if pr.draft && !self.drafts {
            return Some("draft pull request (.nectr.toml: review.drafts = false)".into());
        }
        if self
            .skip_authors
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&pr.author))
        {
            return Some(format!(
                "author {} is in skip.authors (.nectr.toml)",
                pr.author
            ));
        }
        if let Some(label) = pr
            .labels
            .iter()
            .find(|l| self.skip_labels.iter().any(|s| s.eq_ignore_ascii_case(l)))
        {
            return Some(format!("label '{label}' is in skip.labels (.nectr.toml)"));
        }
        if let Some(re) = self.skip_titles.iter().find(|re| re.is_match(&pr.title)) {
            return Some(format!(
                "the title matches skip.title_patterns `{}` (.nectr.toml)",
                re.as_str()
            ));
        }
        if self
            .skip_base
            .as_ref()
            .is_some_and(|g| g.is_match(&pr.base_ref))
        {
            return Some(format!(
                "base branch {} is in skip.base_branches (.nectr.toml)",
                pr.base_ref
            ));
        }
        if self
            .skip_head
            .as_ref()
            .is_some_and(|g| g.is_match(&pr.head_ref))
        {
            return Some(format!(
                "head branch {} is in skip.head_branches (.nectr.toml)",
                pr.head_ref
            ));
        }
        None
    }

    /// Why `path` is left out by `[paths]`, if it is.
    pub fn path_excluded(&self, path: &str) -> Option<&'static str> {
        if self.exclude.as_ref().is_some_and(|g| g.is_match(path)) {
            return Some("excluded by paths.exclude (.nectr.toml)");
        }
        if self.include.as_ref().is_some_and(|g| !g.is_match(path)) {
            return Some("not in paths.include (.nectr.toml)");
        }
        None
    }

    /// The findings worth posting: at least `min_severity`, of an enabled category, the most
    /// severe first up to `max_findings`. Returns how many were left out.
    pub fn keep_findings(&self, findings: &mut Vec<Finding>) -> usize {
        let before = findings.len();
        findings
            .retain(|f| f.severity >= self.min_severity && self.categories.contains(&f.category));
        if let Some(max) = self.max_findings
            && findings.len() > max
        {
            findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
            findings.truncate(max);
        }
        before - findings.len()
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
