//! Stage 2 of a review: every changed file, the scope (the commits since the last reviewed commit, or
//! the whole pull request), the token-budgeted plan, and the context a reviewer is given (linked
//! issues, the repository's instructions from the base branch).

use std::collections::HashSet;

use crate::codehost::CodeHostError;
use crate::knowledge::ReviewContext;
use crate::review::budget::{Plan, plan};
use crate::review::config::RepoConfig;
use crate::review::context::{
    INSTRUCTION_FILES, MAX_CONTEXT_CHARS, linked_issue_numbers, truncate,
};
use crate::review::diff::{FileDiff, FileStatus, LineMap, from_changed_file};
use crate::review::prepare::{History, Target};
use crate::review::service::{ReviewPullRequest, Stop, short, stop};
use crate::review::sources::Sourced;
use crate::review::{LinkedIssue, MAX_SOURCE_BYTES, ReviewRequest, Sources};

/// Paths the knowledge graph is asked about, at most (a pull request's first ones).
const CONTEXT_PATHS: usize = 200;
/// Suggested reviewers named in a review, at most.
const CONTEXT_EXPERTS: usize = 3;
/// Related pull requests named in a review, at most.
const CONTEXT_RELATED: usize = 5;

/// Files read at once for a reviewer that reads them whole.
const SOURCE_READS: usize = 8;

/// GitHub's compare lists at most this many files; a longer increment is reviewed whole.
const COMPARE_FILE_LIMIT: usize = 300;

/// What part of the pull request a review covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ReviewScope {
    /// Everything; `note` says why when an earlier review exists.
    Full { note: Option<String> },
    /// The commits after `since`.
    Since { since: String },
}

impl ReviewScope {
    fn full(note: &str) -> Self {
        Self::Full {
            note: Some(note.to_owned()),
        }
    }

    /// The line the review's summary opens with, when the scope needs saying.
    pub fn note(&self) -> Option<String> {
        match self {
            Self::Since { since } => Some(format!(
                "_Reviewed the commits since `{}`; earlier changes were reviewed before._",
                short(since)
            )),
            Self::Full { note: Some(note) } => Some(format!("_Full review: {note}._")),
            Self::Full { note: None } => None,
        }
    }
}

/// Stage 2's answer: what is reviewed, and where comments may go.
#[derive(Debug)]
pub(super) struct Gathered {
    pub scope: ReviewScope,
    /// The lines of the whole pull request a comment may sit on.
    pub lines: LineMap,
    pub plan: Plan,
    /// The request every chunk is sent in (its files filled in per chunk).
    pub request: ReviewRequest,
    /// What the knowledge graph says of the pull request's files.
    pub context: ReviewContext,
    /// Every path the pull request changes (what it is indexed with).
    pub paths: Vec<String>,
    /// What the project memory, the tickets and the error tracker gave.
    pub sourced: Sourced,
}

impl ReviewPullRequest {
    pub(super) async fn gather(
        &self,
        target: &Target,
        history: &History,
        config: &RepoConfig,
    ) -> Result<Gathered, Stop> {
        let changed = self
            .code_host
            .pull_request_files(target.token.clone(), &target.repo, target.pr.number)
            .await
            .map_err(stop)?;
        let pr_files: Vec<FileDiff> = changed.iter().map(from_changed_file).collect();
        let lines = LineMap::new(&pr_files);
        let paths: Vec<String> = pr_files.iter().map(|f| f.path().to_owned()).collect();
        let (context, sourced) = futures_util::future::join(
            self.context(target, &paths),
            self.sources.gather(target, &paths),
        )
        .await;
        let (scope, files) = self
            .scope(target, history.last_reviewed.as_deref(), pr_files)
            .await?;
        // `[paths]`: left out files are named in the review, with the reason.
        let (files, excluded): (Vec<FileDiff>, Vec<FileDiff>) = files
            .into_iter()
            .partition(|f| config.path_excluded(f.path()).is_none());
        let pr = &target.pr;
        let mut request = ReviewRequest {
            title: pr.title.clone(),
            description: pr.body.clone().filter(|b| !b.trim().is_empty()),
            files: Vec::new(),
            linked_issues: self.linked_issues(target).await?,
            instructions: self.instructions(target, config).await?,
            focus: None,
            incremental_since: match &scope {
                ReviewScope::Since { since } => Some(since.clone()),
                ReviewScope::Full { .. } => None,
            },
            knowledge: context.prompt(),
            rules_off: config.rules_off.clone(),
            ..ReviewRequest::default()
        };
        sourced.fill(&mut request);
        let mut plan = plan(
            files,
            self.budget.fitting(self.reviewer.context_tokens().await),
        );
        plan.not_covered.extend(excluded.iter().map(|f| {
            let why = config.path_excluded(f.path()).unwrap_or_default();
            (f.path().to_owned(), why.to_owned())
        }));
        if self.reviewer.reads_sources() {
            request.sources = self.read_sources(target, &plan).await;
        }
        Ok(Gathered {
            scope,
            lines,
            plan,
            request,
            context,
            paths,
            sourced,
        })
    }

