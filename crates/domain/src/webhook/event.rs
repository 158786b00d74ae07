//! Event rules: what a GitHub delivery is about, its `<action>_<event>` type, and whether it asks for a review.

use chrono::{DateTime, Utc};

use crate::commands::parse_command;
use crate::error::{Error, Result};
use crate::webhook::payload::DeliveryPayload;
use crate::webhook::values::{HeadSha, RepoFullName};

/// `<action>_<event>` (`opened_pull_request`, `opened_issue`), or the event alone when there is no action
/// (`push`). The event part names the payload's subject, so GitHub's `issues` event is `issue`.
pub fn event_type(event: &str, action: Option<&str>) -> String {
    let event = if event == "issues" { "issue" } else { event };
    match action {
        Some(action) if !action.is_empty() => format!("{action}_{event}"),
        _ => event.to_owned(),
    }
}

/// The pull request a review would be about: one head commit of one PR of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewKey {
    pub repository: RepoFullName,
    pub pr_number: u64,
    pub head_sha: HeadSha,
}

/// A verified delivery, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `X-GitHub-Event`.
    pub name: String,
    pub action: Option<String>,
    pub event_type: String,
    pub repository: Option<RepoFullName>,
    pub sender: Option<String>,
    pub sender_is_bot: bool,
    pub pull_request: Option<DeliveredPullRequest>,
    /// The comment an `issue_comment` delivery is about.
    pub comment: Option<DeliveredComment>,
}

/// The comment an `issue_comment` delivery is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredComment {
    /// The pull request whose conversation it is in; `None` on a plain issue.
    pub pr_number: Option<u64>,
    /// Whether a line of it addresses nectr (`@nectr …`).
    pub is_command: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// The pull request a `pull_request` delivery is about, as the payload describes it.
pub struct DeliveredPullRequest {
    pub number: u64,
    pub head_sha: HeadSha,
    pub draft: bool,
    pub open: bool,
    /// `pull_request.updated_at`: orders two deliveries for one PR, so an older one never supersedes a newer.
    pub updated_at: Option<DateTime<Utc>>,
    /// `pull_request.merged` (or a `merged_at`): a closed pull request that was merged.
    pub merged: bool,
}

impl WebhookEvent {
    /// Understands a payload whose signature has been checked. A `pull_request` event must carry its
    /// repository, number and head SHA; other events are taken as they come.
    pub fn from_payload(name: &str, payload: &DeliveryPayload) -> Result<Self> {
        let action = payload.action.clone().filter(|a| !a.is_empty());
        let sender = payload.sender.as_ref().and_then(|s| s.login.clone());
        let sender_is_bot = payload.sender.as_ref().is_some_and(|s| {
            s.kind.as_deref() == Some("Bot")
                || s.login.as_deref().is_some_and(|l| l.ends_with("[bot]"))
        });
        let repository = match payload.repository.as_deref() {
            Some(name) => Some(RepoFullName::parse(name)?),
            None => None,
        };
        let pull_request =
            if name == "pull_request" {
                let pr = payload.pull_request.as_ref().ok_or_else(|| {
                    Error::invalid("pull_request payload", "no pull_request object")
                })?;
                if repository.is_none() {
                    return Err(Error::invalid(
                        "pull_request payload",
                        "no repository.full_name",
                    ));
                }
                let number = pr.number.filter(|n| *n > 0).ok_or_else(|| {
                    Error::invalid("pull_request payload", "no pull_request.number")
                })?;
                let sha = pr.head_sha.as_deref().ok_or_else(|| {
                    Error::invalid("pull_request payload", "no pull_request.head.sha")
                })?;
                Some(DeliveredPullRequest {
                    number,
                    head_sha: HeadSha::parse(sha)?,
                    draft: pr.draft.unwrap_or(false),
                    open: pr.state.as_deref() != Some("closed"),
                    updated_at: pr.updated_at,
                    merged: pr.merged.unwrap_or(false),
                })
            } else {
                None
            };
        let comment = (name == "issue_comment").then(|| DeliveredComment {
            pr_number: payload
                .issue
                .as_ref()
                .filter(|i| i.is_pull_request)
                .and_then(|i| i.number)
                .filter(|n| *n > 0),
            is_command: payload
                .comment
                .as_ref()
                .and_then(|c| c.body.as_deref())
                .and_then(parse_command)
                .is_some(),
        });
        Ok(Self {
            event_type: event_type(name, action.as_deref()),
            name: name.to_owned(),
            action,
            repository,
            sender,
            sender_is_bot,
            pull_request,
            comment,
        })
    }
}

