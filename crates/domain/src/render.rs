//! Rendering a review for GitHub: one review whose body holds the summary, the findings that fall
//! outside the diff, what was not covered, and a hidden marker; inline comments (with ```suggestion
//! blocks) for every finding on a commentable line.

use crate::codehost::{DiffSide, InlineComment};
use crate::diff::LineMap;
use crate::review::{Finding, ReviewDraft};

/// What nectr writes into every review body, hidden, so a retry finds its own earlier review and later
/// reviews repeat no finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub event_id: i64,
    pub head_sha: String,
    pub fingerprints: Vec<String>,
}

const MARKER_PREFIX: &str = "<!-- nectr:review ";

impl Marker {
    pub fn render(&self) -> String {
        format!(
            "{MARKER_PREFIX}event={} sha={} findings={} -->",
            self.event_id,
            self.head_sha,
            self.fingerprints.join(",")
        )
    }

    /// The marker in a review body, if nectr wrote one.
    pub fn find(body: &str) -> Option<Self> {
        let start = body.find(MARKER_PREFIX)? + MARKER_PREFIX.len();
        let rest = &body[start..];
        let inner = &rest[..rest.find(" -->")?];
        let mut marker = Self {
            event_id: 0,
            head_sha: String::new(),
            fingerprints: Vec::new(),
        };
        for part in inner.split(' ') {
            match part.split_once('=') {
                Some(("event", v)) => marker.event_id = v.parse().ok()?,
                Some(("sha", v)) => marker.head_sha = v.to_owned(),
                Some(("findings", v)) => {
                    marker.fingerprints = v
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                _ => {}
            }
        }
        Some(marker)
    }
}

/// A finding's identity across commits: its file, category and title (not its line, which moves).
pub fn fingerprint(finding: &Finding) -> String {
    let key = format!(
        "{}\n{}\n{}",
        finding.path,
        finding.category.as_str(),
        finding.title
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    hex::encode(&digest.as_ref()[..6])
}

/// A review ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedReview {
    pub body: String,
    pub comments: Vec<InlineComment>,
}

fn comment_body(f: &Finding) -> String {
    let mut body = format!(
        "**{} ({}): {}**\n\n{}",
        f.severity.as_str(),
        f.category.as_str(),
        f.title,
        f.body
    );
    if let Some(suggestion) = &f.suggestion {
        body.push_str("\n\n```suggestion\n");
        body.push_str(suggestion);
        if !suggestion.is_empty() && !suggestion.ends_with('\n') {
            body.push('\n');
        }
        body.push_str("```");
    }
    body
}

/// Splits findings between inline comments (their lines are in the diff) and the body (they are not).
pub fn render(
    draft: &ReviewDraft,
    lines: &LineMap,
    event_id: i64,
    head_sha: &str,
) -> RenderedReview {
    let mut comments = Vec::new();
    let mut outside = Vec::new();
    for f in &draft.findings {
        let end = f.end_line.filter(|e| *e > f.line);
        let placeable = match end {
            Some(end) => lines.contains_range(&f.path, f.line, end),
            None => lines.contains(&f.path, f.line),
        };
        if placeable {
            comments.push(InlineComment {
                path: f.path.clone(),
                line: end.unwrap_or(f.line),
                side: DiffSide::Right,
                start_line: end.map(|_| f.line),
                body: comment_body(f),
            });
        } else {
            outside.push(f);
        }
    }
    let mut body = format!("## nectr review\n\n{}\n", draft.summary);
    if !outside.is_empty() {
        body.push_str("\n### Findings outside the diff\n\n");
        for f in &outside {
            body.push_str(&format!(
                "- `{}:{}` **{} ({})**: {}. {}\n",
                f.path,
                f.line,
                f.severity.as_str(),
                f.category.as_str(),
                f.title,
                f.body
            ));
        }
    }
    if !draft.not_covered.is_empty() {
        body.push_str("\n### Not reviewed\n\n");
        for (path, why) in &draft.not_covered {
            body.push_str(&format!("- `{path}`: {why}\n"));
        }
    }
    let marker = Marker {
        event_id,
        head_sha: head_sha.to_owned(),
        fingerprints: draft.findings.iter().map(fingerprint).collect(),
    };
    body.push('\n');
    body.push_str(&marker.render());
    RenderedReview { body, comments }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::parse;
    use crate::review::{Category, Severity};

    const DIFF: &str = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,2 +1,4 @@\n fn a() {}\n+let k = \"AKIA\";\n+dbg!(x);\n fn b() {}\n";

    fn finding(line: u32, end_line: Option<u32>, title: &str, suggestion: Option<&str>) -> Finding {
        Finding {
            path: "src/a.rs".into(),
            line,
            end_line,
            severity: Severity::Warning,
            category: Category::Maintainability,
            title: title.into(),
            body: "Explain.".into(),
            suggestion: suggestion.map(str::to_owned),
        }
    }

    fn draft(findings: Vec<Finding>) -> ReviewDraft {
        ReviewDraft {
            summary: "Two things.".into(),
            findings,
            not_covered: vec![("Cargo.lock".into(), "lock file".into())],
            ..ReviewDraft::default()
        }
    }

    #[test]
    fn findings_in_the_diff_go_inline_and_the_rest_into_the_body() {
        let lines = LineMap::new(&parse(DIFF));
        let review = render(
            &draft(vec![
                finding(3, None, "dbg left in", Some("")),
                finding(2, Some(3), "range", None),
                finding(40, None, "far away", None),
            ]),
            &lines,
            42,
            "abc123",
        );
        assert_eq!(review.comments.len(), 2);
        assert_eq!(
            (review.comments[0].line, review.comments[0].start_line),
            (3, None)
        );
        assert!(
            review.comments[0].body.ends_with("```suggestion\n```"),
            "{}",
            review.comments[0].body
        );
        assert_eq!(
            (review.comments[1].line, review.comments[1].start_line),
            (3, Some(2))
        );
        assert!(review.body.contains("### Findings outside the diff\n\n- `src/a.rs:40` **warning (maintainability)**: far away."));
        assert!(
            review
                .body
                .contains("### Not reviewed\n\n- `Cargo.lock`: lock file")
        );
    }

    #[test]
    fn the_marker_round_trips_and_fingerprints_ignore_line_numbers() {
        let lines = LineMap::new(&parse(DIFF));
        let review = render(
            &draft(vec![finding(3, None, "dbg left in", None)]),
            &lines,
            42,
            "abc123",
        );
        let marker = Marker::find(&review.body).unwrap();
        assert_eq!((marker.event_id, marker.head_sha.as_str()), (42, "abc123"));
        assert_eq!(
            marker.fingerprints,
            [fingerprint(&finding(99, None, "dbg left in", None))]
        );
        assert_ne!(
            marker.fingerprints[0],
            fingerprint(&finding(3, None, "another title", None))
        );
        assert_eq!(Marker::find("a human's review"), None);
    }
}
