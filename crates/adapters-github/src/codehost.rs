//! `CodeHost` on GitHub's REST API: pull requests, their files, contents, comparisons, reviews, issues.

use async_trait::async_trait;
use base64::Engine;
use domain::codehost::{AccessToken, CodeHostError, CodeHostResult};
use domain::review::codehost::{
    ChangedFile, CodeHost, CommitStatus, Comparison, FileContent, Issue, IssueComment, NewReview,
    Posted, PullRequest, Review, ReviewVerdict,
};
use domain::webhook::values::RepoFullName;
use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

use crate::client::{GitHub, JSON};
use crate::wire;

/// RFC 3986's unreserved characters stay as they are; everything else is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The same, keeping `/` between a path's segments.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Percent-encodes a path for a URL, keeping `/` between segments.
pub(crate) fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH).to_string()
}

/// Percent-encodes a query value.
pub(crate) fn encode_value(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

fn repo_path(repo: &RepoFullName) -> String {
    format!(
        "/repos/{}/{}",
        encode_path(repo.owner()),
        encode_path(repo.name())
    )
}

impl GitHub {
    async fn fetch_pull_request(
        &self,
        token: Option<&AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<PullRequest> {
        let path = format!("{}/pulls/{number}", repo_path(repo));
        let reply = self
            .call("get pull request", token, Method::GET, &path, None, JSON)
            .await?;
        reply.json::<wire::Pull>("get pull request")?.try_into()
    }
}

#[async_trait]
impl CodeHost for GitHub {
    /// Served from the PR-state cache (60 s for open PRs, 300 s for closed or merged).
    async fn pull_request(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<PullRequest> {
        self.pr_cache
            .get_or_fetch((repo.key(), number), || {
                self.fetch_pull_request(token.as_ref(), repo, number)
            })
            .await
    }

    fn forget_pull_request(&self, repo: &RepoFullName, number: u64) {
        self.pr_cache.forget(&(repo.key(), number));
    }

    async fn closed_pull_requests(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        page: u32,
    ) -> CodeHostResult<Vec<PullRequest>> {
        let what = "list closed pull requests";
        let url = format!(
            "{}/pulls?state=closed&sort=updated&direction=desc&per_page=100&page={page}",
            repo_path(repo)
        );
        let reply = self
            .call(what, token.as_ref(), Method::GET, &url, None, JSON)
            .await?;
        let pulls: Vec<wire::Pull> = reply.json(what)?;
        pulls.into_iter().map(PullRequest::try_from).collect()
    }

    async fn pull_request_files(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Vec<ChangedFile>> {
        let path = format!("{}/pulls/{number}/files", repo_path(repo));
        self.list::<wire::File, _>("list pull request files", token.as_ref(), &path)
            .await
    }

    async fn file_content(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        path: &str,
        git_ref: &str,
    ) -> CodeHostResult<FileContent> {
        let url = format!(
            "{}/contents/{}?ref={}",
            repo_path(repo),
            encode_path(path),
            encode_path(git_ref)
        );
        let reply = self
            .call(
                "get file content",
                token.as_ref(),
                Method::GET,
                &url,
                None,
                JSON,
            )
            .await?;
        // A directory answers with a JSON array.
        if reply.body.first() == Some(&b'[') {
            return Err(CodeHostError::NotFound(format!(
                "get file content: {path} is a directory"
            )));
        }
        let content: wire::Content = reply.json("get file content")?;
        if content.kind != "file" {
            return Err(CodeHostError::NotFound(format!(
                "get file content: {path} is a {}",
                content.kind
            )));
        }
        let bytes = match (content.encoding.as_deref(), content.content.as_deref()) {
            (Some("base64"), Some(encoded)) if !(encoded.is_empty() && content.size > 0) => {
                let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| {
                        CodeHostError::Permanent(format!("get file content: bad base64: {e}"))
                    })?
            }
            // Files over 1 MB come without content (encoding "none"): fetch them raw.
            _ => {
                self.call(
                    "get raw file content",
                    token.as_ref(),
                    Method::GET,
                    &url,
                    None,
                    "application/vnd.github.raw",
                )
                .await?
                .body
            }
        };
        Ok(FileContent {
            path: content.path,
            sha: content.sha,
            bytes,
        })
    }

    async fn compare(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        base: &str,
        head: &str,
    ) -> CodeHostResult<Comparison> {
        let path = format!(
            "{}/compare/{}...{}",
            repo_path(repo),
            encode_path(base),
            encode_path(head)
        );
        let reply = self
            .call(
                "compare commits",
                token.as_ref(),
                Method::GET,
                &path,
                None,
                JSON,
            )
            .await?;
        Ok(reply.json::<wire::Compare>("compare commits")?.into())
    }

    async fn post_review(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        review: &NewReview,
    ) -> CodeHostResult<Posted> {
        let comments: Vec<serde_json::Value> = review
            .comments
            .iter()
            .map(|c| {
                let mut comment = json!({ "path": c.path, "line": c.line, "side": c.side.as_str(), "body": c.body });
                if let Some(start) = c.start_line.filter(|s| *s < c.line) {
                    comment["start_line"] = json!(start);
                    comment["start_side"] = json!(c.side.as_str());
                }
                comment
            })
            .collect();
        let mut body = json!({
            "commit_id": review.commit_id.as_str(),
            "body": review.body,
            "comments": comments,
        });
        // Without an event GitHub keeps the review pending.
        if review.event != ReviewVerdict::Pending {
            body["event"] = json!(review.event.as_str());
        }
        let path = format!("{}/pulls/{number}/reviews", repo_path(repo));
        let reply = self
            .call(
                "post review",
                token.as_ref(),
                Method::POST,
                &path,
                Some(&body),
                JSON,
            )
            .await?;
        Ok(reply.json::<wire::Created>("post review")?.into())
    }

    async fn delete_pending_review(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        review_id: u64,
    ) -> CodeHostResult<()> {
        let path = format!("{}/pulls/{number}/reviews/{review_id}", repo_path(repo));
        self.call(
            "delete pending review",
            token.as_ref(),
            Method::DELETE,
            &path,
            None,
            JSON,
        )
        .await?;
        Ok(())
    }

    /// `GET /user`; each token's owner is asked once per process (a login does not change).
    async fn token_owner(&self, token: Option<AccessToken>) -> CodeHostResult<Option<String>> {
        let Some(effective) = token.as_ref().or(self.config.pat.as_ref()) else {
            return Ok(None);
        };
        // Keyed by the token's hash: the token itself is not kept here.
        let key = domain::digest::sha256_hex(effective.expose());
        if let Some(owner) = self.owners.lock().ok().and_then(|o| o.get(&key).cloned()) {
            return Ok(owner);
        }
        let owner = match self
            .call(
                "get token owner",
                token.as_ref(),
                Method::GET,
                "/user",
                None,
                JSON,
            )
            .await
        {
            Ok(reply) => Some(reply.json::<wire::User>("get token owner")?.login),
            // No token, or one that may not read its user (app installation tokens answer 403).
            Err(
                CodeHostError::Unauthorized(_)
                | CodeHostError::Forbidden(_)
                | CodeHostError::NotFound(_),
            ) => None,
            Err(e) => return Err(e),
        };
        if let Ok(mut owners) = self.owners.lock() {
            // Bounded: one entry per token in use; a process with more starts over.
            if owners.len() >= 10_000 {
                owners.clear();
            }
            owners.insert(key, owner.clone());
        }
        Ok(owner)
    }

    async fn reviews(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Vec<Review>> {
        let path = format!("{}/pulls/{number}/reviews", repo_path(repo));
        self.list::<wire::WireReview, _>("list reviews", token.as_ref(), &path)
            .await
    }

    async fn issue(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Issue> {
        let path = format!("{}/issues/{number}", repo_path(repo));
        let reply = self
            .call("get issue", token.as_ref(), Method::GET, &path, None, JSON)
            .await?;
        Ok(reply.json::<wire::WireIssue>("get issue")?.into())
    }

    async fn set_status(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        sha: &str,
        status: &CommitStatus,
    ) -> CodeHostResult<()> {
        let description: String = status.description.chars().take(140).collect();
        let mut body = json!({
            "state": status.state.as_str(),
            "context": status.context,
            "description": description,
        });
        if let Some(url) = &status.target_url {
            body["target_url"] = json!(url);
        }
        let path = format!("{}/statuses/{}", repo_path(repo), encode_path(sha));
        self.call(
            "set commit status",
            token.as_ref(),
            Method::POST,
            &path,
            Some(&body),
            JSON,
        )
        .await?;
        Ok(())
    }

    async fn issue_comments(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
    ) -> CodeHostResult<Vec<IssueComment>> {
        let path = format!("{}/issues/{number}/comments", repo_path(repo));
        self.list::<wire::WireComment, _>("list comments", token.as_ref(), &path)
            .await
    }

    async fn update_pull_request_body(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        body: &str,
    ) -> CodeHostResult<()> {
        let path = format!("{}/pulls/{number}", repo_path(repo));
        let payload = json!({ "body": body });
        self.call(
            "update pull request",
            token.as_ref(),
            Method::PATCH,
            &path,
            Some(&payload),
            JSON,
        )
        .await?;
        self.forget_pull_request(repo, number);
        Ok(())
    }

    async fn update_comment(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        comment_id: u64,
        body: &str,
    ) -> CodeHostResult<()> {
        let path = format!("{}/issues/comments/{comment_id}", repo_path(repo));
        let payload = json!({ "body": body });
        self.call(
            "update comment",
            token.as_ref(),
            Method::PATCH,
            &path,
            Some(&payload),
            JSON,
        )
        .await?;
        Ok(())
    }

    async fn react(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        comment_id: u64,
        content: &str,
    ) -> CodeHostResult<()> {
        let path = format!("{}/issues/comments/{comment_id}/reactions", repo_path(repo));
        let payload = json!({ "content": content });
        self.call(
            "react",
            token.as_ref(),
            Method::POST,
            &path,
            Some(&payload),
            JSON,
        )
        .await?;
        Ok(())
    }

    async fn comment(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        number: u64,
        body: &str,
    ) -> CodeHostResult<u64> {
        #[derive(serde::Deserialize)]
        struct Created {
            id: u64,
        }
        let path = format!("{}/issues/{number}/comments", repo_path(repo));
        let payload = json!({ "body": body });
        let reply = self
            .call(
                "comment",
                token.as_ref(),
                Method::POST,
                &path,
                Some(&payload),
                JSON,
            )
            .await?;
        Ok(reply.json::<Created>("comment")?.id)
    }
}

#[cfg(test)]
mod tests {
    use super::encode_path;

    #[test]
    fn paths_are_percent_encoded_segment_by_segment() {
        assert_eq!(encode_path("src/main.rs"), "src/main.rs");
        assert_eq!(encode_path("docs/a file#1?.md"), "docs/a%20file%231%3F.md");
        assert_eq!(encode_path("naïve"), "na%C3%AFve");
    }
}
