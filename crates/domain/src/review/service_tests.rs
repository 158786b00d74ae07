//! The review use case against a mocked code host and reviewer: the paths the end-to-end tests reach
//! only with effort (GitHub refusing some comments, the token owner's own pull request, context).

use std::sync::{Arc, Mutex};

use chrono::Utc;

use super::*;
use crate::codehost::CodeHostError;
use crate::review::FallbackToken;
use crate::review::budget::Budget;
use crate::review::codehost::{ChangedFile, Comparison, FileContent, Issue, MockCodeHost};
use crate::review::codehost::{
    NewReview, Posted, PullRequest, PullRequestState, Review, ReviewVerdict,
};
use crate::review::{Category, Finding, MockReviewer, Severity};
use crate::review::{LinkedIssue, ReviewDraft};
use crate::webhook::values::{HeadSha, RepoFullName};

const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const OLD: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn job() -> Job {
    Job {
        event_id: 7,
        attempts: 1,
        kind: crate::queue::JobKind::Review,
        repository: RepoFullName::parse("acme/web").unwrap(),
        pr_number: 3,
        head_sha: Some(HeadSha::parse(SHA).unwrap()),
        action: Some("opened".into()),
        lease_expires_at: Utc::now(),
    }
}

fn pr(author: &str, body: &str) -> PullRequest {
    PullRequest {
        number: 3,
        title: "Add things".into(),
        body: Some(body.into()),
        state: PullRequestState::Open,
        draft: false,
        author: author.into(),
        head_sha: HeadSha::parse(SHA).unwrap(),
        head_ref: "feature".into(),
        base_sha: OLD.replace('b', "c"),
        base_ref: "main".into(),
        html_url: "https://github.com/acme/web/pull/3".into(),
        updated_at: None,
        changed_files: 1,
        additions: 3,
        deletions: 0,
        labels: Vec::new(),
    }
}

fn file(name: &str, patch: &str) -> ChangedFile {
    ChangedFile {
        filename: name.into(),
        status: "modified".into(),
        additions: 1,
        deletions: 0,
        changes: 1,
        patch: Some(patch.into()),
        previous_filename: None,
    }
}

fn handler(host: Arc<MockCodeHost>, reviewer: Arc<MockReviewer>) -> ReviewPullRequest {
    handler_with_graph(host, reviewer, Arc::new(crate::knowledge::NoKnowledge))
}

fn handler_with_graph(
    host: Arc<MockCodeHost>,
    reviewer: Arc<MockReviewer>,
    graph: Arc<dyn crate::knowledge::KnowledgeGraph>,
) -> ReviewPullRequest {
    ReviewPullRequest::new(
        host,
        reviewer,
        Arc::new(FallbackToken),
        Budget::default(),
        graph,
    )
}

const PATCH: &str = "@@ -1,2 +1,5 @@\n a\n+b\n+c\n+d\n e";

fn finding(line: u32, severity: Severity) -> Finding {
    Finding {
        path: "src/a.rs".into(),
        line,
        end_line: None,
        severity,
        category: Category::Correctness,
        title: format!("problem on {line}"),
        body: "Explain.".into(),
        suggestion: None,
    }
}

/// A code host with an open PR by `author`, no earlier reviews, one changed file, no context.
fn host(author: &str, body: &str) -> MockCodeHost {
    let mut host = MockCodeHost::new();
    let (author, body) = (author.to_owned(), body.to_owned());
    host.expect_pull_request()
        .returning(move |_, _, _| Ok(pr(&author, &body)));
    host.expect_token_owner()
        .returning(|_| Ok(Some("nectr-bot".into())));
    host.expect_reviews().returning(|_, _, _| Ok(vec![]));
    host.expect_pull_request_files()
        .returning(|_, _, _| Ok(vec![file("src/a.rs", PATCH)]));
    host
}

fn no_context(host: &mut MockCodeHost) {
    host.expect_file_content()
        .returning(|_, _, path, _| Err(CodeHostError::NotFound(path.into())));
    host.expect_issue()
        .returning(|_, _, n| Err(CodeHostError::NotFound(n.to_string())));
}

