//! The delivery log's record of one request, whatever became of it, and the causes a request is refused for.

use chrono::{DateTime, Utc};

use crate::webhook::signature::SignatureError;

/// What nectr answered a delivery with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Received,
    Ignored,
    DuplicateSkipped,
    Pong,
    Rejected,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Ignored => "ignored",
            Self::DuplicateSkipped => "duplicate_skipped",
            Self::Pong => "pong",
            Self::Rejected => "rejected",
        }
    }
}

/// Who sent a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    GitHub,
    Linear,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::Linear => "linear",
        }
    }
}

/// Why a delivery was refused: each maps to one HTTP status and a clear `detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectionCause {
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType(Option<String>),
    MissingEventHeader,
    /// `X-GitHub-Event` longer than [`MAX_EVENT_NAME`] or not an event name.
    InvalidEventHeader,
    MissingDeliveryId,
    InvalidDeliveryId(String),
    MalformedJson(String),
    InvalidPayload(String),
    Signature(SignatureError),
    NoSecretConfigured,
    /// The body did not arrive within the read deadline (a stalled or very slow sender).
    BodyTimeout {
        seconds: u64,
    },
    /// Too many bytes are being received at once: the sender should retry later.
    Overloaded,
    /// The webhook endpoint takes `POST` only; this was `method`.
    MethodNotAllowed {
        method: String,
    },
    /// A provider's own header is missing or does not read (`Linear-Delivery`).
    Header {
        name: &'static str,
        cause: &'static str,
        why: String,
    },
    /// A signed timestamp too far from now: a replayed (or badly delayed) delivery.
    Replay {
        window_seconds: i64,
    },
}

impl RejectionCause {
    /// Stable name stored in the delivery log.
    pub fn cause(&self) -> &'static str {
        match self {
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::MissingEventHeader => "missing_event_header",
            Self::InvalidEventHeader => "invalid_event_header",
            Self::MissingDeliveryId => "missing_delivery_id",
            Self::InvalidDeliveryId(_) => "invalid_delivery_id",
            Self::MalformedJson(_) => "malformed_json",
            Self::InvalidPayload(_) => "invalid_payload",
            Self::Signature(e) => e.cause(),
            Self::NoSecretConfigured => "no_secret_configured",
            Self::BodyTimeout { .. } => "body_timeout",
            Self::Overloaded => "overloaded",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Header { cause, .. } => cause,
            Self::Replay { .. } => "timestamp_outside_window",
        }
    }

    /// The HTTP status GitHub (or whoever sent it) is answered with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Signature(_) | Self::NoSecretConfigured | Self::Replay { .. } => 403,
            Self::BodyTimeout { .. } => 408,
            Self::Overloaded => 503,
            Self::MethodNotAllowed { .. } => 405,
            _ => 400,
        }
    }

    /// The `detail` of the answer. Signature failures all read the same, so a forger learns nothing;
    /// the precise cause is in the delivery log.
    pub fn detail(&self) -> String {
        match self {
            Self::PayloadTooLarge { limit } => {
                format!("Payload exceeds the {} MiB limit", limit / (1024 * 1024))
            }
            Self::UnsupportedMediaType(got) => format!(
                "Content-Type must be application/json (got {}); set the webhook's content type to application/json",
                got.as_deref().unwrap_or("none")
            ),
            Self::MissingEventHeader => "Missing X-GitHub-Event header".to_owned(),
            Self::InvalidEventHeader => format!(
                "Invalid X-GitHub-Event header: an event name is 1 to {MAX_EVENT_NAME} lower-case letters, digits and '_'"
            ),
            Self::MissingDeliveryId => "Missing X-GitHub-Delivery header".to_owned(),
            Self::InvalidDeliveryId(why) => format!("Invalid X-GitHub-Delivery header: {why}"),
            Self::MalformedJson(why) => format!("Malformed JSON payload: {why}"),
            Self::InvalidPayload(why) => format!("Invalid payload: {why}"),
            Self::Signature(_) | Self::NoSecretConfigured => "Invalid webhook signature".to_owned(),
            Self::BodyTimeout { seconds } => {
                format!("The request body did not arrive within {seconds} s")
            }
            Self::Overloaded => {
                "Too many deliveries are being received at once; retry shortly".to_owned()
            }
            Self::Header { name, why, .. } => format!("{name} header: {why}"),
            Self::Replay { window_seconds } => format!(
                "The delivery's timestamp is more than {window_seconds} s from now; it is refused as a replay"
            ),
            Self::MethodNotAllowed { method } => {
                format!(
                    "The webhook endpoint takes POST, not {}",
                    truncated(method, 16)
                )
            }
        }
    }
}

