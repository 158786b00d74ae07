//! The webhook capability's ports: where secrets come from, where accepted events and their work are
//! recorded, and the delivery log; with the values they exchange.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::queue::JobKind;
use crate::webhook::delivery::{DeliveryOutcome, DeliveryRecord, Provider};
use crate::webhook::event::{ReviewKey, WebhookEvent};
use crate::webhook::filters::DeliveryFilter;
use crate::webhook::values::{DeliveryId, RepoFullName, WebhookSecret};

/// Connected repositories and their webhook secrets.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait InstallationStore: Send + Sync {
    /// The secrets deliveries for `repository` may be signed with: the active installation's current secret
    /// first, then any previous one still in its rotation grace period. Empty when the repository has no
    /// active installation. Matching is case-insensitive, as GitHub's names are.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn webhook_secrets(&self, repository: &RepoFullName) -> Result<Vec<WebhookSecret>>;

    /// Both what a delivery for `repository` is checked with and what it is filtered by, read at
    /// once: [`InstallationStore::webhook_secrets`] and [`InstallationStore::delivery_filters`].
    /// Unless `fresh`, the store may answer from a copy a moment old (changes it made itself are
    /// seen at once); `fresh` reads past any copy.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn delivery_settings(
        &self,
        repository: &RepoFullName,
        fresh: bool,
    ) -> Result<DeliverySettings>;

    /// The delivery filters in force for `repository`'s active installation; empty when none are
    /// set (every delivery is admitted).
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn delivery_filters(&self, repository: &RepoFullName) -> Result<Vec<DeliveryFilter>>;

    /// Replaces them (`None` clears them); `false` when the repository has no active installation.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn set_delivery_filters(
        &self,
        repository: &RepoFullName,
        filters: Option<Vec<serde_json::Value>>,
    ) -> Result<bool>;
}

/// A connected repository's settings for its deliveries; empty for a repository not connected.
#[derive(Debug, Clone, Default)]
pub struct DeliverySettings {
    /// The secrets its deliveries may be signed with, the current one first.
    pub secrets: Vec<WebhookSecret>,
    /// The filters its deliveries must pass to queue work; empty admits every delivery.
    pub filters: Vec<DeliveryFilter>,
}

/// What an accepted event asks the store to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Queue a review. An in-flight review (pending or processing) of the same key created at or after
    /// `window_start` makes this a duplicate; one created before it is stale and is superseded. Pending work
    /// for the same PR at another head SHA, last updated no later than this event, is superseded.
    Queue {
        kind: JobKind,
        key: ReviewKey,
        window_start: DateTime<Utc>,
    },
    /// Queue answering a comment's command on the pull request. Comments are told apart by their
    /// delivery only: two commands on one pull request are two jobs.
    Command {
        repository: RepoFullName,
        pr_number: u64,
    },
    /// Record the event as `completed` at once: its work was done while it was received (a
    /// Linear issue refreshed in the ticket cache); `detail` says what.
    Done { detail: String },
    /// Record the event as `ignored`, queueing nothing.
    Ignore { reason: String },
}

/// A verified delivery to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Who sent it.
    pub provider: Provider,
    pub delivery_id: DeliveryId,
    pub event: WebhookEvent,
    pub disposition: Disposition,
    /// The raw JSON body, exactly as received.
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

/// What the store did with a [`NewEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Stored as `pending` work; `superseded` older pending events of the same PR were marked `superseded`.
    Queued { event_id: i64, superseded: u64 },
    /// Stored as `ignored`.
    Ignored { event_id: i64 },
    /// Stored as `completed` ([`Disposition::Done`]).
    Done { event_id: i64 },
    /// This `X-GitHub-Delivery` was accepted before, as `event_id`. Nothing stored.
    DuplicateDelivery { event_id: i64 },
    /// A review of the same repository, PR and head SHA is already in flight as `event_id`. Nothing stored.
    AlreadyInFlight { event_id: i64 },
}

impl DeliveryRecord {
    /// Fills in the outcome of a delivery from what the store did: the one rule both the store (writing the
    /// log row in the same transaction) and the ingest use case (answering) follow.
    pub fn settle(&mut self, event: &NewEvent, recorded: &Recorded) {
        let (outcome, event_id, detail) = match recorded {
            Recorded::Queued { event_id, .. } => (DeliveryOutcome::Received, *event_id, None),
            Recorded::Done { event_id } => {
                let detail = match &event.disposition {
                    Disposition::Done { detail } => Some(detail.clone()),
                    _ => None,
                };
                (DeliveryOutcome::Received, *event_id, detail)
            }
            Recorded::Ignored { event_id } => {
                let reason = match &event.disposition {
                    Disposition::Ignore { reason } => Some(reason.clone()),
                    _ => None,
                };
                (DeliveryOutcome::Ignored, *event_id, reason)
            }
            Recorded::DuplicateDelivery { event_id } | Recorded::AlreadyInFlight { event_id } => (
                DeliveryOutcome::DuplicateSkipped,
                *event_id,
                Some(duplicate_detail(event, recorded)),
            ),
        };
        self.outcome = outcome;
        self.status_code = 200;
        self.event_id = Some(event_id);
        self.detail = detail;
    }
}

/// The `detail` of a `duplicate_skipped` answer.
pub fn duplicate_detail(event: &NewEvent, recorded: &Recorded) -> String {
    match (recorded, &event.disposition) {
        (Recorded::AlreadyInFlight { .. }, Disposition::Queue { key, .. }) => {
            format!(
                "Event already exists for {}#{}",
                key.repository, key.pr_number
            )
        }
        (Recorded::DuplicateDelivery { event_id }, _) => {
            format!(
                "Delivery {} was already accepted as event {event_id}",
                event.delivery_id
            )
        }
        (_, _) => "Event already exists".to_owned(),
    }
}

/// Accepted events and their review work.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores the event, queues its work (if any) and appends `delivery` (settled with
    /// [`DeliveryRecord::settle`]) to the delivery log, all in one transaction, and returns what it did.
    /// Duplicates are decided by unique keys inside that transaction, never by reading first, so concurrent
    /// deliveries of one review yield exactly one `Queued`.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached or the transaction fails; nothing is then stored.
    async fn record(&self, event: NewEvent, delivery: DeliveryRecord) -> Result<Recorded>;
}

/// The raw bodies of recorded events, for work that needs more of a delivery than its queue row
/// (a comment's text and author).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StoredPayloads: Send + Sync {
    /// The body of event `event_id` as received; `None` when the event is unknown or its body was
    /// purged.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn payload(&self, event_id: i64) -> Result<Option<String>>;
}

/// Every request to the webhook endpoint, accepted or refused.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// Appends one record and returns its id.
    ///
    /// # Errors
    /// `Transient` when the store cannot be reached.
    async fn append(&self, record: DeliveryRecord) -> Result<i64>;
}
