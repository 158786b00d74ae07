//! One handler for the workers, sending each job to the use case of its kind: reviews to the review
//! use case, index jobs to the knowledge graph's, comments' commands to the project memory's.

use std::sync::Arc;

use async_trait::async_trait;

use crate::queue::{Job, JobHandler, JobKind, JobResult};

/// The use case of each kind of job.
#[derive(Clone)]
pub struct ByKind {
    pub review: Arc<dyn JobHandler>,
    pub index: Arc<dyn JobHandler>,
    pub command: Arc<dyn JobHandler>,
}

impl std::fmt::Debug for ByKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ByKind")
    }
}

#[async_trait]
impl JobHandler for ByKind {
    async fn handle(&self, job: &Job) -> JobResult {
        match job.kind {
            JobKind::Review => self.review.handle(job).await,
            JobKind::Index => self.index.handle(job).await,
            JobKind::Command => self.command.handle(job).await,
        }
    }
}