fn reviewer(findings: Vec<Finding>) -> MockReviewer {
    let mut reviewer = MockReviewer::new();
    reviewer.expect_context_tokens().return_const(None);
    reviewer.expect_reads_sources().return_const(false);
    reviewer.expect_name().return_const("builtin".to_owned());
    reviewer.expect_review().returning(move |_| {
        Ok(ReviewDraft {
            summary: "Looked.".into(),
            findings: findings.clone(),
            ..ReviewDraft::default()
        })
    });
    reviewer
}

fn posted(id: u64) -> Posted {
    Posted {
        id,
        html_url: format!("https://github.com/acme/web/pull/3#pullrequestreview-{id}"),
    }
}

#[tokio::test]
async fn comments_github_refuses_move_into_the_body_and_the_others_stay_inline() {
    let mut host = host("dev", "");
    no_context(&mut host);
    let sent: Arc<Mutex<Vec<NewReview>>> = Arc::default();
    let log = sent.clone();
    host.expect_post_review().returning(move |_, _, _, review| {
        log.lock().unwrap().push(review.clone());
        let refuses_line_3 = review.comments.iter().any(|c| c.line == 3);
        match (review.event, refuses_line_3) {
            (_, true) => Err(CodeHostError::Validation(
                "Unprocessable Entity: Line could not be resolved".into(),
            )),
            (ReviewVerdict::Pending, false) => Ok(posted(50)),
            (_, false) => Ok(posted(60)),
        }
    });
    host.expect_delete_pending_review()
        .withf(|_, _, _, id| *id == 50)
        .times(2)
        .returning(|_, _, _, _| Ok(()));
    let handler = handler(
        Arc::new(host),
        Arc::new(reviewer(vec![
            finding(2, Severity::Warning),
            finding(3, Severity::Critical),
            finding(4, Severity::Info),
        ])),
    );
    let JobResult::Completed { result } = handler.handle(&job()).await else {
        panic!("completed");
    };
    assert_eq!(result["review_id"], 60);
    assert_eq!(result["moved_to_body"], 1);
    assert_eq!(result["inline_comments"], 2);
    let sent = sent.lock().unwrap();
    // The refused review, three pending probes (one per comment), the final review.
    assert_eq!(sent.len(), 5);
    assert!(
        sent[1..4]
            .iter()
            .all(|p| p.event == ReviewVerdict::Pending && p.comments.len() == 1)
    );
    let last = &sent[4];
    assert_eq!(last.event, ReviewVerdict::RequestChanges);
    let lines: Vec<u32> = last.comments.iter().map(|c| c.line).collect();
    assert_eq!(lines, [2, 4]);
    assert!(
        last.body
            .contains("- `src/a.rs:3` **critical (correctness)**: problem on 3."),
        "{}",
        last.body
    );
}

#[tokio::test]
async fn a_refusal_that_is_not_about_places_fails_the_job_without_moving_anything() {
    let mut host = host("dev", "");
    no_context(&mut host);
    host.expect_post_review()
        .returning(|_, _, _, review| match review.event {
            ReviewVerdict::Pending => Ok(posted(50)),
            _ => Err(CodeHostError::Validation(
                "commit_id is not part of the pull request".into(),
            )),
        });
    host.expect_delete_pending_review()
        .returning(|_, _, _, _| Ok(()));
    let handler = handler(
        Arc::new(host),
        Arc::new(reviewer(vec![finding(2, Severity::Warning)])),
    );
    assert!(matches!(
        handler.handle(&job()).await,
        JobResult::Permanent { error } if error.contains("commit_id is not part")
    ));
}

#[tokio::test]
async fn the_token_owners_own_pull_request_gets_a_comment_not_a_verdict() {
    let mut host = host("nectr-bot", "");
    no_context(&mut host);
    host.expect_post_review()
        .withf(|_, _, _, review| review.event == ReviewVerdict::Comment)
        .times(1)
        .returning(|_, _, _, _| Ok(posted(1)));
    let handler = handler(
        Arc::new(host),
        Arc::new(reviewer(vec![finding(2, Severity::Critical)])),
    );
    let JobResult::Completed { result } = handler.handle(&job()).await else {
        panic!("completed");
    };
    assert_eq!(
        (result["verdict"].as_str(), result["own_pr"].as_bool()),
        (Some("COMMENT"), Some(true))
    );
}