/// Which pull request actions ask for a review besides `opened` and `synchronize`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewTriggers {
    pub reopened: bool,
    pub ready_for_review: bool,
}

/// What to do with a verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Queue a review of this head commit.
    Review(ReviewKey),
    /// Queue indexing this merged pull request into the knowledge graph.
    Index(ReviewKey),
    /// Queue answering the `@nectr` command in a comment on this pull request.
    Command {
        repository: RepoFullName,
        pr_number: u64,
    },
    /// Record it and queue nothing, for this reason.
    Ignore(String),
}

/// The review rules: `opened` and `synchronize` (and, when enabled, `reopened` and `ready_for_review`)
/// of an open, non-draft pull request sent by a person ask for a review; `closed` of a merged pull
/// request (whoever merged it) asks for it to be indexed in the knowledge graph; everything else is
/// recorded and ignored with a reason. A new comment on a pull request that addresses nectr
/// (`@nectr …`), from a person, is a command (who may give it is the command's own rule).
pub fn decide(event: &WebhookEvent, triggers: ReviewTriggers) -> Decision {
    if let Some(comment) = &event.comment {
        return decide_comment(event, comment);
    }
    let (Some(pr), Some(repository)) = (&event.pull_request, &event.repository) else {
        return Decision::Ignore(format!(
            "'{}' events are recorded, not reviewed",
            event.name
        ));
    };
    let action = event.action.as_deref().unwrap_or("");
    let key = ReviewKey {
        repository: repository.clone(),
        pr_number: pr.number,
        head_sha: pr.head_sha.clone(),
    };
    if action == "closed" {
        return if pr.merged {
            Decision::Index(key)
        } else {
            Decision::Ignore("pull request closed without being merged".to_owned())
        };
    }
    let triggered = match action {
        "opened" | "synchronize" => true,
        "reopened" => triggers.reopened,
        "ready_for_review" => triggers.ready_for_review,
        _ => false,
    };
    if !triggered {
        return Decision::Ignore(format!(
            "pull_request action '{action}' does not trigger a review"
        ));
    }
    if !pr.open {
        return Decision::Ignore("pull request is closed".to_owned());
    }
    if pr.draft {
        return Decision::Ignore("draft pull request".to_owned());
    }
    if event.sender_is_bot {
        let who = event.sender.as_deref().unwrap_or("unknown");
        return Decision::Ignore(format!("sender '{who}' is a bot"));
    }
    Decision::Review(key)
}

