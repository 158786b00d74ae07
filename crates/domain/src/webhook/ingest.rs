//! The ingest use case: one request to the webhook endpoint in, one typed outcome out, and one delivery-log
//! row for it whatever happened. The HTTP layer only maps the outcome to a response.

use std::sync::Arc;

use crate::clock::Clock;
use crate::error::Result;
use crate::queue::{JobKind, WorkSignal};
use crate::webhook::delivery::{
    DeliveryOutcome, DeliveryRecord, MAX_EVENT_NAME, MAX_LOGGED_FIELD, Provider, RejectionCause,
    redact_headers, truncated,
};
use crate::webhook::event::{Decision, WebhookEvent, decide, event_type};
use crate::webhook::filters::DeliveryFilter;
use crate::webhook::filters::filtered;
use crate::webhook::payload::{DeliveryPayload, PayloadReader};
use crate::webhook::ports::{
    DeliveryLog, DeliverySettings, Disposition, EventStore, InstallationStore, NewEvent, Recorded,
    duplicate_detail,
};
use crate::webhook::signature;
use crate::webhook::values::{DeliveryId, WebhookSecret};

pub use crate::webhook::request::{
    DeliveryRequest, IngestOutcome, IngestPolicy, MAX_BODY_BYTES, RequestBody,
};

/// The ports the ingest use case runs on.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // ports only
pub struct IngestPorts {
    pub installations: Arc<dyn InstallationStore>,
    pub events: Arc<dyn EventStore>,
    pub log: Arc<dyn DeliveryLog>,
    /// Reads the body (GitHub's wire format lives in the adapter).
    pub payloads: Arc<dyn PayloadReader>,
    pub clock: Arc<dyn Clock>,
    /// Told of every queued review, so an idle worker starts at once.
    pub signal: Arc<dyn WorkSignal>,
}

/// Receives deliveries: checks, verifies, classifies, deduplicates and records them.
#[derive(Clone)]
pub struct IngestService {
    ports: IngestPorts,
    policy: Arc<IngestPolicy>,
}

impl std::fmt::Debug for IngestService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestService")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A request that passed the checks that need no secret.
struct Checked<'a> {
    event_name: &'a str,
    delivery_id: DeliveryId,
    body: &'a [u8],
    payload: DeliveryPayload,
}

impl IngestService {
    pub fn new(ports: IngestPorts, policy: IngestPolicy) -> Self {
        Self {
            ports,
            policy: Arc::new(policy),
        }
    }

