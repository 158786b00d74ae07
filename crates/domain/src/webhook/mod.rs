//! Receiving GitHub webhooks: values with rules ([`values`]), the signature ([`signature`]), what a
//! delivery is about and whether it asks for a review ([`event`]), what is read of its body
//! ([`payload`], with the port the GitHub adapter implements), the delivery log's record
//! ([`delivery`]), per-installation delivery filters ([`filters`]), Linear's webhooks ([`linear`]), the ports that store them ([`ports`]), and the ingest use case ([`ingest`]) with what it
//! takes and gives ([`request`]), and how long deliveries are kept ([`retention`]).

pub mod delivery;
pub mod event;
pub mod filters;
pub mod ingest;
pub mod linear;
pub mod payload;
pub mod ports;
pub mod request;
pub mod retention;
pub mod signature;
pub mod values;

pub use delivery::{DeliveryOutcome, DeliveryRecord, RejectionCause};
pub use event::{ReviewKey, WebhookEvent};
pub use ingest::{IngestOutcome, IngestPolicy, IngestService};
pub use payload::{DeliveryPayload, PayloadReader};
pub use ports::{
    DeliveryLog, Disposition, EventStore, InstallationStore, NewEvent, Recorded, StoredPayloads,
};
pub use retention::{Retention, RetentionPolicy, RetentionStore};
pub use values::{DeliveryId, HeadSha, RepoFullName, WebhookSecret};

#[cfg(any(test, feature = "mocks"))]
pub use payload::MockPayloadReader;
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockDeliveryLog, MockEventStore, MockInstallationStore, MockStoredPayloads};
#[cfg(any(test, feature = "mocks"))]
pub use retention::MockRetentionStore;
