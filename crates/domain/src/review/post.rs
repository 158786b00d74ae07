//! Stage 4 of a review: one review posted with its inline comments and hidden marker. When GitHub
//! refuses it (422) and it has inline comments, each comment is tried alone in a pending review that
//! is deleted at once; exactly the refused ones move into the body and the review is posted again.

use crate::codehost::CodeHostError;
use crate::review::ReviewDraft;
use crate::review::codehost::{InlineComment, NewReview, Posted, ReviewVerdict};
use crate::review::gather::Gathered;
use crate::review::prepare::{History, PROBE_BODY, Target};
use crate::review::render::render;
use crate::review::service::ReviewPullRequest;

/// Inline comments checked one by one after a refusal; past this, all of them go into the body.
const MAX_PROBES: usize = 50;

/// Stage 4's answer.
#[derive(Debug)]
pub(super) struct Posting {
    pub posted: Posted,
    /// The review as it was posted.
    pub review: NewReview,
    /// Inline comments GitHub refused, moved into the body.
    pub moved: usize,
    /// The token's owner wrote the pull request, so the verdict is a comment.
    pub own_pr: bool,
}

impl ReviewPullRequest {
    pub(super) async fn post(
        &self,
        target: &Target,
        history: &History,
        gathered: &Gathered,
        draft: &ReviewDraft,
        event_id: i64,
    ) -> Result<Posting, CodeHostError> {
        let pr = &target.pr;
        // GitHub refuses approving or requesting changes on the token owner's own pull request.
        let own_pr = history.owner.as_deref() == Some(pr.author.as_str());
        let mut lines = gathered.lines.clone();
        let rendered = render(draft, &lines, event_id, pr.head_sha.as_str());
        let review = NewReview {
            commit_id: pr.head_sha.clone(),
            body: rendered.body,
            event: draft.verdict(own_pr),
            comments: rendered.comments,
        };
        let (token, repo, number) = (&target.token, &target.repo, pr.number);
        let refusal = match self
            .code_host
            .post_review(token.clone(), repo, number, &review)
            .await
        {
            Ok(posted) => {
                return Ok(Posting {
                    posted,
                    review,
                    moved: 0,
                    own_pr,
                });
            }
            Err(CodeHostError::Validation(message)) if !review.comments.is_empty() => message,
            Err(e) => return Err(e),
        };
        tracing::warn!(
            repository = %repo,
            pr = number,
            comments = review.comments.len(),
            "GitHub refused the review; checking its inline comments one by one"
        );
        let refused = self.refused_comments(target, history, &review).await?;
        if refused.is_empty() {
            // Not about the comments' places: nothing to move.
            return Err(CodeHostError::Validation(refusal));
        }
        for comment in &refused {
            lines.forget(&comment.path, comment.line);
        }
        let rendered = render(draft, &lines, event_id, pr.head_sha.as_str());
        let review = NewReview {
            body: rendered.body,
            comments: rendered.comments,
            ..review
        };
        let posted = self
            .code_host
            .post_review(token.clone(), repo, number, &review)
            .await?;
        Ok(Posting {
            posted,
            review,
            moved: refused.len(),
            own_pr,
        })
    }

    /// The inline comments GitHub refuses, each tried alone in a pending review deleted at once.
    async fn refused_comments(
        &self,
        target: &Target,
        history: &History,
        review: &NewReview,
    ) -> Result<Vec<InlineComment>, CodeHostError> {
        let host = &self.code_host;
        let (token, repo, number) = (&target.token, &target.repo, target.pr.number);
        // A pending review left by a crash would make every probe fail.
        for id in &history.stale_probes {
            let _ = host
                .delete_pending_review(token.clone(), repo, number, *id)
                .await;
        }
        if review.comments.len() > MAX_PROBES {
            return Ok(review.comments.clone());
        }
        let mut refused = Vec::new();
        for comment in &review.comments {
            let probe = NewReview {
                commit_id: target.pr.head_sha.clone(),
                body: PROBE_BODY.to_owned(),
                event: ReviewVerdict::Pending,
                comments: vec![comment.clone()],
            };
            match host.post_review(token.clone(), repo, number, &probe).await {
                Ok(pending) => {
                    if let Err(e) = host
                        .delete_pending_review(token.clone(), repo, number, pending.id)
                        .await
                    {
                        tracing::warn!(error = %e, "could not delete a pending probe review");
                    }
                }
                Err(CodeHostError::Validation(_)) => refused.push(comment.clone()),
                Err(e) => return Err(e),
            }
        }
        Ok(refused)
    }
}