#[tokio::test]
async fn linked_issues_and_the_base_branch_instructions_reach_the_reviewer() {
    let mut host = host("dev", "This fixes #12 and closes #13.");
    let base = pr("dev", "").base_sha;
    host.expect_file_content()
        .returning(move |_, _, path, git_ref| {
            assert_eq!(git_ref, base, "instructions come from the base commit");
            if path == ".github/nectr.md" {
                Ok(FileContent {
                    path: path.into(),
                    sha: "x".into(),
                    bytes: b"Flag every use of `unsafe`.\n".to_vec(),
                })
            } else {
                Err(CodeHostError::NotFound(path.into()))
            }
        });
    host.expect_issue().returning(|_, _, n| {
        if n == 12 {
            Ok(Issue {
                number: 12,
                title: "Crash on empty input".into(),
                body: Some("Steps: send nothing.".into()),
                state: "open".into(),
                html_url: String::new(),
            })
        } else {
            Err(CodeHostError::NotFound("13 is a pull request".into()))
        }
    });
    host.expect_post_review()
        .returning(|_, _, _, _| Ok(posted(1)));
    let mut model = MockReviewer::new();
    model.expect_context_tokens().return_const(None);
    model.expect_reads_sources().return_const(false);
    model.expect_name().return_const("anthropic".to_owned());
    model
        .expect_review()
        .times(1)
        .withf(|request| {
            request.linked_issues
                == [LinkedIssue {
                    number: 12,
                    title: "Crash on empty input".into(),
                    body: "Steps: send nothing.".into(),
                }]
                && request.instructions.as_deref() == Some("Flag every use of `unsafe`.")
                && request.description.as_deref() == Some("This fixes #12 and closes #13.")
        })
        .returning(|_| Ok(ReviewDraft::default()));
    let handler = handler(Arc::new(host), Arc::new(model));
    let JobResult::Completed { result } = handler.handle(&job()).await else {
        panic!("completed");
    };
    assert_eq!(
        (
            result["linked_issues"].as_u64(),
            result["instructions"].as_bool()
        ),
        (Some(1), Some(true))
    );
}

#[tokio::test]
async fn a_marker_in_someone_elses_review_silences_nothing() {
    let mut host = MockCodeHost::new();
    host.expect_pull_request()
        .returning(|_, _, _| Ok(pr("dev", "")));
    host.expect_token_owner()
        .returning(|_| Ok(Some("nectr-bot".into())));
    host.expect_reviews().returning(|_, _, _| {
        Ok(vec![Review {
            id: 5,
            author: "mallory".into(),
            body: format!("<!-- nectr:review event=7 sha={SHA} findings= -->"),
            state: "COMMENTED".into(),
            commit_id: None,
            html_url: String::new(),
        }])
    });
    host.expect_pull_request_files()
        .returning(|_, _, _| Ok(vec![file("src/a.rs", PATCH)]));
    no_context(&mut host);
    host.expect_post_review()
        .times(1)
        .returning(|_, _, _, _| Ok(posted(1)));
    let handler = handler(Arc::new(host), Arc::new(reviewer(vec![])));
    assert!(matches!(
        handler.handle(&job()).await,
        JobResult::Completed { result } if result["review_id"] == 1
    ));
}

