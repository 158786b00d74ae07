//! Rendering a review for GitHub: one review whose body holds the summary, the findings that fall
//! outside the diff, what was not covered, and a hidden marker; inline comments (with ```suggestion
//! blocks) for every finding on a commentable line.

use crate::review::codehost::{DiffSide, InlineComment};
use crate::review::diff::LineMap;
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

/// Entries listed per section (and per reason) before "and N more".
const MAX_LISTED: usize = 40;

/// GitHub refuses review bodies over 65,536 characters; this leaves room for the cut notice.
const MAX_BODY: usize = 65_000;

/// A finding's identity across commits: its file, category and title (not its line, which moves).
pub fn fingerprint(finding: &Finding) -> String {
    let key = format!(
        "{}\n{}\n{}",
        finding.path,
        finding.category.as_str(),
        finding.title
    );
    let mut digest = crate::digest::sha256_hex(key);
    digest.truncate(12);
    digest
}

/// The findings no line of the diff can hold, listed in the body.
fn push_outside(body: &mut String, outside: &[&Finding]) {
    if !outside.is_empty() {
        body.push_str("\n### Findings outside the diff\n\n");
        for f in outside.iter().take(MAX_LISTED) {
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
        if outside.len() > MAX_LISTED {
            body.push_str(&format!(
                "- … and {} more findings\n",
                outside.len() - MAX_LISTED
            ));
        }
    }
}

/// What was not reviewed, grouped by reason, so a pull request of thousands of files still gives a
/// readable list.
fn push_not_covered(body: &mut String, not_covered: &[(String, String)]) {
    if !not_covered.is_empty() {
        body.push_str(&format!(
            "\n### Not reviewed ({} files)\n\n",
            not_covered.len()
        ));
        // Grouped by reason, so a pull request of thousands of files still gives a readable list.
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for (path, why) in not_covered {
            match reasons.iter_mut().find(|(w, _)| *w == why.as_str()) {
                Some((_, paths)) => paths.push(path),
                None => reasons.push((why, vec![path])),
            }
        }
        for (why, paths) in reasons {
            let listed: Vec<String> = paths
                .iter()
                .take(MAX_LISTED)
                .map(|p| format!("`{p}`"))
                .collect();
            let more = if paths.len() > MAX_LISTED {
                format!(" and {} more", paths.len() - MAX_LISTED)
            } else {
                String::new()
            };
            body.push_str(&format!("- {why}: {}{more}\n", listed.join(", ")));
        }
    }
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
    push_outside(&mut body, &outside);
    push_not_covered(&mut body, &draft.not_covered);
    let mut fingerprints: Vec<String> = Vec::new();
    for f in &draft.findings {
        let print = fingerprint(f);
        if !fingerprints.contains(&print) {
            fingerprints.push(print);
        }
    }
    let marker = Marker {
        event_id,
        head_sha: head_sha.to_owned(),
        fingerprints,
    }
    .render();
    let room = MAX_BODY.saturating_sub(marker.len());
    if body.len() > room {
        let mut cut = room;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        body.push_str("\n\n[… cut to fit GitHub's limit on a review's length]\n");
    }
    body.push('\n');
    body.push_str(&marker);
    RenderedReview { body, comments }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::diff::parse;
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
                .contains("### Not reviewed (1 files)\n\n- lock file: `Cargo.lock`\n"),
            "{}",
            review.body
        );
    }

    #[test]
    fn thousands_of_files_not_reviewed_are_grouped_and_the_body_fits_github() {
        let mut d = draft(vec![]);
        d.not_covered = (0..3000)
            .map(|i| {
                (
                    format!("src/file_{i}.rs"),
                    "over the review budget".to_owned(),
                )
            })
            .chain((0..3).map(|i| (format!("lock{i}.lock"), "lock file".to_owned())))
            .collect();
        let review = render(&d, &LineMap::default(), 1, "abc");
        assert!(review.body.len() < 65_536);
        assert!(review.body.contains(
            "### Not reviewed (3003 files)\n\n- over the review budget: `src/file_0.rs`"
        ));
        assert!(
            review.body.contains(
                " and 2960 more\n- lock file: `lock0.lock`, `lock1.lock`, `lock2.lock`\n"
            )
        );
        assert!(Marker::find(&review.body).is_some());
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