    /// Handles one request: checked, verified, then recorded. Every path writes exactly one
    /// delivery-log row before returning.
    ///
    /// # Errors
    /// `Transient` when the database cannot record the delivery; nothing was accepted, and the sender
    /// should be answered with a 5xx so GitHub shows the delivery as failed and it can be redelivered.
    pub async fn ingest(&self, request: DeliveryRequest<'_>) -> Result<IngestOutcome> {
        let received_at = self.ports.clock.now();
        let (body, body_size) = match request.body {
            RequestBody::Complete(bytes) => (Some(bytes), bytes.len() as u64),
            RequestBody::TooLarge { size } => (None, size),
            RequestBody::TimedOut { received, .. } | RequestBody::Overloaded { received } => {
                (None, received)
            }
        };
        let payload = body.map(|b| self.ports.payloads.read(b));
        let record = log_record(&request, payload.as_ref(), body, body_size, received_at);
        // A body that never arrived whole is refused before anything is read of it.
        match request.body {
            RequestBody::TimedOut { seconds, .. } => {
                return self
                    .reject(record, RejectionCause::BodyTimeout { seconds })
                    .await;
            }
            RequestBody::Overloaded { .. } => {
                return self.reject(record, RejectionCause::Overloaded).await;
            }
            RequestBody::Complete(_) | RequestBody::TooLarge { .. } => {}
        }
        if request
            .header("x-github-hook-installation-target-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("integration"))
        {
            let outcome = IngestOutcome::Ignored {
                reason: "GitHub App deliveries are not supported; nectr uses repository webhooks"
                    .into(),
                event_type: event_type(
                    request.header("x-github-event").unwrap_or("unknown"),
                    record.action.as_deref(),
                ),
            };
            return self.log(record, outcome, Some("github_app_delivery")).await;
        }
        let checked = match self.check(&request, body.zip(payload)) {
            Ok(checked) => checked,
            Err(cause) => return self.reject(record, cause).await,
        };
        let filters = match self.verify(&request, &checked).await? {
            Ok(filters) => filters,
            Err(cause) => return self.reject(record, cause).await,
        };
        if checked.event_name == "ping" {
            let outcome = IngestOutcome::Pong {
                hook_id: checked.payload.hook_id,
                zen: checked.payload.zen.clone(),
            };
            return self.log(record, outcome, None).await;
        }
        self.accept(checked, record, received_at, &request.headers, &filters)
            .await
    }

    /// Refuses a request the endpoint does not take at all (another method than `POST`), with its
    /// row in the delivery log like any other.
    ///
    /// # Errors
    /// `Transient` when the delivery log cannot be written.
    pub async fn refuse(
        &self,
        request: DeliveryRequest<'_>,
        cause: RejectionCause,
    ) -> Result<IngestOutcome> {
        let record = log_record(&request, None, None, 0, self.ports.clock.now());
        self.reject(record, cause).await
    }

    /// The checks that need no secret, in the order their refusals are reported: size, event header,
    /// content type, delivery id, JSON.
    fn check<'a>(
        &self,
        request: &DeliveryRequest<'a>,
        read: Option<(&'a [u8], Result<DeliveryPayload>)>,
    ) -> std::result::Result<Checked<'a>, RejectionCause> {
        let (body, payload) = read.ok_or(RejectionCause::PayloadTooLarge {
            limit: self.policy.max_body_bytes,
        })?;
        let event_name = request
            .header("x-github-event")
            .filter(|e| !e.is_empty())
            .ok_or(RejectionCause::MissingEventHeader)?;
        if event_name.len() > MAX_EVENT_NAME
            || !event_name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(RejectionCause::InvalidEventHeader);
        }
        let content_type = request.header("content-type");
        if !content_type.is_some_and(is_json) {
            return Err(RejectionCause::UnsupportedMediaType(
                content_type.map(str::to_owned),
            ));
        }
        let delivery_id = request
            .header("x-github-delivery")
            .filter(|d| !d.is_empty())
            .ok_or(RejectionCause::MissingDeliveryId)
            .and_then(|raw| {
                DeliveryId::parse(raw).map_err(|e| RejectionCause::InvalidDeliveryId(e.to_string()))
            })?;
        let payload = payload.map_err(|e| RejectionCause::MalformedJson(reason_of(&e)))?;
        Ok(Checked {
            event_name,
            delivery_id,
            body,
            payload,
        })
    }

    /// The signature, checked with the repository's installation secrets, else the global one; with
    /// none, refused unless the development-only insecure setting is on. Verified, the delivery's
    /// filters, read with the secrets.
    ///
    /// The settings are read as the store may cache them; a delivery they do not verify (or would
    /// let in unsigned) is decided again on a fresh read, so a secret rotated by another process
    /// is never refused for a stale copy.
    async fn verify(
        &self,
        request: &DeliveryRequest<'_>,
        checked: &Checked<'_>,
    ) -> Result<std::result::Result<Vec<DeliveryFilter>, RejectionCause>> {
        let Some(repo) = checked.payload.repository() else {
            return Ok(self.verdict(request, checked, DeliverySettings::default()));
        };
        let installations = &self.ports.installations;
        let settings = installations.delivery_settings(&repo, false).await?;
        let signed = !settings.secrets.is_empty() || self.policy.global_secret.is_some();
        if let verified @ Ok(_) = self.verdict(request, checked, settings)
            && signed
        {
            return Ok(verified);
        }
        let fresh = installations.delivery_settings(&repo, true).await?;
        Ok(self.verdict(request, checked, fresh))
    }

    /// What `settings` make of the delivery's signature.
    fn verdict(
        &self,
        request: &DeliveryRequest<'_>,
        checked: &Checked<'_>,
        settings: DeliverySettings,
    ) -> std::result::Result<Vec<DeliveryFilter>, RejectionCause> {
        let DeliverySettings {
            mut secrets,
            filters,
        } = settings;
        if secrets.is_empty() {
            secrets.extend(self.policy.global_secret.clone());
        }
        if secrets.is_empty() {
            if !self.policy.allow_unsigned {
                return Err(RejectionCause::NoSecretConfigured);
            }
            tracing::warn!(delivery = %checked.delivery_id, "accepting an unsigned delivery: ALLOW_UNSIGNED_WEBHOOKS is on");
            return Ok(filters);
        }
        let refs: Vec<&WebhookSecret> = secrets.iter().collect();
        let sha1_sent = request.header("x-hub-signature").is_some();
        signature::verify(
            &refs,
            checked.body,
            request.header("x-hub-signature-256"),
            sha1_sent,
        )
        .map(|()| filters)
        .map_err(RejectionCause::Signature)
    }

    /// A verified delivery understood, decided on and recorded with its work (if any).
    async fn accept(
        &self,
        checked: Checked<'_>,
        record: DeliveryRecord,
        received_at: chrono::DateTime<chrono::Utc>,
        headers: &[(&str, &str)],
        filters: &[DeliveryFilter],
    ) -> Result<IngestOutcome> {
        let event = match WebhookEvent::from_payload(checked.event_name, &checked.payload) {
            Ok(event) => event,
            Err(e) => {
                return self
                    .reject(record, RejectionCause::InvalidPayload(reason_of(&e)))
                    .await;
            }
        };
        let disposition = match decide(&event, self.policy.triggers) {
            Decision::Review(key) => Disposition::Queue {
                kind: JobKind::Review,
                key,
                window_start: received_at - self.policy.dedup_window,
            },
            Decision::Index(key) => Disposition::Queue {
                kind: JobKind::Index,
                key,
                window_start: received_at - self.policy.dedup_window,
            },
            Decision::Command {
                repository,
                pr_number,
            } => Disposition::Command {
                repository,
                pr_number,
            },
            Decision::Ignore(reason) => Disposition::Ignore { reason },
        };
        let disposition = filter(filters, disposition, headers, checked.body);
        // The event as answered from: everything but the body, which is stored and not copied again.
        let shell = NewEvent {
            provider: Provider::GitHub,
            delivery_id: checked.delivery_id,
            payload: String::new(),
            event,
            disposition,
            received_at,
        };
        let payload = match std::str::from_utf8(checked.body) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(checked.body).into_owned(),
        };
        let new_event = NewEvent {
            payload,
            ..shell.clone()
        };
        let recorded = self.ports.events.record(new_event, record).await?;
        Ok(self.answer(shell, &recorded))
    }

    /// What the sender is told of a recorded event.
    fn answer(&self, new_event: NewEvent, recorded: &Recorded) -> IngestOutcome {
        let event_type = new_event.event.event_type.clone();
        match recorded {
            Recorded::Queued {
                event_id,
                superseded,
            } => {
                tracing::info!(event_id, %event_type, superseded, "event queued for review");
                self.ports.signal.work_queued();
                IngestOutcome::Received {
                    event_id: *event_id,
                    event_type,
                }
            }
            Recorded::Done { event_id } => IngestOutcome::Received {
                event_id: *event_id,
                event_type,
            },
            Recorded::Ignored { event_id } => {
                let reason = match new_event.disposition {
                    Disposition::Ignore { reason } => reason,
                    _ => String::new(),
                };
                tracing::info!(event_id, %event_type, %reason, "event recorded and ignored");
                IngestOutcome::Ignored { reason, event_type }
            }
            Recorded::DuplicateDelivery { .. } | Recorded::AlreadyInFlight { .. } => {
                let detail = duplicate_detail(&new_event, recorded);
                tracing::info!(%event_type, %detail, "duplicate skipped");
                IngestOutcome::DuplicateSkipped { detail }
            }
        }
    }

    async fn reject(&self, record: DeliveryRecord, cause: RejectionCause) -> Result<IngestOutcome> {
        let name = cause.cause();
        tracing::info!(
            cause = name,
            status = cause.http_status(),
            "delivery rejected"
        );
        self.log(record, IngestOutcome::Rejected(cause), Some(name))
            .await
    }

    async fn log(
        &self,
        mut record: DeliveryRecord,
        outcome: IngestOutcome,
        cause: Option<&str>,
    ) -> Result<IngestOutcome> {
        record.status_code = outcome.http_status();
        record.cause = cause.map(str::to_owned);
        (record.outcome, record.detail) = match &outcome {
            IngestOutcome::Rejected(cause) => (DeliveryOutcome::Rejected, Some(cause.detail())),
            IngestOutcome::Ignored { reason, .. } => {
                (DeliveryOutcome::Ignored, Some(reason.clone()))
            }
            IngestOutcome::Pong { .. } => (DeliveryOutcome::Pong, None),
            IngestOutcome::Received { .. } => (DeliveryOutcome::Received, None),
            IngestOutcome::DuplicateSkipped { detail } => {
                (DeliveryOutcome::DuplicateSkipped, Some(detail.clone()))
            }
        };
        // A detail may quote what was sent (a malformed name); the log keeps a bounded row.
        record.detail = record.detail.map(|d| truncated(&d, MAX_LOGGED_FIELD));
        self.ports.log.append(record).await?;
        Ok(outcome)
    }
}