#[tokio::test]
async fn after_a_force_push_the_whole_pull_request_is_reviewed_again() {
    let mut host = MockCodeHost::new();
    host.expect_pull_request()
        .returning(|_, _, _| Ok(pr("dev", "")));
    host.expect_token_owner().returning(|_| Ok(None));
    host.expect_reviews().returning(|_, _, _| {
        Ok(vec![Review {
            id: 5,
            author: "nectr-bot".into(),
            body: format!("<!-- nectr:review event=1 sha={OLD} findings= -->"),
            state: "COMMENTED".into(),
            commit_id: Some(OLD.into()),
            html_url: String::new(),
        }])
    });
    host.expect_pull_request_files()
        .returning(|_, _, _| Ok(vec![file("src/a.rs", PATCH)]));
    host.expect_compare().returning(|_, _, _, _| {
        Ok(Comparison {
            status: "diverged".into(),
            ahead_by: 1,
            behind_by: 2,
            total_commits: 1,
            files: vec![],
        })
    });
    no_context(&mut host);
    host.expect_post_review()
        .withf(|_, _, _, review| {
            review
                .body
                .contains("_Full review: the history was rewritten since the review of `bbbbbbbbbbbb` (force-push)")
        })
        .times(1)
        .returning(|_, _, _, _| Ok(posted(9)));
    let mut model = MockReviewer::new();
    model.expect_context_tokens().return_const(None);
    model.expect_reads_sources().return_const(false);
    model.expect_name().return_const("builtin".to_owned());
    model
        .expect_review()
        .withf(|r| r.files.len() == 1 && r.incremental_since.is_none())
        .returning(|_| Ok(ReviewDraft::default()));
    let handler = handler(Arc::new(host), Arc::new(model));
    let JobResult::Completed { result } = handler.handle(&job()).await else {
        panic!("completed");
    };
    assert_eq!(result["scope"], "full");
}

#[tokio::test]
async fn a_rate_limit_while_gathering_context_retries_at_its_reset() {
    let mut host = host("dev", "fixes #1");
    let at = Utc::now();
    host.expect_issue()
        .returning(move |_, _, _| Err(CodeHostError::RateLimited { retry_at: at }));
    host.expect_file_content()
        .returning(|_, _, p, _| Err(CodeHostError::NotFound(p.into())));
    let handler = handler(Arc::new(host), Arc::new(reviewer(vec![])));
    assert!(matches!(
        handler.handle(&job()).await,
        JobResult::Transient { retry_at: Some(t), .. } if t == at
    ));
}

#[tokio::test]
async fn a_cached_pull_request_older_than_the_event_is_asked_for_again() {
    let mut host = MockCodeHost::new();
    let mut stale = pr("dev", "");
    stale.head_sha = HeadSha::parse(OLD).unwrap();
    let mut answers = vec![pr("dev", ""), stale];
    host.expect_pull_request()
        .times(2)
        .returning(move |_, _, _| Ok(answers.pop().unwrap()));
    host.expect_forget_pull_request().times(1).return_const(());
    host.expect_token_owner().returning(|_| Ok(None));
    host.expect_reviews().returning(|_, _, _| Ok(vec![]));
    host.expect_pull_request_files()
        .returning(|_, _, _| Ok(vec![file("src/a.rs", PATCH)]));
    no_context(&mut host);
    host.expect_post_review()
        .times(1)
        .returning(|_, _, _, _| Ok(posted(1)));
    let handler = handler(Arc::new(host), Arc::new(reviewer(vec![])));
    assert!(
        matches!(handler.handle(&job()).await, JobResult::Completed { .. }),
        "not superseded by a stale cache"
    );
}

/// A reviewer whose context takes one hunk per request: anything more is `TooLarge`, and a hunk
/// of more than `max_lines` lines too.
fn small_context(max_lines: usize) -> MockReviewer {
    let mut reviewer = MockReviewer::new();
    reviewer.expect_name().return_const("openai".to_owned());
    reviewer.expect_review().returning(move |request| {
        let hunks: Vec<_> = request.files.iter().flat_map(|f| &f.hunks).collect();
        if hunks.len() > 1 || hunks.iter().any(|h| h.lines.len() > max_lines) {
            return Err(ReviewError::TooLarge("context length exceeded".into()));
        }
        let file = &request.files[0];
        Ok(ReviewDraft {
            summary: format!("looked at {}", file.path()),
            findings: vec![Finding {
                path: file.path().to_owned(),
                ..finding(file.hunks[0].new_start, Severity::Warning)
            }],
            ..ReviewDraft::default()
        })
    });
    reviewer
}