    /// Suggested reviewers and related pull requests for `paths` (the first
    /// [`CONTEXT_PATHS`] of them). A graph that fails says so in the context; the review goes on.
    async fn context(&self, target: &Target, paths: &[String]) -> ReviewContext {
        let paths = &paths[..paths.len().min(CONTEXT_PATHS)];
        let pr = &target.pr;
        let (experts, related) = futures_util::future::join(
            self.graph.file_experts(
                &target.repo,
                paths,
                Some(pr.author.clone()),
                CONTEXT_EXPERTS,
            ),
            self.graph
                .related_pull_requests(&target.repo, paths, Some(pr.number), CONTEXT_RELATED),
        )
        .await;
        match (experts, related) {
            (Ok(experts), Ok(related)) => ReviewContext {
                experts,
                related,
                unavailable: false,
            },
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "knowledge graph unavailable; reviewing without its context");
                ReviewContext {
                    unavailable: true,
                    ..ReviewContext::default()
                }
            }
        }
    }

    /// The scope of this review, and the files it covers.
    async fn scope(
        &self,
        target: &Target,
        last_reviewed: Option<&str>,
        pr_files: Vec<FileDiff>,
    ) -> Result<(ReviewScope, Vec<FileDiff>), Stop> {
        let Some(since) = last_reviewed else {
            return Ok((ReviewScope::Full { note: None }, pr_files));
        };
        let head = target.pr.head_sha.as_str();
        let compared = self
            .code_host
            .compare(target.token.clone(), &target.repo, since, head)
            .await;
        let note = match compared {
            Ok(cmp) if cmp.status == "ahead" && cmp.files.len() < COMPARE_FILE_LIMIT => {
                // Only files still in the pull request: a change reverted to the base is no news.
                let in_pr: HashSet<&str> = pr_files.iter().map(FileDiff::path).collect();
                let files = cmp
                    .files
                    .iter()
                    .map(from_changed_file)
                    .filter(|f| in_pr.contains(f.path()))
                    .collect();
                let since = since.to_owned();
                return Ok((ReviewScope::Since { since }, files));
            }
            Ok(cmp) if cmp.status == "ahead" => {
                "the new commits change too many files to list, so this reviews everything"
                    .to_owned()
            }
            Ok(_) | Err(CodeHostError::NotFound(_)) => format!(
                "the history was rewritten since the review of `{}` (force-push), so this reviews everything",
                short(since)
            ),
            Err(e) if e.is_retryable() => return Err(stop(e)),
            Err(_) => {
                "the new commits could not be compared, so this reviews everything".to_owned()
            }
        };
        Ok((ReviewScope::full(&note), pr_files))
    }

    /// The reviewed files' content at the head commit (see [`ReviewRequest::sources`]), read
    /// [`SOURCE_READS`] at a time, for a reviewer that reads them whole.
    async fn read_sources(&self, target: &Target, plan: &Plan) -> Sources {
        let mut paths: Vec<&str> = plan
            .chunks
            .iter()
            .flatten()
            .filter(|f| f.status != FileStatus::Deleted)
            .map(FileDiff::path)
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let mut sources = std::collections::BTreeMap::new();
        for chunk in paths.chunks(SOURCE_READS) {
            let read =
                futures_util::future::join_all(chunk.iter().map(|p| self.read_source(target, p)))
                    .await;
            sources.extend(
                chunk
                    .iter()
                    .zip(read)
                    .filter_map(|(path, text)| Some(((*path).to_owned(), text?))),
            );
        }
        std::sync::Arc::new(sources)
    }

    /// One file's text at the head commit; `None` when it cannot be read (then its lines are
    /// reviewed alone), is larger than [`MAX_SOURCE_BYTES`] or is not UTF-8.
    async fn read_source(&self, target: &Target, path: &str) -> Option<String> {
        let file = self
            .code_host
            .file_content(
                target.token.clone(),
                &target.repo,
                path,
                target.pr.head_sha.as_str(),
            )
            .await
            .ok()?;
        (file.bytes.len() <= MAX_SOURCE_BYTES)
            .then(|| String::from_utf8(file.bytes).ok())
            .flatten()
    }

    /// The issues the description links, as far as they can be read.
    async fn linked_issues(&self, target: &Target) -> Result<Vec<LinkedIssue>, Stop> {
        let mut issues = Vec::new();
        for number in linked_issue_numbers(target.pr.body.as_deref().unwrap_or("")) {
            match self
                .code_host
                .issue(target.token.clone(), &target.repo, number)
                .await
            {
                Ok(issue) => issues.push(LinkedIssue {
                    number,
                    title: issue.title,
                    body: truncate(issue.body.as_deref().unwrap_or(""), MAX_CONTEXT_CHARS),
                }),
                Err(e) if e.is_retryable() => return Err(stop(e)),
                // A pull request, a typo or an issue the token cannot see: no context, no failure.
                Err(_) => {}
            }
        }
        Ok(issues)
    }

    /// The repository's review instructions, from the base branch (so a pull request cannot rewrite
    /// the rules it is reviewed by). With `.nectr.toml` read, every file its `[instructions] files`
    /// names that exists, and its `text`; else the first of [`INSTRUCTION_FILES`] that exists.
    async fn instructions(
        &self,
        target: &Target,
        config: &RepoConfig,
    ) -> Result<Option<String>, Stop> {
        let pr = &target.pr;
        let base = if pr.base_sha.is_empty() {
            &pr.base_ref
        } else {
            &pr.base_sha
        };
        let (files, all): (Vec<&str>, bool) = if self.controls.config {
            (
                config
                    .instruction_files
                    .iter()
                    .map(String::as_str)
                    .collect(),
                true,
            )
        } else {
            (INSTRUCTION_FILES.to_vec(), false)
        };
        let mut parts: Vec<(Option<&str>, String)> = config
            .instructions_text
            .iter()
            .map(|t| (None, t.clone()))
            .collect();
        for path in files {
            match self
                .code_host
                .file_content(target.token.clone(), &target.repo, path, base)
                .await
            {
                Ok(file) => {
                    let text = String::from_utf8_lossy(&file.bytes);
                    let text = truncate(text.trim(), MAX_CONTEXT_CHARS);
                    parts.push((Some(path), text));
                    if !all {
                        break;
                    }
                }
                Err(e) if e.is_retryable() => return Err(stop(e)),
                Err(_) => {}
            }
        }
        // One source reads as it is; several are each named.
        let joined = match parts.as_slice() {
            [(_, text)] => text.clone(),
            _ => parts
                .iter()
                .map(|(path, text)| match path {
                    Some(path) => format!("From {path}:\n{text}"),
                    None => format!("From .nectr.toml:\n{text}"),
                })
                .collect::<Vec<_>>()
                .join("\n\n"),
        };
        Ok((!joined.is_empty()).then(|| truncate(&joined, 2 * MAX_CONTEXT_CHARS)))
    }
}