/// One request to the webhook endpoint as the delivery log keeps it. The body itself is not kept here,
/// only its size and SHA-256; headers are stored with signatures and credentials redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub provider: Provider,
    /// `X-GitHub-Delivery` as sent (even when malformed, cut to 128 characters).
    pub delivery_id: Option<String>,
    pub event: Option<String>,
    pub action: Option<String>,
    pub repository: Option<String>,
    pub outcome: DeliveryOutcome,
    pub status_code: u16,
    pub cause: Option<String>,
    pub detail: Option<String>,
    pub event_id: Option<i64>,
    pub headers: Vec<(String, String)>,
    pub body_size: u64,
    pub body_sha256: Option<String>,
    pub received_at: DateTime<Utc>,
}

const REDACTED: &str = "[REDACTED]";

/// Words that, anywhere in a header's name, mean its value may be a credential.
const SENSITIVE_WORDS: [&str; 10] = [
    "auth",
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "cookie",
    "signature",
    "credential",
    "session",
];

/// Whether a header may carry a credential (`Authorization`, `X-Auth`, `X-Password`,
/// `X-Access-Key`, `Cookie`, `X-Hub-Signature-256`, …): its value never reaches storage or logs.
pub fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE_WORDS.iter().any(|word| name.contains(word))
}

/// The headers GitHub and Linear send with a delivery: their values are kept (cut to
/// [`MAX_HEADER_VALUE`]).
const KEPT_HEADERS: [&str; 14] = [
    "accept",
    "content-length",
    "content-type",
    "host",
    "user-agent",
    "x-github-delivery",
    "x-github-event",
    "x-github-hook-id",
    "x-github-hook-installation-target-id",
    "x-github-hook-installation-target-type",
    "x-hub-signature",
    "x-hub-signature-256",
    "linear-delivery",
    "linear-event",
];

/// The longest header value kept.
pub const MAX_HEADER_VALUE: usize = 96;
/// The longest header name kept.
pub const MAX_HEADER_NAME: usize = 48;
/// Other headers are named, never kept, and at most this many.
pub const MAX_OTHER_HEADERS: usize = 8;
/// The longest `X-GitHub-Event` accepted (GitHub's names are far shorter).
pub const MAX_EVENT_NAME: usize = 64;
/// The longest action or repository name kept in the log (the payload's own values are not
/// trusted to be short).
pub const MAX_LOGGED_FIELD: usize = 256;

const NOT_STORED: &str = "[not stored]";

