//! What the ingest use case takes and gives: one request to the webhook endpoint (headers and the body as
//! the HTTP layer read it), the policy it is judged by, and the typed outcome the HTTP layer answers with.

use chrono::Duration;

use crate::webhook::delivery::RejectionCause;
use crate::webhook::event::ReviewTriggers;
use crate::webhook::values::WebhookSecret;

/// GitHub caps payloads at 25 MiB.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// How deliveries are judged. Built from settings, which refuse `allow_unsigned` in production.
#[derive(Debug, Clone)]
pub struct IngestPolicy {
    /// `GITHUB_WEBHOOK_SECRET`: used when the repository has no active installation.
    pub global_secret: Option<WebhookSecret>,
    /// Development only: accept deliveries unsigned when no secret at all applies to them.
    pub allow_unsigned: bool,
    pub triggers: ReviewTriggers,
    /// An in-flight review of the same head commit younger than this makes a delivery a duplicate.
    pub dedup_window: Duration,
    pub max_body_bytes: usize,
}

impl Default for IngestPolicy {
    fn default() -> Self {
        Self {
            global_secret: None,
            allow_unsigned: false,
            triggers: ReviewTriggers::default(),
            dedup_window: Duration::hours(1),
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

/// The body of a request as the HTTP layer read it.
#[derive(Debug, Clone, Copy)]
pub enum RequestBody<'a> {
    Complete(&'a [u8]),
    /// The body passed `max_body_bytes`; reading stopped after `size` bytes (or `size` is Content-Length).
    TooLarge {
        size: u64,
    },
    /// The body stalled: `received` bytes came within the read deadline of `seconds`.
    TimedOut {
        received: u64,
        seconds: u64,
    },
    /// Reading stopped after `received` bytes: the server's budget of bytes buffered across all
    /// in-flight bodies is spent.
    Overloaded {
        received: u64,
    },
}

/// One request to the webhook endpoint.
#[derive(Debug, Clone)]
pub struct DeliveryRequest<'a> {
    /// Every header, in any case.
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: RequestBody<'a>,
}

impl<'a> DeliveryRequest<'a> {
    /// A header's value, trimmed, by case-insensitive name.
    pub(crate) fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

/// What became of a delivery. `http_status` and the fields are the whole answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    Received {
        event_id: i64,
        event_type: String,
    },
    Ignored {
        reason: String,
        event_type: String,
    },
    DuplicateSkipped {
        detail: String,
    },
    Pong {
        hook_id: Option<i64>,
        zen: Option<String>,
    },
    Rejected(RejectionCause),
}

impl IngestOutcome {
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Rejected(cause) => cause.http_status(),
            _ => 200,
        }
    }
}