#[tokio::test]
async fn a_request_past_the_models_context_is_split_until_it_fits_and_the_review_says_so() {
    let files = crate::review::diff::parse(
        "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1,1 +1,2 @@\n a\n+b\n@@ -10,1 +11,2 @@\n c\n+d\n\
         diff --git a/b.rs b/b.rs\n--- a/b.rs\n+++ b/b.rs\n@@ -1,1 +1,2 @@\n e\n+f\n",
    );
    let plan = crate::review::budget::Plan {
        chunks: vec![files],
        not_covered: Vec::new(),
    };
    let draft = review_in_chunks(&small_context(10), &ReviewRequest::default(), &plan)
        .await
        .unwrap();
    let places: Vec<(&str, u32)> = draft
        .findings
        .iter()
        .map(|f| (f.path.as_str(), f.line))
        .collect();
    assert_eq!(places, [("a.rs", 1), ("a.rs", 11), ("b.rs", 1)]);
    assert!(draft.context_splits >= 1);
    assert!(
        draft.summary.contains("split into smaller ones"),
        "{}",
        draft.summary
    );
    assert!(draft.not_covered.is_empty());
}

#[tokio::test]
async fn a_single_hunk_past_the_models_context_is_named_not_cut() {
    let files = crate::review::diff::parse(
        "diff --git a/big.rs b/big.rs\n--- a/big.rs\n+++ b/big.rs\n@@ -1,1 +1,4 @@\n a\n+b\n+c\n+d\n\
         diff --git a/b.rs b/b.rs\n--- a/b.rs\n+++ b/b.rs\n@@ -1,1 +1,2 @@\n e\n+f\n",
    );
    let plan = crate::review::budget::Plan {
        chunks: vec![files],
        not_covered: Vec::new(),
    };
    let draft = review_in_chunks(&small_context(2), &ReviewRequest::default(), &plan)
        .await
        .unwrap();
    assert_eq!(draft.findings.len(), 1, "b.rs is still reviewed");
    assert_eq!(
        draft.not_covered,
        [(
            "big.rs".to_owned(),
            "too large for the model's context".to_owned()
        )]
    );
}

/// The review's body and the prompt, given `graph`.
async fn review_with_graph(
    graph: crate::knowledge::MockKnowledgeGraph,
) -> (NewReview, ReviewRequest) {
    let mut host = host("dev", "");
    no_context(&mut host);
    let sent: Arc<Mutex<Vec<NewReview>>> = Arc::default();
    let log = sent.clone();
    host.expect_post_review().returning(move |_, _, _, review| {
        log.lock().unwrap().push(review.clone());
        Ok(posted(70))
    });
    let asked: Arc<Mutex<Vec<ReviewRequest>>> = Arc::default();
    let seen = asked.clone();
    let mut model = MockReviewer::new();
    model.expect_context_tokens().return_const(None);
    model.expect_reads_sources().return_const(false);
    model.expect_name().return_const("openai".to_owned());
    model.expect_review().returning(move |request| {
        seen.lock().unwrap().push(request.clone());
        Ok(ReviewDraft {
            summary: "Fine.".into(),
            ..ReviewDraft::default()
        })
    });
    let handler = handler_with_graph(Arc::new(host), Arc::new(model), Arc::new(graph));
    let JobResult::Completed { .. } = handler.handle(&job()).await else {
        panic!("completed");
    };
    let review = sent.lock().unwrap()[0].clone();
    let request = asked.lock().unwrap()[0].clone();
    (review, request)
}

