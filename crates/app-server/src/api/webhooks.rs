//! `POST /api/v1/webhooks/github`: what GitHub is answered.

use domain::webhook::IngestOutcome;
use serde::Serialize;

/// The answer to a delivery, by outcome.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum WebhookAnswer {
    /// `{"status": "received", "event_id", "event_type"}`
    Received {
        status: &'static str,
        event_id: i64,
        event_type: String,
    },
    /// `{"status": "duplicate_skipped", "detail"}`
    Duplicate {
        status: &'static str,
        detail: String,
    },
    /// `{"status": "ignored", "reason", "event_type"}`
    Ignored {
        status: &'static str,
        reason: String,
        event_type: String,
    },
    /// `{"status": "pong", "message", "hook_id", "zen"}`
    Pong {
        status: &'static str,
        message: &'static str,
        hook_id: Option<i64>,
        zen: Option<String>,
    },
    /// `{"detail"}`: a refusal (4xx).
    Refused { detail: String },
}

impl From<&IngestOutcome> for WebhookAnswer {
    fn from(outcome: &IngestOutcome) -> Self {
        match outcome {
            IngestOutcome::Received {
                event_id,
                event_type,
            } => Self::Received {
                status: "received",
                event_id: *event_id,
                event_type: event_type.clone(),
            },
            IngestOutcome::DuplicateSkipped { detail } => Self::Duplicate {
                status: "duplicate_skipped",
                detail: detail.clone(),
            },
            IngestOutcome::Ignored { reason, event_type } => Self::Ignored {
                status: "ignored",
                reason: reason.clone(),
                event_type: event_type.clone(),
            },
            IngestOutcome::Pong { hook_id, zen } => Self::Pong {
                status: "pong",
                message: "Pong! Webhook configured successfully",
                hook_id: *hook_id,
                zen: zen.clone(),
            },
            IngestOutcome::Rejected(cause) => Self::Refused {
                detail: cause.detail(),
            },
        }
    }
}
