//! The use case a queued comment runs: it reads the comment from the stored delivery, reacts 👀,
//! does what it asks and answers with a reply on the pull request.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use crate::codehost::AccessToken;
use crate::commands::parse::{
    Command, HELP, kind_and_content, may_command, parse_command, quote_line,
};
use crate::memory::model::{MemorySource, MemoryStatus, NewMemory, Remembered};
use crate::memory::ports::ProjectMemory;
use crate::memory::rule::ForbidRule;
use crate::queue::outcome::job_result_of;
use crate::queue::{Job, JobHandler, JobResult};
use crate::review::codehost::{ChangedFile, PullRequest};
use crate::review::controls::PauseStore;
use crate::review::diff::from_changed_file;
use crate::review::ondemand::ReviewOnDemand;
use crate::review::walkthrough;
use crate::review::{CodeHost, RepositoryTokens, ReviewError, ReviewRequest, Reviewer};
use crate::webhook::payload::{DeliveryPayload, PayloadReader};
use crate::webhook::ports::StoredPayloads;

/// Files whose diffs `ask` and `describe` give the model, at most.
const WRITE_FILES: usize = 50;

/// Answers a queued comment.
#[derive(Clone)]
pub struct AnswerComment {
    pub payloads: Arc<dyn StoredPayloads>,
    pub reader: Arc<dyn PayloadReader>,
    pub code_host: Arc<dyn CodeHost>,
    pub tokens: Arc<dyn RepositoryTokens>,
    pub memory: Arc<dyn ProjectMemory>,
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Runs `@nectr review` (none: the command says reviews on demand are not available).
    pub reviews: Option<Arc<dyn ReviewOnDemand>>,
    /// Keeps `@nectr pause` (none: the command says pausing is not available).
    pub pauses: Option<Arc<dyn PauseStore>>,
    /// Writes `@nectr ask`'s answers and `@nectr describe`'s prose (none, or a reviewer without a
    /// model: `describe` is structured and `ask` says a model is needed).
    pub writer: Option<Arc<dyn Reviewer>>,
}

impl std::fmt::Debug for AnswerComment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnswerComment")
    }
}

/// The comment a job is about, as the delivery gave it.
struct Comment {
    id: u64,
    author: String,
    association: Option<String>,
    body: String,
}

fn comment_of(payload: &DeliveryPayload) -> Option<Comment> {
    let c = payload.comment.as_ref()?;
    Some(Comment {
        id: c.id?,
        author: c.author.clone().unwrap_or_else(|| "someone".to_owned()),
        association: c.author_association.clone(),
        body: c.body.clone()?,
    })
}

impl AnswerComment {
    /// What the comment asks, done: the reply to post and the run's figures.
    async fn answer(
        &self,
        job: &Job,
        comment: &Comment,
    ) -> Result<(String, serde_json::Value), JobResult> {
        let Some(command) = parse_command(&comment.body) else {
            return Err(JobResult::Skipped {
                reason: "the comment holds no command".into(),
            });
        };
        if !may_command(comment.association.as_deref()) {
            return Ok((
                format!(
                    "Thanks @{}! Only this repository's members and collaborators can give me \
                     commands, so I have not done anything.",
                    comment.author
                ),
                json!({"command": "refused", "association": comment.association}),
            ));
        }
        // Accepted: 👀 at once, the answer when done.
        let token = self.tokens.token_for(&job.repository).await.ok().flatten();
        if let Err(e) = self
            .code_host
            .react(token, &job.repository, comment.id, "eyes")
            .await
        {
            tracing::warn!(error = %e, "could not react to the command");
        }
        let text = match command {
            Command::Help { unknown } => {
                let opening = unknown.map_or(String::new(), |w| {
                    format!("I do not know the command `{w}`. ")
                });
                return Ok((format!("{opening}{HELP}"), json!({"command": "help"})));
            }
            Command::Review => return self.review(job).await,
            Command::Describe => return self.describe(job).await,
            Command::Ask(question) => return self.ask(job, &question).await,
            Command::Pause | Command::Resume => {
                return self
                    .pause(job, &comment.author, command == Command::Pause)
                    .await;
            }
            Command::Remember(text) => text,
        };
        let (kind, content) = kind_and_content(&text);
        if ForbidRule::looks_like_one(content)
            && let Err(e) = ForbidRule::parse(0, content)
        {
            return Ok((
                format!("I could not read that rule: {e}. Nothing was stored."),
                json!({"command": "remember", "stored": false}),
            ));
        }
        let source_ref = format!("comment {}", comment.id);
        let new = NewMemory::new(
            job.repository.clone(),
            kind,
            None,
            None,
            content,
            MemorySource::Comment,
            Some(source_ref.clone()),
            MemoryStatus::Active,
        );
        let new = match new {
            Ok(new) => new,
            Err(e) => {
                return Ok((
                    format!("I could not remember that: {e}. {HELP}"),
                    json!({"command": "remember", "stored": false}),
                ));
            }
        };
        let remembered = self
            .memory
            .remember(new, self.clock.now())
            .await
            .map_err(|e| JobResult::Transient {
                error: format!("the project memory: {e}"),
                retry_at: None,
            })?;
        let m = remembered.memory();
        // A retry of this very comment finds its own memory: it still says "remembered".
        let created = matches!(remembered, Remembered::Created(_))
            || m.source_ref.as_deref() == Some(source_ref.as_str());
        let rule_note = if ForbidRule::looks_like_one(&m.content) {
            " The built-in reviewer checks it on added lines too."
        } else {
            ""
        };
        let reply = if created {
            format!(
                "Remembered as {} #{}: _{}_. It applies to this repository's next reviews.{rule_note}",
                m.kind.as_str(),
                m.id,
                m.title
            )
        } else {
            format!(
                "I already remember this as {} #{} ({}).",
                m.kind.as_str(),
                m.id,
                m.status.as_str()
            )
        };
        Ok((
            reply,
            json!({"command": "remember", "stored": created, "memory_id": m.id, "kind": m.kind.as_str()}),
        ))
    }
}

