//! Parallel review agents (`PARALLEL_REVIEW_AGENTS=true`): the same reviewer asked three times at once,
//! each time for one focus (security; correctness and performance; maintainability), and the three
//! answers merged into one draft with one summary and no duplicate findings.

use std::sync::Arc;

use async_trait::async_trait;

use crate::review::{Focus, ReviewDraft, ReviewError, ReviewRequest, Reviewer};

/// Runs `inner` once per [`Focus`], concurrently, and merges the answers.
#[derive(Clone)]
pub struct ParallelAgents {
    inner: Arc<dyn Reviewer>,
}

impl std::fmt::Debug for ParallelAgents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelAgents")
            .field("inner", &self.inner.name())
            .finish()
    }
}

impl ParallelAgents {
    pub fn new(inner: Arc<dyn Reviewer>) -> Self {
        Self { inner }
    }
}

fn label(focus: Focus) -> String {
    let name = focus.as_str();
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

#[async_trait]
impl Reviewer for ParallelAgents {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn context_tokens(&self) -> Option<usize> {
        self.inner.context_tokens().await
    }

    fn reads_sources(&self) -> bool {
        self.inner.reads_sources()
    }

    async fn write(
        &self,
        instruction: &str,
        request: &ReviewRequest,
    ) -> Result<Option<String>, ReviewError> {
        self.inner.write(instruction, request).await
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ReviewDraft, ReviewError> {
        let answers = futures_util::future::join_all(Focus::ALL.map(|focus| {
            let mut request = request.clone();
            request.focus = Some(focus);
            let inner = self.inner.clone();
            async move { (focus, inner.review(&request).await) }
        }))
        .await;
        let mut parts = Vec::with_capacity(answers.len());
        let mut transient = None;
        for (focus, answer) in answers {
            match answer {
                Ok(mut draft) => {
                    // An agent reports only what it was asked to look at.
                    draft.findings.retain(|f| focus.covers(f.category));
                    parts.push((label(focus), draft));
                }
                Err(ReviewError::Permanent(e)) => {
                    return Err(ReviewError::Permanent(format!(
                        "the {} agent: {e}",
                        focus.as_str()
                    )));
                }
                Err(ReviewError::Transient(e)) => {
                    transient = Some(format!("the {} agent: {e}", focus.as_str()));
                }
                // The agents' requests differ only by their focus: all are split alike.
                Err(ReviewError::TooLarge(e)) => return Err(ReviewError::TooLarge(e)),
            }
        }
        // A review with one agent missing would say less than it seems to; the queue retries it.
        if let Some(e) = transient {
            return Err(ReviewError::Transient(e));
        }
        Ok(ReviewDraft::merge(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::{Category, Finding, MockReviewer, Severity, Usage};

    fn finding(line: u32, category: Category, severity: Severity) -> Finding {
        Finding {
            path: "src/a.rs".into(),
            line,
            end_line: None,
            severity,
            category,
            title: format!("{} at {line}", category.as_str()),
            body: "b".into(),
            suggestion: None,
        }
    }

    /// A model that answers every agent with the same findings, whatever its focus.
    fn model() -> MockReviewer {
        let mut model = MockReviewer::new();
        model.expect_name().return_const("anthropic".to_owned());
        model.expect_review().times(3).returning(|request| {
            assert!(request.focus.is_some(), "each agent has a focus");
            Ok(ReviewDraft {
                summary: format!("{} looked", request.focus.unwrap().as_str()),
                findings: vec![
                    finding(1, Category::Security, Severity::Critical),
                    finding(1, Category::Correctness, Severity::Warning),
                    finding(5, Category::Performance, Severity::Warning),
                    finding(9, Category::Maintainability, Severity::Info),
                ],
                not_covered: vec![("Cargo.lock".into(), "lock file".into())],
                model: Some("claude".into()),
                usage: Usage {
                    input_tokens: 100,
                    output_tokens: 10,
                },
                ..ReviewDraft::default()
            })
        });
        model
    }

    #[tokio::test]
    async fn three_agents_are_merged_into_one_draft_without_duplicates() {
        let agents = ParallelAgents::new(Arc::new(model()));
        let draft = agents
            .review(&ReviewRequest::new("t", vec![]))
            .await
            .unwrap();
        let lines: Vec<(u32, Category)> = draft
            .findings
            .iter()
            .map(|f| (f.line, f.category))
            .collect();
        assert_eq!(
            lines,
            [
                (1, Category::Security),
                (5, Category::Performance),
                (9, Category::Maintainability)
            ],
            "the correctness finding on line 1 duplicates the more severe security one"
        );
        assert_eq!(
            draft.summary,
            "- **Security**: security looked\n- **Correctness and performance**: correctness and performance looked\n- **Maintainability**: maintainability looked"
        );
        assert_eq!(draft.not_covered.len(), 1);
        assert_eq!(draft.usage.input_tokens, 300);
        assert_eq!(agents.name(), "anthropic");
    }

    #[tokio::test]
    async fn one_failing_agent_fails_the_review_with_its_kind_of_error() {
        let mut model = MockReviewer::new();
        model
            .expect_review()
            .returning(|request| match request.focus {
                Some(Focus::Maintainability) => Err(ReviewError::Transient("overloaded".into())),
                _ => Ok(ReviewDraft::default()),
            });
        let agents = ParallelAgents::new(Arc::new(model));
        assert_eq!(
            agents.review(&ReviewRequest::new("t", vec![])).await,
            Err(ReviewError::Transient(
                "the maintainability agent: overloaded".into()
            ))
        );
    }
}
