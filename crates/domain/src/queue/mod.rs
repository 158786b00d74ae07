//! The durable review queue: what a claimed job is and what its handler may answer ([`job`]), where an
//! event stands and the named transitions between statuses ([`status`]), the retry policy
//! ([`retry`]), how a code-host failure becomes an outcome ([`outcome`]), the queue port, and the
//! handler that sends each kind of job to its use case ([`handlers`]).

pub mod handlers;
pub mod job;
pub mod outcome;
pub mod retry;
pub mod status;

pub use handlers::ByKind;
pub use job::{Finish, Job, JobHandler, JobKind, JobResult, ReviewQueue, WorkSignal};
pub use outcome::job_result_of;
pub use retry::RetryPolicy;
pub use status::{EventStatus, Transition, transition};

#[cfg(any(test, feature = "mocks"))]
pub use job::{MockJobHandler, MockReviewQueue, MockWorkSignal};
