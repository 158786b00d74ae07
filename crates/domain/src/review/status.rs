//! What a review tells outside its own body: the `nectr/review` commit status (pending, success,
//! failure, error: never success on an error) and the one summary comment, edited on every review.

use crate::codehost::CodeHostError;
use crate::queue::{Job, JobResult};
use crate::review::ReviewDraft;
use crate::review::codehost::{CommitStatus, ReviewVerdict, StatusState};
use crate::review::gather::{Gathered, ReviewScope};
use crate::review::model::Severity;
use crate::review::post::Posting;
use crate::review::prepare::Target;
use crate::review::service::{ReviewPullRequest, short};

/// The commit status's context.
pub const STATUS_CONTEXT: &str = "nectr/review";
/// The hidden line that marks nectr's summary comment.
pub const SUMMARY_MARKER: &str = "<!-- nectr:summary -->";

impl ReviewPullRequest {
    /// Sets the commit status, when statuses are on. A failure is logged: the review stands.
    pub(super) async fn set_status(
        &self,
        target: &Target,
        event_id: i64,
        state: StatusState,
        description: &str,
    ) {
        if !self.controls.statuses {
            return;
        }
        let status = CommitStatus {
            state,
            context: STATUS_CONTEXT.to_owned(),
            description: description.chars().take(140).collect(),
            target_url: self
                .controls
                .status_url
                .as_ref()
                .map(|base| format!("{base}/{event_id}")),
        };
        if let Err(e) = self
            .code_host
            .set_status(
                target.token.clone(),
                &target.repo,
                target.pr.head_sha.as_str(),
                &status,
            )
            .await
        {
            tracing::warn!(error = %e, state = state.as_str(), "could not set the commit status");
        }
    }

    /// After a run that failed for good (a permanent failure, or the last attempt): the `error`
    /// status, so a failed review never looks like a passed one.
    pub(super) async fn settle_failure(&self, job: &Job, result: &JobResult) {
        let why = match result {
            JobResult::Permanent { error } => error.clone(),
            JobResult::Transient { error, .. }
                if self.controls.max_attempts > 0 && job.attempts >= self.controls.max_attempts =>
            {
                format!("failed after {} attempts: {error}", job.attempts)
            }
            _ => return,
        };
        let (Some(sha), true) = (&job.head_sha, self.controls.statuses) else {
            return;
        };
        let token = self.tokens.token_for(&job.repository).await.ok().flatten();
        let status = CommitStatus {
            state: StatusState::Error,
            context: STATUS_CONTEXT.to_owned(),
            description: format!("Review failed: {why}").chars().take(140).collect(),
            target_url: self
                .controls
                .status_url
                .as_ref()
                .map(|base| format!("{base}/{}", job.event_id)),
        };
        if let Err(e) = self
            .code_host
            .set_status(token, &job.repository, sha.as_str(), &status)
            .await
        {
            tracing::warn!(error = %e, "could not set the error status");
        }
    }

    /// Writes the summary comment: edits nectr's own (found by its marker, written by the token's
    /// owner when known), else posts it.
    pub(super) async fn write_summary(
        &self,
        target: &Target,
        owner: Option<&str>,
        body: &str,
    ) -> std::result::Result<(), CodeHostError> {
        if !self.controls.summary {
            return Ok(());
        }
        let host = &self.code_host;
        let body = format!("{SUMMARY_MARKER}\n{body}");
        let comments = host
            .issue_comments(target.token.clone(), &target.repo, target.pr.number)
            .await?;
        let mine = comments
            .iter()
            .find(|c| c.body.starts_with(SUMMARY_MARKER) && owner.is_none_or(|o| c.author == o));
        match mine {
            Some(c) => {
                host.update_comment(target.token.clone(), &target.repo, c.id, &body)
                    .await
            }
            None => host
                .comment(target.token.clone(), &target.repo, target.pr.number, &body)
                .await
                .map(|_| ()),
        }
    }
}

/// The one summary comment's text: verdict, what was covered, the findings by severity, the files
/// not reviewed, and the cost.
pub(super) fn summary_comment(
    gathered: &Gathered,
    draft: &ReviewDraft,
    posting: &Posting,
    cost: Option<f64>,
) -> String {
    let count = |s: Severity| draft.findings.iter().filter(|f| f.severity == s).count();
    let verdict = match posting.review.event {
        ReviewVerdict::RequestChanges => "changes requested",
        _ => "commented",
    };
    let scope = match &gathered.scope {
        ReviewScope::Since { since } => format!("the commits since `{}`", short(since)),
        ReviewScope::Full { .. } => "the whole pull request".to_owned(),
    };
    let cost = match cost {
        Some(usd) => format!("${usd:.4}"),
        None => "unknown (no price for this model)".to_owned(),
    };
    format!(
        "### nectr review summary\n\n\
         | | |\n|---|---|\n\
         | Verdict | {verdict} at `{}` |\n\
         | Covered | {} file(s), {scope} |\n\
         | Findings | {} critical, {} warning(s), {} note(s) |\n\
         | Not reviewed | {} file(s) |\n\
         | Cost | {} input + {} output tokens, {cost} |\n\n\
         _Edited on every review; the review itself has the details._",
        short(posting.review.commit_id.as_str()),
        gathered.plan.files(),
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info),
        draft.not_covered.len(),
        draft.usage.input_tokens,
        draft.usage.output_tokens,
    )
}
