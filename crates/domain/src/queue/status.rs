//! Where an event stands, the only place its status strings come from, and the named transitions the
//! queue makes between statuses (adapters bind a transition's statuses; they never spell them).

use crate::error::{Error, Result};

/// Where an event stands. `pending -> processing -> completed | failed | superseded | skipped`; events that
/// queue nothing are `ignored` from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    Pending,
    Processing,
    Completed,
    Failed,
    Superseded,
    Skipped,
    Ignored,
}

impl EventStatus {
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Processing,
        Self::Completed,
        Self::Failed,
        Self::Superseded,
        Self::Skipped,
        Self::Ignored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
            Self::Skipped => "skipped",
            Self::Ignored => "ignored",
        }
    }

    pub fn parse(raw: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| Error::invalid("event status", format!("unknown status '{raw}'")))
    }

    /// Work that is queued or running: at most one per repository, PR and head SHA.
    pub const IN_FLIGHT: [Self; 2] = [Self::Pending, Self::Processing];

    /// What a user may queue again (`POST /api/v1/events/{id}/retry`).
    pub const RETRYABLE: [Self; 2] = [Self::Failed, Self::Skipped];

    /// Work that is queued or running: at most one per repository, PR and head SHA.
    pub fn is_in_flight(self) -> bool {
        Self::IN_FLIGHT.contains(&self)
    }

    /// Whether a user may queue the event again.
    pub fn is_retryable(self) -> bool {
        Self::RETRYABLE.contains(&self)
    }

    /// Nothing more will happen to the event.
    pub fn is_terminal(self) -> bool {
        !self.is_in_flight()
    }
}

impl std::fmt::Display for EventStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of status the queue makes: from any of `from`, to `to`. A store applies it only to rows
/// that are in one of `from`, so two writers never both make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: &'static [EventStatus],
    pub to: EventStatus,
}

/// The queue's transitions, by name.
pub mod transition {
    use super::{EventStatus, Transition};

    /// A worker leases due work.
    pub const CLAIM: Transition = Transition {
        from: &[EventStatus::Pending],
        to: EventStatus::Processing,
    };
    /// An attempt failed in a way worth retrying: queued again for later.
    pub const RETRY_LATER: Transition = Transition {
        from: &[EventStatus::Processing],
        to: EventStatus::Pending,
    };
    /// A worker gives unfinished work back at shutdown; the attempt does not count.
    pub const RELEASE: Transition = Transition {
        from: &[EventStatus::Processing],
        to: EventStatus::Pending,
    };
    /// A user asks for a failed or skipped event to be run again.
    pub const REQUEUE: Transition = Transition {
        from: &EventStatus::RETRYABLE,
        to: EventStatus::Pending,
    };
    /// Pending work for an older head commit of the same pull request gives way to the newest.
    pub const SUPERSEDE_OLDER_HEAD: Transition = Transition {
        from: &[EventStatus::Pending],
        to: EventStatus::Superseded,
    };
    /// Work in flight for longer than the dedup window gives way to a new delivery of the same commit.
    pub const SUPERSEDE_STALE: Transition = Transition {
        from: &EventStatus::IN_FLIGHT,
        to: EventStatus::Superseded,
    };

    /// An attempt ended for good, as `status` (completed, skipped, superseded or failed).
    pub const fn finish(status: EventStatus) -> Transition {
        Transition {
            from: &[EventStatus::Processing],
            to: status,
        }
    }

    /// A lease ran out; [`crate::queue::RetryPolicy::after_lost_lease`] gives `to`.
    pub const fn lease_lost(to: EventStatus) -> Transition {
        Transition {
            from: &[EventStatus::Processing],
            to,
        }
    }
}