/// Work a delivery asks for, unless the installation's filters admit it not: then ignored, the
/// reason naming the filters. The body is read as JSON only when filters are set.
fn filter(
    filters: &[DeliveryFilter],
    disposition: Disposition,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Disposition {
    if filters.is_empty() || matches!(disposition, Disposition::Ignore { .. }) {
        return disposition;
    }
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match filtered(filters, headers, &json) {
        Some(reason) => Disposition::Ignore { reason },
        None => disposition,
    }
}

/// The delivery-log row of a request, before its outcome is known.
fn log_record(
    request: &DeliveryRequest<'_>,
    payload: Option<&Result<DeliveryPayload>>,
    body: Option<&[u8]>,
    body_size: u64,
    received_at: chrono::DateTime<chrono::Utc>,
) -> DeliveryRecord {
    let parsed = payload.and_then(|p| p.as_ref().ok());
    DeliveryRecord {
        provider: Provider::GitHub,
        delivery_id: request
            .header("x-github-delivery")
            .filter(|d| !d.is_empty())
            .map(|d| d.chars().take(128).collect()),
        event: request
            .header("x-github-event")
            .filter(|e| !e.is_empty())
            .map(|e| truncated(e, MAX_EVENT_NAME)),
        action: parsed.and_then(|p| Some(truncated(p.action.as_deref()?, MAX_LOGGED_FIELD))),
        repository: parsed
            .and_then(|p| Some(truncated(p.repository.as_deref()?, MAX_LOGGED_FIELD))),
        outcome: DeliveryOutcome::Rejected,
        status_code: 200,
        cause: None,
        detail: None,
        event_id: None,
        headers: redact_headers(request.headers.iter().copied()),
        body_size,
        body_sha256: body.map(crate::digest::sha256_hex),
        received_at,
    }
}

/// `application/json`, `application/json; charset=utf-8`, and `+json` types.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn reason_of(e: &crate::Error) -> String {
    match e {
        crate::Error::Invalid { what, reason } => format!("{what}: {reason}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
