//! Linear's webhooks: `Linear-Signature` is the lowercase hex HMAC-SHA256 of the raw body under the
//! webhook's secret (compared in constant time; uppercase hex or a `sha256=` prefix is refused),
//! the body's `webhookTimestamp` (milliseconds) must be within [`TIMESTAMP_WINDOW_SECONDS`] of now,
//! and `Linear-Delivery` is the idempotency key. Issue create and update deliveries refresh the
//! cached ticket reviews are given; everything else is recorded and ignored. Every request gets one
//! row in the delivery log, with its provider.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ring::hmac;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::Result;
use crate::tickets::{Ticket, TicketCache};
use crate::webhook::delivery::{
    DeliveryOutcome, DeliveryRecord, MAX_EVENT_NAME, MAX_LOGGED_FIELD, Provider, RejectionCause,
    redact_headers, truncated,
};
use crate::webhook::event::WebhookEvent;
use crate::webhook::ingest::{DeliveryRequest, IngestOutcome, RequestBody};
use crate::webhook::ports::{
    DeliveryLog, Disposition, EventStore, NewEvent, Recorded, duplicate_detail,
};
use crate::webhook::signature::SignatureError;
use crate::webhook::values::{DeliveryId, WebhookSecret};

/// How far `webhookTimestamp` may be from now.
pub const TIMESTAMP_WINDOW_SECONDS: i64 = 60;
/// Linear's payloads are a few kilobytes; a larger body is refused before it is read further.
pub const MAX_LINEAR_BODY_BYTES: usize = 1024 * 1024;

/// The `Linear-Signature` Linear would send for `body` under `secret`.
pub fn linear_signature(secret: &WebhookSecret, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
    hex::encode(hmac::sign(&key, body).as_ref())
}

/// Checks a `Linear-Signature` value: exactly 64 lowercase hex digits, matching the body under
/// `secret` (constant-time).
pub fn verify_linear(
    secret: &WebhookSecret,
    body: &[u8],
    header: Option<&str>,
) -> std::result::Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let Some(header) = header else {
        return Err(SignatureError::Missing);
    };
    if header.to_ascii_lowercase().starts_with("sha256=") {
        return Err(SignatureError::WrongPrefix);
    }
    if header.len() != 64
        || !header
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(SignatureError::Malformed);
    }
    let tag = hex::decode(header).map_err(|_| SignatureError::Malformed)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
    hmac::verify(&key, body, &tag).map_err(|_| SignatureError::Mismatch)
}

/// Receives Linear's deliveries.
#[derive(Clone)]
pub struct LinearIngest {
    pub events: Arc<dyn EventStore>,
    pub log: Arc<dyn DeliveryLog>,
    pub tickets: Arc<dyn TicketCache>,
    pub clock: Arc<dyn Clock>,
    /// `LINEAR_WEBHOOK_SECRET`; without it every delivery is refused.
    pub secret: Option<WebhookSecret>,
}

