//! `deliveries`: the log of every request to the webhook endpoint, accepted or refused.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: Option<String>,
    pub event: Option<String>,
    pub action: Option<String>,
    pub repository: Option<String>,
    /// `received`, `ignored`, `duplicate_skipped`, `pong` or `rejected`.
    pub outcome: String,
    pub status_code: i32,
    pub cause: Option<String>,
    pub detail: Option<String>,
    pub event_id: Option<i64>,
    /// JSON object of the request's headers, signatures and credentials redacted.
    #[sea_orm(column_type = "Text")]
    pub headers: String,
    pub body_size: i64,
    pub body_sha256: Option<String>,
    pub received_at: DateTimeUtc,
    /// Who sent it: `github` or `linear`.
    pub provider: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