impl AnswerComment {
    /// `@nectr review`: a full review now; the reply says what became of it.
    async fn review(&self, job: &Job) -> Result<(String, serde_json::Value), JobResult> {
        let Some(reviews) = &self.reviews else {
            return Ok((
                "Reviews on demand are not available on this nectr.".into(),
                json!({"command": "review", "reviewed": false}),
            ));
        };
        let result = reviews.review_now(job).await;
        let reply = match &result {
            JobResult::Completed { result } => match result["review_url"].as_str() {
                Some(url) => format!(
                    "Reviewed: {} finding(s), [the review]({url}).",
                    result["findings"].as_u64().unwrap_or(0)
                ),
                None => "This commit's review is already posted.".to_owned(),
            },
            JobResult::Skipped { reason } | JobResult::Superseded { reason } => {
                format!("I did not review: {reason}.")
            }
            JobResult::Transient { .. } => return Err(result),
            JobResult::Permanent { error } => format!("The review failed: {error}."),
        };
        Ok((
            reply,
            json!({"command": "review", "outcome": result_name(&result)}),
        ))
    }

    /// The pull request and (its first [`WRITE_FILES`]) files, as a request to write about.
    async fn pull_request(
        &self,
        job: &Job,
    ) -> Result<(Option<AccessToken>, PullRequest, Vec<ChangedFile>), JobResult> {
        let token =
            self.tokens
                .token_for(&job.repository)
                .await
                .map_err(|e| JobResult::Transient {
                    error: format!("the repository's token: {e}"),
                    retry_at: None,
                })?;
        let host = &self.code_host;
        let pr = host
            .pull_request(token.clone(), &job.repository, job.pr_number)
            .await
            .map_err(job_result_of)?;
        let files = host
            .pull_request_files(token.clone(), &job.repository, job.pr_number)
            .await
            .map_err(job_result_of)?;
        Ok((token, pr, files))
    }

    /// What the writer is given: the title, description and the first files' diffs.
    fn request(pr: &PullRequest, files: &[ChangedFile]) -> ReviewRequest {
        let mut request = ReviewRequest::new(
            pr.title.clone(),
            files
                .iter()
                .take(WRITE_FILES)
                .map(from_changed_file)
                .collect(),
        );
        request.description = pr.body.clone().filter(|b| !b.trim().is_empty());
        request
    }

    /// The writer's prose for `instruction`, `None` without a model (or when it cannot).
    async fn prose(
        &self,
        instruction: &str,
        request: &ReviewRequest,
    ) -> Result<Option<String>, JobResult> {
        let Some(writer) = &self.writer else {
            return Ok(None);
        };
        match writer.write(instruction, request).await {
            Ok(text) => Ok(text),
            Err(ReviewError::Transient(error)) => Err(JobResult::Transient {
                error,
                retry_at: None,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "the model could not write; answering without it");
                Ok(None)
            }
        }
    }

