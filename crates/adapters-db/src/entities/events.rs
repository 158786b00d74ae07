//! `events`: every accepted delivery, and for reviews the queue state of their work.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: String,
    pub event_name: String,
    pub action: Option<String>,
    pub event_type: String,
    pub repository: Option<String>,
    pub pr_number: Option<i64>,
    pub head_sha: Option<String>,
    pub pr_updated_at: Option<DateTimeUtc>,
    pub sender: Option<String>,
    /// `pending`, `processing`, `completed`, `failed`, `superseded`, `skipped` or `ignored`.
    pub status: String,
    pub reason: Option<String>,
    /// The delivery's body; empty when it is kept compressed in `payload_lz4`, or was purged.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// The body lz4-compressed (its length first), when it is kept that way.
    pub payload_lz4: Option<Vec<u8>>,
    pub attempts: i32,
    pub run_at: Option<DateTimeUtc>,
    pub lease_expires_at: Option<DateTimeUtc>,
    /// The worker holding the lease while `processing`.
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
    /// What the queued work is: `review`, `index` or `command` (`JobKind`).
    pub job: String,
    /// Who sent the delivery: `github` or `linear`.
    pub provider: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
