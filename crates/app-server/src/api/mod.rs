//! The HTTP API's contract: every request and response body as a named serde type, so the JSON a
//! client sees is readable in one place and a storage change cannot silently change it. Domain values
//! convert into these at the edge (`From`).

pub mod accounts;
pub mod controls;
pub mod knowledge;
pub mod manage;
pub mod memory;
pub mod webhooks;

use serde::{Deserialize, Serialize};

/// Every refusal: `{"detail": "..."}`; on a 5xx also the request id, to find its log line.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBody {
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HealthBody {
    pub status: String,
    pub database: String,
    pub version: String,
}

/// `GET /readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReadyBody {
    /// `ready` or `not_ready`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
