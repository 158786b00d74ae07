//! What model reviewers are asked, and how their structured answers become a `ReviewDraft`. Shared by
//! the Anthropic and OpenAI-compatible reviewers.

use domain::classify::classify;
use domain::diff::LineKind;
use domain::review::{Category, Finding, ReviewDraft, ReviewError, ReviewRequest, Severity};
use serde::Deserialize;
use serde_json::{Value, json};

pub const SYSTEM: &str = "You are nectr, a senior engineer reviewing a pull request. Report only real \
problems a careful reviewer would raise: bugs, security issues, performance traps, unclear or fragile \
code. Each finding names the file and the line number shown in the left column of the diff (a line \
of the new file). Use severity critical only for what must not be merged. When a fix is a direct \
replacement of the line(s), give it as suggestion (the full new text of those lines). Be concise.";

/// The JSON schema of the answer, for a forced tool call or a JSON-schema response format.
pub fn answer_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "summary": {"type": "string", "description": "Two or three sentences on the change and its main risks."},
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "line": {"type": "integer", "minimum": 1},
                        "end_line": {"type": ["integer", "null"], "minimum": 1},
                        "severity": {"type": "string", "enum": ["info", "warning", "critical"]},
                        "category": {"type": "string", "enum": ["security", "correctness", "performance", "maintainability"]},
                        "title": {"type": "string"},
                        "body": {"type": "string"},
                        "suggestion": {"type": ["string", "null"]}
                    },
                    "required": ["path", "line", "severity", "category", "title", "body"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["summary", "findings"],
        "additionalProperties": false
    })
}

/// The user message: the pull request's reviewable files with new-file line numbers. Files that are
/// not reviewed are returned separately with the reason.
pub fn user_message(request: &ReviewRequest) -> (String, Vec<(String, String)>) {
    let mut text = format!("Pull request: {}\n", request.title);
    let mut not_covered = Vec::new();
    for file in &request.files {
        if let Some(reason) = classify(file).reason() {
            not_covered.push((file.path().to_owned(), reason.to_owned()));
            continue;
        }
        text.push_str(&format!("\nFile: {}\n```diff\n", file.path()));
        for hunk in &file.hunks {
            text.push_str(&format!(
                "@@ -{},{} +{},{} @@\n",
                hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len
            ));
            for line in &hunk.lines {
                let (mark, number) = match line.kind {
                    LineKind::Added => ('+', line.new_no),
                    LineKind::Removed => ('-', None),
                    LineKind::Context => (' ', line.new_no),
                };
                let number = number.map_or_else(|| "     ".to_owned(), |n| format!("{n:>5}"));
                text.push_str(&format!("{number} {mark}{}\n", line.text));
            }
        }
        text.push_str("```\n");
    }
    (text, not_covered)
}

#[derive(Deserialize)]
struct Answer {
    summary: String,
    findings: Vec<AnswerFinding>,
}

#[derive(Deserialize)]
struct AnswerFinding {
    path: String,
    line: u32,
    end_line: Option<u32>,
    severity: String,
    category: String,
    title: String,
    body: String,
    suggestion: Option<String>,
}

/// Parses the model's structured answer. Malformed output is a transient error (a retry may well
/// produce a good answer); the raw output never reaches the error or the logs.
pub fn parse_answer(
    value: Value,
    request: &ReviewRequest,
    not_covered: Vec<(String, String)>,
) -> Result<ReviewDraft, ReviewError> {
    let answer: Answer = serde_json::from_value(value).map_err(|e| {
        ReviewError::Transient(format!(
            "the model's answer does not match the schema ({})",
            e.classify_name()
        ))
    })?;
    let known: Vec<&str> = request.files.iter().map(|f| f.path()).collect();
    let findings = answer
        .findings
        .into_iter()
        .filter(|f| known.contains(&f.path.as_str()) && f.line > 0)
        .map(|f| Finding {
            severity: match f.severity.as_str() {
                "critical" => Severity::Critical,
                "warning" => Severity::Warning,
                _ => Severity::Info,
            },
            category: match f.category.as_str() {
                "security" => Category::Security,
                "correctness" => Category::Correctness,
                "performance" => Category::Performance,
                _ => Category::Maintainability,
            },
            path: f.path,
            line: f.line,
            end_line: f.end_line.filter(|e| *e > f.line),
            title: f.title,
            body: f.body,
            suggestion: f.suggestion,
        })
        .collect();
    Ok(ReviewDraft {
        summary: answer.summary,
        findings,
        not_covered,
    })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "wrong shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}