#[tokio::test]
async fn experts_and_related_pull_requests_reach_the_prompt_and_the_body_and_the_pr_is_indexed() {
    use crate::knowledge::{FileExpert, MockKnowledgeGraph, RelatedPullRequest};
    let mut graph = MockKnowledgeGraph::new();
    graph
        .expect_file_experts()
        .withf(|repo, paths, author, _| {
            repo.as_str() == "acme/web" && paths == ["src/a.rs"] && author.as_deref() == Some("dev")
        })
        .returning(|_, _, _, _| {
            Ok(vec![FileExpert {
                login: "alice".into(),
                pull_requests: 7,
                last_at: Utc::now(),
            }])
        });
    graph
        .expect_related_pull_requests()
        .withf(|_, _, number, _| *number == Some(3))
        .returning(|_, _, _, _| {
            Ok(vec![RelatedPullRequest {
                number: 12,
                title: "Add cache".into(),
                author: "alice".into(),
                at: Utc::now(),
                shared_paths: vec!["src/a.rs".into()],
            }])
        });
    graph
        .expect_index()
        .withf(|pr| pr.number == 3 && pr.author == "dev" && pr.paths == ["src/a.rs"] && !pr.merged)
        .times(1)
        .returning(|_| Ok(()));
    let (review, request) = review_with_graph(graph).await;
    assert!(
        review.body.contains(
            "**Context**\n\nSuggested reviewers: @alice (7 PRs on these files)\nRelated: #12 Add cache (src/a.rs)"
        ),
        "{}",
        review.body
    );
    assert!(
        request
            .knowledge
            .unwrap()
            .contains("#12 \"Add cache\" by @alice")
    );
}

#[tokio::test]
async fn a_failing_graph_never_fails_the_review_and_the_body_says_so() {
    use crate::knowledge::MockKnowledgeGraph;
    let down = || crate::Error::Transient("graph down".into());
    let mut graph = MockKnowledgeGraph::new();
    graph
        .expect_file_experts()
        .returning(move |_, _, _, _| Err(down()));
    graph
        .expect_related_pull_requests()
        .returning(move |_, _, _, _| Err(down()));
    graph.expect_index().returning(move |_| Err(down()));
    let (review, request) = review_with_graph(graph).await;
    assert!(
        review
            .body
            .contains("the knowledge graph was unavailable for this review"),
        "{}",
        review.body
    );
    assert!(request.knowledge.is_none());
}

/// A reviewer that reads whole files gets each reviewed file as it is at the head commit; one the
/// code host cannot give is left out (its lines are reviewed alone), and the review goes on.
#[tokio::test]
async fn a_reviewer_that_reads_whole_files_gets_them_at_the_head_commit() {
    let mut host = MockCodeHost::new();
    host.expect_pull_request()
        .returning(|_, _, _| Ok(pr("dev", "")));
    host.expect_token_owner()
        .returning(|_| Ok(Some("nectr-bot".into())));
    host.expect_reviews().returning(|_, _, _| Ok(vec![]));
    host.expect_pull_request_files()
        .returning(|_, _, _| Ok(vec![file("src/a.rs", PATCH), file("src/b.rs", PATCH)]));
    host.expect_issue()
        .returning(|_, _, n| Err(CodeHostError::NotFound(n.to_string())));
    host.expect_file_content()
        .returning(move |_, _, path, git_ref| match (path, git_ref) {
            ("src/a.rs", SHA) => Ok(FileContent {
                path: path.into(),
                sha: "blob".into(),
                bytes: b"fn a() {}\n".to_vec(),
            }),
            ("src/b.rs", SHA) => Err(CodeHostError::Transient("502".into())),
            _ => Err(CodeHostError::NotFound(path.into())),
        });
    host.expect_post_review()
        .returning(|_, _, _, _| Ok(posted(1)));
    let mut model = MockReviewer::new();
    model.expect_context_tokens().return_const(None);
    model.expect_reads_sources().return_const(true);
    model.expect_name().return_const("builtin".to_owned());
    model
        .expect_review()
        .times(1)
        .withf(|request| {
            request.sources.len() == 1
                && request.sources.get("src/a.rs").map(String::as_str) == Some("fn a() {}\n")
        })
        .returning(|_| Ok(ReviewDraft::default()));
    let handler = handler(Arc::new(host), Arc::new(model));
    assert!(matches!(
        handler.handle(&job()).await,
        JobResult::Completed { .. }
    ));
}
