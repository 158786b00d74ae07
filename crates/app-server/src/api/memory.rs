//! The project memory's API: `/api/v1/repos/{owner}/{repo}/memories` and `.../memories/{id}`.

use chrono::{DateTime, Utc};
use domain::memory::{Memory, MemoryKind, MemoryStatus};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// One memory.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemoryBody {
    pub id: i64,
    pub repository: String,
    /// `rule`, `pattern`, `decision` or `developer`.
    pub kind: String,
    pub developer: Option<String>,
    pub title: String,
    pub content: String,
    /// `pull_request`, `comment` or `api`.
    pub source: String,
    pub source_ref: Option<String>,
    /// `active`, `pending` or `rejected`.
    pub status: String,
    /// Whether the built-in reviewer checks it (`forbid "…" in "…": …`).
    pub checked_offline: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Memory> for MemoryBody {
    fn from(m: Memory) -> Self {
        Self {
            checked_offline: m.kind == MemoryKind::Rule
                && domain::memory::ForbidRule::looks_like_one(&m.content),
            id: m.id,
            repository: m.repository.as_str().to_owned(),
            kind: m.kind.as_str().to_owned(),
            developer: m.developer,
            title: m.title,
            content: m.content,
            source: m.source.as_str().to_owned(),
            source_ref: m.source_ref,
            status: m.status.as_str().to_owned(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// `GET .../memories`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemoriesBody {
    pub repository: String,
    pub page: u64,
    pub per_page: u64,
    pub memories: Vec<MemoryBody>,
}

/// `GET .../memories?status=&kind=&page=&per_page=`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// `POST .../memories`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemoryBody {
    /// Default `rule`.
    pub kind: Option<String>,
    pub title: Option<String>,
    pub content: String,
    /// Required for (and only for) `developer` memories.
    pub developer: Option<String>,
    /// Default `active`.
    pub status: Option<String>,
}

/// `PATCH .../memories/{id}`: the fields to change.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryPatchBody {
    pub title: Option<String>,
    pub content: Option<String>,
    pub status: Option<String>,
}

pub fn kind(raw: Option<&str>) -> Result<Option<MemoryKind>, ApiError> {
    raw.map(|k| {
        MemoryKind::parse(k).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "kind must be rule, pattern, decision or developer, got '{k}'"
            ))
        })
    })
    .transpose()
}

pub fn status(raw: Option<&str>) -> Result<Option<MemoryStatus>, ApiError> {
    raw.map(|s| {
        MemoryStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status must be active, pending or rejected, got '{s}'"
            ))
        })
    })
    .transpose()
}

/// A JSON body of type `T`, or a 400 saying what does not read.
pub fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the body does not read: {e}")))
}
