//! `PayloadReader` on GitHub's webhook JSON: only the fields nectr reads, converted into the domain's
//! `DeliveryPayload` at the edge. Every field is optional here, so any JSON object parses; the domain's
//! event rules decide what a kind of event requires.

use chrono::{DateTime, Utc};
use domain::webhook::payload::{
    DeliveryPayload, PayloadComment, PayloadIssue, PayloadPullRequest, PayloadReader, PayloadSender,
};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct Payload {
    action: Option<String>,
    repository: Option<WireRepository>,
    sender: Option<WireUser>,
    pull_request: Option<WirePullRequest>,
    comment: Option<WireComment>,
    issue: Option<WireIssue>,
    hook_id: Option<i64>,
    zen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireRepository {
    full_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireUser {
    login: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WirePullRequest {
    number: Option<u64>,
    state: Option<String>,
    draft: Option<bool>,
    head: Option<WireRef>,
    updated_at: Option<DateTime<Utc>>,
    merged: Option<bool>,
    merged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize)]
struct WireComment {
    id: Option<u64>,
    body: Option<String>,
    user: Option<WireUser>,
    author_association: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireIssue {
    number: Option<u64>,
    /// Present (an object) when the issue is a pull request's conversation.
    pull_request: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct WireRef {
    sha: Option<String>,
}

impl From<Payload> for DeliveryPayload {
    fn from(p: Payload) -> Self {
        Self {
            action: p.action,
            repository: p.repository.and_then(|r| r.full_name),
            sender: p.sender.map(|s| PayloadSender {
                login: s.login,
                kind: s.kind,
            }),
            pull_request: p.pull_request.map(|pr| PayloadPullRequest {
                number: pr.number,
                state: pr.state,
                draft: pr.draft,
                head_sha: pr.head.and_then(|h| h.sha),
                updated_at: pr.updated_at,
                merged: match (pr.merged, pr.merged_at) {
                    (None, None) => None,
                    (merged, at) => Some(merged.unwrap_or(false) || at.is_some()),
                },
            }),
            comment: p.comment.map(|c| PayloadComment {
                id: c.id,
                body: c.body,
                author: c.user.and_then(|u| u.login),
                author_association: c.author_association,
            }),
            issue: p.issue.map(|i| PayloadIssue {
                number: i.number,
                is_pull_request: i.pull_request.is_some_and(|v| !v.is_null()),
            }),
            hook_id: p.hook_id,
            zen: p.zen,
        }
    }
}

/// Reads GitHub webhook bodies.
#[derive(Debug, Clone, Copy, Default)]
pub struct GitHubPayloads;

impl PayloadReader for GitHubPayloads {
    fn read(&self, body: &[u8]) -> domain::Result<DeliveryPayload> {
        serde_json::from_slice::<Payload>(body)
            .map(Into::into)
            .map_err(|e| domain::Error::Invalid {
                what: "JSON payload",
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use domain::webhook::event::{ReviewTriggers, WebhookEvent, decide};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_pull_request_delivery_reads_into_the_domain_payload() {
        let body = br#"{"action":"opened","number":7,"pull_request":{"number":7,"state":"open","draft":false,
            "head":{"sha":"0123456789abcdef0123456789abcdef01234567"},"updated_at":"2026-11-22T10:00:00Z"},
            "repository":{"full_name":"acme/backend"},"sender":{"login":"octocat","type":"User"}}"#;
        let payload = GitHubPayloads.read(body).unwrap();
        assert_eq!(payload.action.as_deref(), Some("opened"));
        assert_eq!(payload.repository().unwrap().as_str(), "acme/backend");
        let pr = payload.pull_request.unwrap();
        assert_eq!(
            (pr.number, pr.draft, pr.head_sha.as_deref()),
            (
                Some(7),
                Some(false),
                Some("0123456789abcdef0123456789abcdef01234567")
            )
        );
        assert!(pr.updated_at.is_some());
        assert_eq!(payload.sender.unwrap().kind.as_deref(), Some("User"));
    }

    #[test]
    fn a_comment_delivery_reads_its_comment_and_whether_it_is_on_a_pull_request() {
        // GitHub's own examples: on an issue (octokit) and on a pull request (octocrab's capture).
        let on_issue =
            include_bytes!("../../../tests/fixtures/corpus/github/issue_comment/created.json");
        let payload = GitHubPayloads.read(on_issue).unwrap();
        let comment = payload.comment.unwrap();
        assert_eq!(
            (
                comment.author.as_deref(),
                comment.author_association.as_deref()
            ),
            (Some("Codertocat"), Some("OWNER"))
        );
        assert!(comment.id.is_some() && comment.body.is_some());
        assert!(!payload.issue.unwrap().is_pull_request);
        let on_pr = include_bytes!(
            "../../../tests/fixtures/corpus/github/issue_comment/octocrab.deleted.json"
        );
        let issue = GitHubPayloads.read(on_pr).unwrap().issue.unwrap();
        assert_eq!((issue.number, issue.is_pull_request), (Some(5), true));
    }

    #[test]
    fn non_objects_and_broken_json_are_refused() {
        for body in ["", "[]", "{", "nul", r#"{"action": 5}"#] {
            assert!(GitHubPayloads.read(body.as_bytes()).is_err(), "{body:?}");
        }
    }

    proptest! {
        #[test]
        fn reading_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(payload) = GitHubPayloads.read(&body) {
                let _ = WebhookEvent::from_payload("pull_request", &payload);
            }
        }

        #[test]
        fn reading_arbitrary_json_never_panics(action in "[a-z_]{0,12}", n in any::<u64>(), sha in "[0-9a-f]{0,70}", name in "[ -~]{0,50}") {
            let body = serde_json::json!({
                "action": action, "pull_request": {"number": n, "head": {"sha": sha}},
                "repository": {"full_name": name}, "sender": {"login": name}
            });
            let payload = GitHubPayloads.read(body.to_string().as_bytes()).unwrap();
            let _ = WebhookEvent::from_payload("pull_request", &payload).map(|e| decide(&e, ReviewTriggers::default()));
        }
    }
}