/// `text` cut to at most `max` characters.
pub fn truncated(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The headers as the delivery log keeps them, of bounded size whatever was sent: names lower-cased;
/// GitHub's headers with their values (cut to [`MAX_HEADER_VALUE`]); the values of headers that may
/// carry a credential redacted; any other header named only, at most [`MAX_OTHER_HEADERS`] of them,
/// and how many more were left out.
pub fn redact_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    let mut kept = Vec::new();
    let mut others = 0usize;
    for (name, value) in headers {
        let name = truncated(&name.to_ascii_lowercase(), MAX_HEADER_NAME);
        let value = if is_sensitive_header(&name) {
            REDACTED.to_owned()
        } else if KEPT_HEADERS.contains(&name.as_str()) {
            truncated(value, MAX_HEADER_VALUE)
        } else {
            others += 1;
            if others > MAX_OTHER_HEADERS {
                continue;
            }
            NOT_STORED.to_owned()
        };
        kept.push((name, value));
    }
    if others > MAX_OTHER_HEADERS {
        kept.push((
            "x-nectr-omitted".to_owned(),
            format!("{} more headers", others - MAX_OTHER_HEADERS),
        ));
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_credentials_are_redacted() {
        let headers = redact_headers([
            ("X-Hub-Signature-256", "sha256=abc"),
            ("X-Hub-Signature", "sha1=abc"),
            ("Authorization", "token x"),
            ("Cookie", "s=1"),
            ("X-GitHub-Event", "push"),
        ]);
        assert_eq!(
            headers,
            vec![
                ("x-hub-signature-256".into(), REDACTED.into()),
                ("x-hub-signature".into(), REDACTED.into()),
                ("authorization".into(), REDACTED.into()),
                ("cookie".into(), REDACTED.into()),
                ("x-github-event".into(), "push".into()),
            ]
        );
    }

    #[test]
    fn stored_headers_are_bounded_whatever_was_sent() {
        let pad = "p".repeat(125_000);
        let names: Vec<String> = (0..200).map(|i| format!("X-Pad-{i}")).collect();
        let mut sent: Vec<(&str, &str)> =
            names.iter().map(|n| (n.as_str(), pad.as_str())).collect();
        sent.push(("User-Agent", &pad));
        sent.push(("X-GitHub-Event", "pull_request"));
        let long_name = "x".repeat(10_000);
        sent.push((&long_name, "v"));
        let kept = redact_headers(sent);
        let size: usize = kept.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(size < 2_048, "{size} bytes");
        assert_eq!(kept.len(), MAX_OTHER_HEADERS + 3);
        assert_eq!(kept[0], ("x-pad-0".into(), NOT_STORED.into()));
        assert_eq!(
            kept[MAX_OTHER_HEADERS].1.len(),
            MAX_HEADER_VALUE,
            "user-agent cut"
        );
        assert_eq!(
            kept[MAX_OTHER_HEADERS + 1],
            ("x-github-event".into(), "pull_request".into())
        );
        assert_eq!(
            kept.last().unwrap(),
            &("x-nectr-omitted".to_owned(), "193 more headers".to_owned())
        );
    }

    #[test]
    fn headers_whose_names_carry_credentials_are_redacted_and_github_s_are_kept() {
        for name in [
            "X-Auth",
            "X-Password",
            "X-Access-Key",
            "X-Api-Key",
            "X-Auth-Token",
            "X-Client-Secret",
            "X-Session-Id",
            "X-Credentials",
        ] {
            assert!(is_sensitive_header(name), "{name}");
        }
        for name in [
            "X-GitHub-Event",
            "X-GitHub-Delivery",
            "X-GitHub-Hook-ID",
            "X-GitHub-Hook-Installation-Target-Type",
            "X-GitHub-Hook-Installation-Target-ID",
            "User-Agent",
            "Content-Type",
            "Content-Length",
            "Accept",
        ] {
            assert!(!is_sensitive_header(name), "{name}");
        }
    }

    #[test]
    fn every_cause_has_a_status_and_a_detail() {
        let causes = [
            (
                RejectionCause::PayloadTooLarge {
                    limit: 25 * 1024 * 1024,
                },
                413,
            ),
            (
                RejectionCause::UnsupportedMediaType(Some("text/plain".into())),
                415,
            ),
            (RejectionCause::MissingEventHeader, 400),
            (RejectionCause::MissingDeliveryId, 400),
            (RejectionCause::MalformedJson("eof".into()), 400),
            (RejectionCause::Signature(SignatureError::Mismatch), 403),
            (RejectionCause::NoSecretConfigured, 403),
        ];
        for (cause, status) in causes {
            assert_eq!(cause.http_status(), status, "{cause:?}");
            assert!(!cause.detail().is_empty());
        }
        assert_eq!(
            RejectionCause::PayloadTooLarge {
                limit: 25 * 1024 * 1024
            }
            .detail(),
            "Payload exceeds the 25 MiB limit"
        );
        assert_eq!(
            RejectionCause::Signature(SignatureError::Missing).detail(),
            "Invalid webhook signature"
        );
    }
}