    /// `@nectr describe`: the walkthrough, written into the description between nectr's markers.
    async fn describe(&self, job: &Job) -> Result<(String, serde_json::Value), JobResult> {
        let (token, pr, files) = self.pull_request(job).await?;
        let request = Self::request(&pr, &files);
        let (text, by) = match self
            .prose(
                "Write a walkthrough of this pull request for its reviewers: what changed and \
                 why, grouped by area (a short heading per area, a few bullets each).",
                &request,
            )
            .await?
        {
            Some(prose) => (prose, "the model"),
            None => (walkthrough::structured(&files), "the built-in reviewer"),
        };
        let body = walkthrough::into_description(pr.body.as_deref().unwrap_or(""), &text);
        self.code_host
            .update_pull_request_body(token, &job.repository, job.pr_number, &body)
            .await
            .map_err(job_result_of)?;
        Ok((
            format!(
                "I wrote a walkthrough into the description ({by}); `@nectr describe` again updates it."
            ),
            json!({"command": "describe", "by": by}),
        ))
    }

    /// `@nectr ask <question>`: the model's answer, as the reply.
    async fn ask(
        &self,
        job: &Job,
        question: &str,
    ) -> Result<(String, serde_json::Value), JobResult> {
        if question.trim().is_empty() {
            return Ok((
                "Ask me a question: `@nectr ask <question>`.".into(),
                json!({"command": "ask", "answered": false}),
            ));
        }
        let (_, pr, files) = self.pull_request(job).await?;
        let request = Self::request(&pr, &files);
        let instruction = format!(
            "Answer this question about the pull request:\n<question>\n{}\n</question>",
            question.chars().take(2_000).collect::<String>()
        );
        Ok(match self.prose(&instruction, &request).await? {
            Some(answer) => (answer, json!({"command": "ask", "answered": true})),
            None => (
                "Answering questions needs a model: this nectr reviews with its built-in rules \
                 (set AI_PROVIDER to anthropic or openai)."
                    .into(),
                json!({"command": "ask", "answered": false}),
            ),
        })
    }

    /// `@nectr pause` / `@nectr resume`.
    async fn pause(
        &self,
        job: &Job,
        by: &str,
        pause: bool,
    ) -> Result<(String, serde_json::Value), JobResult> {
        let Some(pauses) = &self.pauses else {
            return Ok((
                "Pausing reviews is not available on this nectr.".into(),
                json!({"command": "pause", "done": false}),
            ));
        };
        let transient = |e: crate::Error| JobResult::Transient {
            error: format!("pauses: {e}"),
            retry_at: None,
        };
        let now = self.clock.now();
        let reply = if pause {
            pauses
                .pause(&job.repository, job.pr_number, by, now)
                .await
                .map_err(transient)?;
            "Automatic reviews of this pull request are paused. `@nectr resume` restarts them; `@nectr review` still reviews on demand."
        } else if pauses
            .resume(&job.repository, job.pr_number)
            .await
            .map_err(transient)?
        {
            "Automatic reviews of this pull request are back on."
        } else {
            "Automatic reviews of this pull request were not paused."
        };
        Ok((
            reply.to_owned(),
            json!({"command": if pause { "pause" } else { "resume" }, "done": true}),
        ))
    }
}

fn result_name(result: &JobResult) -> &'static str {
    match result {
        JobResult::Completed { .. } => "completed",
        JobResult::Skipped { .. } => "skipped",
        JobResult::Superseded { .. } => "superseded",
        JobResult::Transient { .. } => "transient",
        JobResult::Permanent { .. } => "failed",
    }
}

#[async_trait]
impl JobHandler for AnswerComment {
    async fn handle(&self, job: &Job) -> JobResult {
        let payload = match self.payloads.payload(job.event_id).await {
            Ok(Some(payload)) => payload,
            Ok(None) => {
                return JobResult::Permanent {
                    error: "the comment's delivery is no longer stored".into(),
                };
            }
            Err(e) => {
                return JobResult::Transient {
                    error: e.to_string(),
                    retry_at: None,
                };
            }
        };
        let Some(comment) = self
            .reader
            .read(payload.as_bytes())
            .ok()
            .as_ref()
            .and_then(comment_of)
        else {
            return JobResult::Permanent {
                error: "the stored delivery holds no comment".into(),
            };
        };
        let (reply, mut result) = match self.answer(job, &comment).await {
            Ok(answer) => answer,
            Err(stopped) => return stopped,
        };
        let token = match self.tokens.token_for(&job.repository).await {
            Ok(token) => token,
            Err(e) => {
                return JobResult::Transient {
                    error: format!("the repository's token: {e}"),
                    retry_at: None,
                };
            }
        };
        let reply = format!("> {}\n\n{reply}", quote_line(&comment.body));
        match self
            .code_host
            .comment(token, &job.repository, job.pr_number, &reply)
            .await
        {
            Ok(id) => {
                result["reply_id"] = json!(id);
                JobResult::Completed { result }
            }
            Err(e) => job_result_of(e),
        }
    }
}
