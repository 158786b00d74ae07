//! Stage 1 of a review: the token calls run with, the pull request still open at the job's head
//! commit, and what nectr's earlier reviews on it say (already posted for this event, the findings not
//! to repeat, the last reviewed commit).

use std::collections::HashSet;

use serde_json::json;

use crate::codehost::AccessToken;
use crate::queue::{Job, JobResult};
use crate::review::codehost::{PullRequest, PullRequestState, Review};
use crate::review::render::Marker;
use crate::review::service::{ReviewPullRequest, Stop, stop};
use crate::webhook::values::RepoFullName;

/// The body of the short-lived pending reviews that find which inline comments GitHub refuses.
pub const PROBE_BODY: &str =
    "nectr is checking where its comments can go; this pending review is deleted at once.";

/// The pull request under review, open at the job's head commit.
#[derive(Debug)]
pub(super) struct Target {
    pub repo: RepoFullName,
    /// The connecting user's token when the repository is connected, else `None` (the fallback).
    pub token: Option<AccessToken>,
    pub pr: PullRequest,
}

/// What nectr's earlier reviews of the pull request say.
#[derive(Debug, Default)]
pub(super) struct History {
    /// The token's owner, when the code host tells: only their reviews count as nectr's.
    pub owner: Option<String>,
    /// Pending probe reviews a crash left behind.
    pub stale_probes: Vec<u64>,
    /// Fingerprints of findings posted before.
    pub posted_before: HashSet<String>,
    /// The head commit of the newest earlier review.
    pub last_reviewed: Option<String>,
}

fn finished(result: JobResult) -> Stop {
    Box::new(result)
}

impl ReviewPullRequest {
    /// The token and the pull request, or why there is nothing to review: closed or merged (skipped),
    /// moved to another head commit (superseded).
    pub(super) async fn prepare(&self, job: &Job) -> Result<Target, Stop> {
        let Some(key) = job.review_key() else {
            return Err(finished(JobResult::Permanent {
                error: "a review job names no head commit".into(),
            }));
        };
        let repo = key.repository;
        let number = key.pr_number;
        let head_sha = key.head_sha.as_str();
        let token = match self.tokens.token_for(&repo).await {
            Ok(token) => token,
            Err(crate::Error::Transient(error)) => {
                return Err(finished(JobResult::Transient {
                    error,
                    retry_at: None,
                }));
            }
            Err(e) => {
                return Err(finished(JobResult::Permanent {
                    error: format!("the repository's token: {e}"),
                }));
            }
        };
        let host = &self.code_host;
        let mut pr = host
            .pull_request(token.clone(), &repo, number)
            .await
            .map_err(stop)?;
        if pr.state != PullRequestState::Open || pr.head_sha.as_str() != head_sha {
            // The answer may come from a cache older than this event (a push, a reopen): ask again
            // before skipping or superseding anything.
            host.forget_pull_request(&repo, number);
            pr = host
                .pull_request(token.clone(), &repo, number)
                .await
                .map_err(stop)?;
        }
        let skipped = |reason: &str| {
            finished(JobResult::Skipped {
                reason: reason.into(),
            })
        };
        match pr.state {
            PullRequestState::Closed => return Err(skipped("pull request is closed")),
            PullRequestState::Merged => return Err(skipped("pull request is merged")),
            PullRequestState::Open => {}
        }
        if pr.head_sha.as_str() != head_sha {
            return Err(finished(JobResult::Superseded {
                reason: format!("pull request moved to {} before the review", pr.head_sha),
            }));
        }
        Ok(Target { repo, token, pr })
    }

    /// nectr's earlier reviews: only those by the token's owner count, when it is known, so a marker
    /// pasted into someone else's review cannot silence nectr. A review for this very event, or of
    /// this very head commit, ends the job as completed without posting.
    pub(super) async fn history(
        &self,
        target: &Target,
        event_id: i64,
        forced: bool,
    ) -> Result<History, Stop> {
        let host = &self.code_host;
        let owner = match host.token_owner(target.token.clone()).await {
            Ok(owner) => owner,
            Err(e) if e.is_retryable() => return Err(stop(e)),
            Err(_) => None,
        };
        let reviews = host
            .reviews(target.token.clone(), &target.repo, target.pr.number)
            .await
            .map_err(stop)?;
        let ours = |r: &&Review| owner.as_ref().is_none_or(|o| r.author == *o);
        let stale_probes = reviews
            .iter()
            .filter(ours)
            .filter(|r| r.state == "PENDING" && r.body == PROBE_BODY)
            .map(|r| r.id)
            .collect();
        let mut posted_before = HashSet::new();
        let mut last_reviewed: Option<(u64, String)> = None;
        for review in reviews.iter().filter(ours) {
            let Some(marker) = Marker::find(&review.body) else {
                continue;
            };
            if marker.event_id == event_id {
                return Err(finished(JobResult::Completed {
                    result: json!({
                        "review_id": review.id,
                        "review_url": review.html_url,
                        "already_posted": true,
                    }),
                }));
            }
            posted_before.extend(marker.fingerprints);
            if last_reviewed.as_ref().is_none_or(|(id, _)| review.id > *id) {
                last_reviewed = Some((review.id, marker.head_sha));
            }
        }
        // Asked for (`@nectr review`): a full review, even of a head commit reviewed before.
        if forced {
            last_reviewed = None;
        }
        if let Some((id, sha)) = &last_reviewed
            && sha == target.pr.head_sha.as_str()
        {
            return Err(finished(JobResult::Completed {
                result: json!({
                    "review_id": id,
                    "already_reviewed": true,
                    "reason": "nectr already reviewed this head commit",
                }),
            }));
        }
        Ok(History {
            owner,
            stale_probes,
            posted_before,
            last_reviewed: last_reviewed.map(|(_, sha)| sha),
        })
    }
}
