//! The durable review queue: what a claimed job is and what its handler may answer ([`job`]), where an
//! event stands and the named transitions between statuses ([`status`]), the retry policy
//! ([`retry`]), how a code-host failure becomes an outcome ([`outcome`]), and the queue port.

pub mod job;
pub mod outcome;
pub mod retry;
pub mod status;

pub use job::{Finish, Job, JobHandler, JobResult, ReviewQueue, WorkSignal};
pub use outcome::job_result_of;
pub use retry::RetryPolicy;
pub use status::{EventStatus, Transition, transition};

#[cfg(any(test, feature = "mocks"))]
pub use job::{MockJobHandler, MockReviewQueue, MockWorkSignal};