impl std::fmt::Debug for LinearIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearIngest")
            .field("secret", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

/// The delivery-log row of a Linear request, before its outcome is known.
fn log_record(
    request: &DeliveryRequest<'_>,
    parsed: Option<&Value>,
    now: DateTime<Utc>,
) -> DeliveryRecord {
    let body = match request.body {
        RequestBody::Complete(bytes) => Some(bytes),
        _ => None,
    };
    DeliveryRecord {
        provider: Provider::Linear,
        delivery_id: request
            .header("linear-delivery")
            .filter(|d| !d.is_empty())
            .map(|d| d.chars().take(128).collect()),
        event: request
            .header("linear-event")
            .or_else(|| parsed.and_then(|p| p["type"].as_str()))
            .map(|e| truncated(e, MAX_EVENT_NAME)),
        action: parsed
            .and_then(|p| p["action"].as_str())
            .map(|a| truncated(a, MAX_LOGGED_FIELD)),
        repository: None,
        outcome: DeliveryOutcome::Rejected,
        status_code: 200,
        cause: None,
        detail: None,
        event_id: None,
        headers: redact_headers(request.headers.iter().copied()),
        body_size: match request.body {
            RequestBody::Complete(bytes) => bytes.len() as u64,
            RequestBody::TooLarge { size } => size,
            RequestBody::TimedOut { received, .. } | RequestBody::Overloaded { received } => {
                received
            }
        },
        body_sha256: body.map(crate::digest::sha256_hex),
        received_at: now,
    }
}

/// The ticket an Issue delivery describes: its `data`, whose identifier is `data.identifier` or
/// (in older payloads) the team's key and the issue's number, and whose link is `data.url` or the
/// delivery's `url`.
fn ticket_of(payload: &Value) -> Option<Ticket> {
    let data = &payload["data"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let identifier = text(&data["identifier"]).or_else(|| {
        Some(format!(
            "{}-{}",
            data["team"]["key"].as_str()?,
            data["number"].as_u64()?
        ))
    })?;
    Some(Ticket {
        identifier: identifier.to_ascii_uppercase(),
        id: text(&data["id"]),
        title: text(&data["title"])?,
        state: text(&data["state"]["name"]),
        description: text(&data["description"]),
        url: text(&data["url"]).or_else(|| text(&payload["url"])),
    })
}

impl LinearIngest {
    /// Handles one request: checked, verified, then recorded (and a ticket refreshed). Every path
    /// writes exactly one delivery-log row.
    ///
    /// # Errors
    /// `Transient` when the database cannot record it: the sender should be answered 5xx and retry.
    pub async fn ingest(&self, request: DeliveryRequest<'_>) -> Result<IngestOutcome> {
        let now = self.clock.now();
        let body = match request.body {
            RequestBody::Complete(bytes) => Some(bytes),
            _ => None,
        };
        let parsed: Option<Value> = body.and_then(|b| serde_json::from_slice(b).ok());
        let record = log_record(&request, parsed.as_ref(), now);
        let checked = match self.check(&request, body, parsed, now) {
            Ok(checked) => checked,
            Err(cause) => return self.reject(record, cause).await,
        };
        self.accept(checked, record, now).await
    }

    /// The checks, in the order their refusals are reported: the body arrived whole and fits,
    /// JSON content, the delivery id, the signature, JSON, the timestamp.
    fn check<'a>(
        &self,
        request: &DeliveryRequest<'a>,
        body: Option<&'a [u8]>,
        parsed: Option<Value>,
        now: DateTime<Utc>,
    ) -> std::result::Result<(DeliveryId, &'a [u8], Value), RejectionCause> {
        let body = match request.body {
            RequestBody::TimedOut { seconds, .. } => {
                return Err(RejectionCause::BodyTimeout { seconds });
            }
            RequestBody::Overloaded { .. } => return Err(RejectionCause::Overloaded),
            RequestBody::TooLarge { .. } => {
                return Err(RejectionCause::PayloadTooLarge {
                    limit: MAX_LINEAR_BODY_BYTES,
                });
            }
            RequestBody::Complete(_) => body.unwrap_or_default(),
        };
        let content_type = request.header("content-type");
        if !content_type.is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json"))
        }) {
            return Err(RejectionCause::UnsupportedMediaType(
                content_type.map(str::to_owned),
            ));
        }
        let delivery_id = match request.header("linear-delivery").filter(|d| !d.is_empty()) {
            None => {
                return Err(RejectionCause::Header {
                    name: "Linear-Delivery",
                    cause: "missing_delivery_id",
                    why: "missing".into(),
                });
            }
            Some(raw) => DeliveryId::parse(raw).map_err(|e| RejectionCause::Header {
                name: "Linear-Delivery",
                cause: "invalid_delivery_id",
                why: e.to_string(),
            })?,
        };
        let secret = self
            .secret
            .as_ref()
            .ok_or(RejectionCause::NoSecretConfigured)?;
        verify_linear(secret, body, request.header("linear-signature"))
            .map_err(RejectionCause::Signature)?;
        let parsed = parsed
            .filter(Value::is_object)
            .ok_or_else(|| RejectionCause::MalformedJson("not a JSON object".into()))?;
        let sent_ms = parsed["webhookTimestamp"].as_i64().ok_or_else(|| {
            RejectionCause::InvalidPayload(
                "webhookTimestamp must be a number of milliseconds".into(),
            )
        })?;
        let skew_ms = (now.timestamp_millis() - sent_ms).abs();
        if skew_ms > TIMESTAMP_WINDOW_SECONDS * 1000 {
            return Err(RejectionCause::Replay {
                window_seconds: TIMESTAMP_WINDOW_SECONDS,
            });
        }
        Ok((delivery_id, body, parsed))
    }

    async fn accept(
        &self,
        (delivery_id, body, payload): (DeliveryId, &[u8], Value),
        record: DeliveryRecord,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome> {
        let kind = payload["type"].as_str().unwrap_or("unknown");
        let action = payload["action"].as_str().filter(|a| !a.is_empty());
        let name = truncated(kind, MAX_EVENT_NAME);
        let event_type = format!(
            "{}linear_{}",
            action.map_or(String::new(), |a| format!("{}_", truncated(a, 32))),
            name.to_ascii_lowercase()
        );
        let disposition = match (kind, action) {
            ("Issue", Some("create" | "update")) => match ticket_of(&payload) {
                Some(ticket) => {
                    self.tickets.keep(&ticket.clone().bounded(), now).await?;
                    Disposition::Done {
                        detail: format!("Linear issue {} refreshed", ticket.identifier),
                    }
                }
                None => Disposition::Ignore {
                    reason: "the issue's data has no identifier or title".into(),
                },
            },
            _ => Disposition::Ignore {
                reason: format!("Linear '{}' deliveries are recorded, not used", event_type),
            },
        };
        let event = WebhookEvent {
            name,
            action: action.map(str::to_owned),
            event_type: event_type.clone(),
            repository: None,
            sender: payload["actor"]["name"].as_str().map(|n| truncated(n, 128)),
            sender_is_bot: false,
            pull_request: None,
            comment: None,
        };
        let new_event = NewEvent {
            provider: Provider::Linear,
            delivery_id,
            event,
            disposition,
            payload: String::from_utf8_lossy(body).into_owned(),
            received_at: now,
        };
        let recorded = self.events.record(new_event.clone(), record).await?;
        Ok(match recorded {
            Recorded::Done { event_id } | Recorded::Queued { event_id, .. } => {
                tracing::info!(event_id, %event_type, "Linear delivery received");
                IngestOutcome::Received {
                    event_id,
                    event_type,
                }
            }
            Recorded::Ignored { .. } => IngestOutcome::Ignored {
                reason: match new_event.disposition {
                    Disposition::Ignore { reason } => reason,
                    _ => String::new(),
                },
                event_type,
            },
            Recorded::DuplicateDelivery { .. } | Recorded::AlreadyInFlight { .. } => {
                IngestOutcome::DuplicateSkipped {
                    detail: duplicate_detail(&new_event, &recorded),
                }
            }
        })
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
        let record = log_record(&request, None, self.clock.now());
        self.reject(record, cause).await
    }

    async fn reject(
        &self,
        mut record: DeliveryRecord,
        cause: RejectionCause,
    ) -> Result<IngestOutcome> {
        tracing::info!(
            cause = cause.cause(),
            status = cause.http_status(),
            "Linear delivery rejected"
        );
        record.status_code = cause.http_status();
        record.cause = Some(cause.cause().to_owned());
        record.outcome = DeliveryOutcome::Rejected;
        record.detail = Some(truncated(&cause.detail(), MAX_LOGGED_FIELD));
        self.log.append(record).await?;
        Ok(IngestOutcome::Rejected(cause))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "lin_wh_nectr_test_secret";
    const BODY: &[u8] = br#"{"action":"create","type":"Issue","webhookTimestamp":1764610000000}"#;
    const SIGNATURE: &str = "be3fd8cd70d58f5a71a5b605a37c510d402fe2ecacbc473add9b4ccc4bdbcd4b";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    #[test]
    fn the_published_vector_verifies_and_variants_of_it_do_not() {
        assert_eq!(linear_signature(&secret(), BODY), SIGNATURE);
        assert_eq!(verify_linear(&secret(), BODY, Some(SIGNATURE)), Ok(()));
        assert_eq!(
            verify_linear(&secret(), BODY, Some(&SIGNATURE.to_ascii_uppercase())),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_linear(&secret(), BODY, Some(&format!("sha256={SIGNATURE}"))),
            Err(SignatureError::WrongPrefix)
        );
        assert_eq!(
            verify_linear(&secret(), BODY, None),
            Err(SignatureError::Missing)
        );
        let mut other = BODY.to_vec();
        other[2] = b'b';
        assert_eq!(
            verify_linear(&secret(), &other, Some(SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        let wrong = WebhookSecret::parse("SECRET").unwrap();
        assert_eq!(
            verify_linear(&wrong, BODY, Some(SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_issue_s_data_is_a_ticket() {
        let payload = serde_json::json!({"data": {"id": "u", "identifier": "ENG-1", "title": "T",
            "state": {"name": "Todo"}, "description": null, "url": "https://linear.app/a/issue/ENG-1"}});
        let ticket = ticket_of(&payload).unwrap();
        assert_eq!(
            (
                ticket.identifier.as_str(),
                ticket.state.as_deref(),
                ticket.description
            ),
            ("ENG-1", Some("Todo"), None)
        );
        // A 2021 payload: the team's key and the number, the link beside the data.
        let older = serde_json::json!({"url": "https://linear.app/k/issue/KOR-11/webhook-test",
            "data": {"number": 11, "title": "webhook test", "team": {"key": "KOR"}}});
        let ticket = ticket_of(&older).unwrap();
        assert_eq!(
            (ticket.identifier.as_str(), ticket.url.as_deref()),
            (
                "KOR-11",
                Some("https://linear.app/k/issue/KOR-11/webhook-test")
            )
        );
        assert!(ticket_of(&serde_json::json!({"data": {"title": "no identifier"}})).is_none());
    }
}