fn decide_comment(event: &WebhookEvent, comment: &DeliveredComment) -> Decision {
    let ignore = |why: &str| Decision::Ignore(why.to_owned());
    if event.action.as_deref() != Some("created") {
        return ignore("only new comments are read for commands");
    }
    let (Some(repository), Some(pr_number)) = (&event.repository, comment.pr_number) else {
        return ignore("comment is not on a pull request");
    };
    if !comment.is_command {
        return ignore("comment does not address @nectr");
    }
    if event.sender_is_bot {
        let who = event.sender.as_deref().unwrap_or("unknown");
        return Decision::Ignore(format!("sender '{who}' is a bot"));
    }
    Decision::Command {
        repository: repository.clone(),
        pr_number,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::webhook::payload::{PayloadPullRequest, PayloadSender};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn pr_payload(action: &str, number: Option<u64>, sha: Option<&str>) -> DeliveryPayload {
        DeliveryPayload {
            action: Some(action.into()),
            repository: Some("acme/backend".into()),
            sender: Some(PayloadSender {
                login: Some("octocat".into()),
                kind: Some("User".into()),
            }),
            pull_request: Some(PayloadPullRequest {
                number,
                state: Some("open".into()),
                draft: Some(false),
                head_sha: sha.map(str::to_owned),
                updated_at: None,
                merged: None,
            }),
            ..DeliveryPayload::default()
        }
    }

    fn pr_event(action: &str, draft: bool, sender: &str, kind: &str) -> WebhookEvent {
        let mut payload = pr_payload(action, Some(7), Some(SHA));
        payload.sender = Some(PayloadSender {
            login: Some(sender.into()),
            kind: Some(kind.into()),
        });
        if let Some(pr) = &mut payload.pull_request {
            pr.draft = Some(draft);
        }
        WebhookEvent::from_payload("pull_request", &payload).unwrap()
    }

    #[test]
    fn event_types_join_action_and_event() {
        assert_eq!(
            event_type("pull_request", Some("opened")),
            "opened_pull_request"
        );
        assert_eq!(
            event_type("pull_request", Some("synchronize")),
            "synchronize_pull_request"
        );
        assert_eq!(event_type("issues", Some("opened")), "opened_issue");
        assert_eq!(
            event_type("issue_comment", Some("created")),
            "created_issue_comment"
        );
        assert_eq!(event_type("push", None), "push");
        assert_eq!(event_type("push", Some("")), "push");
    }

    #[test]
    fn opened_and_synchronize_ask_for_a_review() {
        for action in ["opened", "synchronize"] {
            let decision = decide(
                &pr_event(action, false, "octocat", "User"),
                ReviewTriggers::default(),
            );
            let Decision::Review(key) = decision else {
                panic!("{action} should be reviewed")
            };
            assert_eq!(key.repository.as_str(), "acme/backend");
            assert_eq!(key.pr_number, 7);
            assert_eq!(key.head_sha.as_str(), SHA);
        }
    }

    #[test]
    fn reopened_and_ready_for_review_are_behind_settings() {
        for action in ["reopened", "ready_for_review"] {
            let event = pr_event(action, false, "octocat", "User");
            assert!(matches!(
                decide(&event, ReviewTriggers::default()),
                Decision::Ignore(_)
            ));
            let on = ReviewTriggers {
                reopened: true,
                ready_for_review: true,
            };
            assert!(matches!(decide(&event, on), Decision::Review(_)));
        }
    }

    #[test]
    fn drafts_and_bots_are_ignored_with_a_reason() {
        let draft = decide(
            &pr_event("opened", true, "octocat", "User"),
            ReviewTriggers::default(),
        );
        assert_eq!(draft, Decision::Ignore("draft pull request".into()));
        let bot = decide(
            &pr_event("opened", false, "dependabot[bot]", "Bot"),
            ReviewTriggers::default(),
        );
        assert_eq!(
            bot,
            Decision::Ignore("sender 'dependabot[bot]' is a bot".into())
        );
        let closed = decide(
            &pr_event("closed", false, "octocat", "User"),
            ReviewTriggers::default(),
        );
        assert_eq!(
            closed,
            Decision::Ignore("pull request closed without being merged".into())
        );
    }

    #[test]
    fn a_merged_pull_request_is_indexed_whoever_merged_it() {
        for (sender, kind) in [("octocat", "User"), ("mergify[bot]", "Bot")] {
            let mut payload = pr_payload("closed", Some(7), Some(SHA));
            payload.sender = Some(PayloadSender {
                login: Some(sender.into()),
                kind: Some(kind.into()),
            });
            if let Some(pr) = &mut payload.pull_request {
                pr.state = Some("closed".into());
                pr.merged = Some(true);
            }
            let event = WebhookEvent::from_payload("pull_request", &payload).unwrap();
            assert_eq!(event.event_type, "closed_pull_request");
            let Decision::Index(key) = decide(&event, ReviewTriggers::default()) else {
                panic!("{sender}: not indexed")
            };
            assert_eq!(
                (key.repository.as_str(), key.pr_number),
                ("acme/backend", 7)
            );
        }
    }

    fn comment_event(action: &str, body: &str, on_pr: bool, sender_kind: &str) -> WebhookEvent {
        let payload = DeliveryPayload {
            action: Some(action.into()),
            repository: Some("acme/backend".into()),
            sender: Some(PayloadSender {
                login: Some("alice".into()),
                kind: Some(sender_kind.into()),
            }),
            comment: Some(crate::webhook::payload::PayloadComment {
                id: Some(1),
                body: Some(body.into()),
                author: Some("alice".into()),
                author_association: Some("MEMBER".into()),
            }),
            issue: Some(crate::webhook::payload::PayloadIssue {
                number: Some(7),
                is_pull_request: on_pr,
            }),
            ..DeliveryPayload::default()
        };
        WebhookEvent::from_payload("issue_comment", &payload).unwrap()
    }

    #[test]
    fn a_new_comment_addressing_nectr_on_a_pull_request_is_a_command() {
        let decision = decide(
            &comment_event("created", "@nectr remember x", true, "User"),
            ReviewTriggers::default(),
        );
        assert_eq!(
            decision,
            Decision::Command {
                repository: RepoFullName::parse("acme/backend").unwrap(),
                pr_number: 7
            }
        );
        for (event, why) in [
            (
                comment_event("edited", "@nectr remember x", true, "User"),
                "only new comments are read for commands",
            ),
            (
                comment_event("created", "@nectr remember x", false, "User"),
                "comment is not on a pull request",
            ),
            (
                comment_event("created", "thanks, nectr", true, "User"),
                "comment does not address @nectr",
            ),
            (
                comment_event("created", "@nectr remember x", true, "Bot"),
                "sender 'alice' is a bot",
            ),
        ] {
            assert_eq!(
                decide(&event, ReviewTriggers::default()),
                Decision::Ignore(why.into())
            );
        }
    }

    #[test]
    fn other_events_are_ignored() {
        let payload = DeliveryPayload {
            action: Some("opened".into()),
            repository: Some("a/b".into()),
            ..DeliveryPayload::default()
        };
        let event = WebhookEvent::from_payload("issues", &payload).unwrap();
        assert_eq!(event.event_type, "opened_issue");
        assert!(matches!(
            decide(&event, ReviewTriggers::default()),
            Decision::Ignore(_)
        ));
    }

    #[test]
    fn a_pull_request_event_without_its_fields_is_invalid() {
        let no_object = DeliveryPayload {
            pull_request: None,
            ..pr_payload("opened", Some(1), Some(SHA))
        };
        let no_repository = DeliveryPayload {
            repository: None,
            ..pr_payload("opened", Some(1), Some(SHA))
        };
        for payload in [
            no_object,
            pr_payload("opened", Some(1), Some("x")),
            pr_payload("opened", None, Some(SHA)),
            pr_payload("opened", Some(0), Some(SHA)),
            pr_payload("opened", Some(1), None),
            no_repository,
        ] {
            assert!(
                WebhookEvent::from_payload("pull_request", &payload).is_err(),
                "{payload:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_payload_values_never_panic(action in "[a-z_]{0,12}", n in any::<u64>(), sha in "[0-9a-f]{0,70}", name in "[ -~]{0,50}") {
            let mut payload = pr_payload(&action, Some(n), Some(&sha));
            payload.repository = Some(name.clone());
            payload.sender = Some(PayloadSender { login: Some(name), kind: None });
            let _ = WebhookEvent::from_payload("pull_request", &payload).map(|e| decide(&e, ReviewTriggers::default()));
        }
    }
}
