//! What model reviewers are asked, and how their structured answers become a `ReviewDraft`. Shared by
//! the Anthropic and OpenAI-compatible reviewers.

use domain::review::diff::LineKind;
use domain::review::{
    Category, Finding, Focus, ReviewDraft, ReviewError, ReviewRequest, Severity, Usage,
};
use serde::Deserialize;
use serde_json::{Value, json};

pub const SYSTEM: &str = "You are nectr, a senior engineer reviewing a pull request. Report only real \
problems a careful reviewer would raise: bugs, security issues, performance traps, unclear or fragile \
code. Each finding names the file and the line number shown in the left column of the diff (a line \
of the new file). Use severity critical only for what must not be merged. When a fix is a direct \
replacement of the line(s), give it as suggestion (the full new text of those lines). Be concise.";

/// The JSON schema of the answer, for a forced tool call or a JSON-schema response format. Every
/// property is required (optional ones are nullable) and no keyword beyond OpenAI's strict subset is
/// used, so the same schema works for Anthropic, OpenAI and local OpenAI-compatible servers.
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
                        "line": {"type": "integer", "description": "Line number in the new file, as shown in the left column."},
                        "end_line": {"type": ["integer", "null"], "description": "Last line of a multi-line finding, else null."},
                        "severity": {"type": "string", "enum": ["info", "warning", "critical"]},
                        "category": {"type": "string", "enum": ["security", "correctness", "performance", "maintainability"]},
                        "title": {"type": "string"},
                        "body": {"type": "string"},
                        "suggestion": {"type": ["string", "null"], "description": "Full replacement text of the line(s), or null."}
                    },
                    "required": ["path", "line", "end_line", "severity", "category", "title", "body", "suggestion"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["summary", "findings"],
        "additionalProperties": false
    })
}

/// What one of the parallel agents is told to look at.
fn focus_instruction(focus: Focus) -> &'static str {
    match focus {
        Focus::Security => {
            "Review for security only: injection, authentication and authorization, secrets, \
             unsafe input handling, cryptography. Report findings of category security only."
        }
        Focus::CorrectnessAndPerformance => {
            "Review for correctness and performance only: logic errors, edge cases, error \
             handling, concurrency, needless work. Report findings of category correctness or \
             performance only."
        }
        Focus::Maintainability => {
            "Review for maintainability only: unclear names, duplication, missing tests, fragile \
             structure. Report findings of category maintainability only."
        }
    }
}

/// The user message: the pull request's files (already classified by the plan: every one is for a
/// reviewer to read) with new-file line numbers.
pub fn user_message(request: &ReviewRequest) -> String {
    let mut text = format!("Pull request: {}\n", request.title);
    if let Some(focus) = request.focus {
        text.push_str(&format!("\n{}\n", focus_instruction(focus)));
    }
    if let Some(instructions) = &request.instructions {
        text.push_str(&format!(
            "\nThe repository's review instructions (follow them where they apply):\n<instructions>\n{instructions}\n</instructions>\n"
        ));
    }
    if let Some(description) = &request.description {
        text.push_str(&format!(
            "\nThe author's description:\n<description>\n{description}\n</description>\n"
        ));
    }
    for issue in &request.linked_issues {
        text.push_str(&format!(
            "\nIt says it fixes issue #{}: {}\n<issue>\n{}\n</issue>\n",
            issue.number, issue.title, issue.body
        ));
    }
    if let Some(since) = &request.incremental_since {
        text.push_str(&format!(
            "\nOnly the commits since {since} are shown; earlier changes were already reviewed.\n"
        ));
    }
    for file in &request.files {
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
    text
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
    model: &str,
    usage: Usage,
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
            // Models say "no suggestion" with an empty string as often as with null.
            suggestion: f.suggestion.filter(|s| !s.trim().is_empty()),
        })
        .collect();
    Ok(ReviewDraft {
        summary: answer.summary,
        findings,
        not_covered: Vec::new(),
        model: Some(model.to_owned()),
        usage,
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
